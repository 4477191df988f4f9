import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it
 * (https://www.postgresql.org/docs/current/sasl-authentication.html), with node:crypto. Written here rather than
 * taken from a library: the one well-kept implementation in reach, `pg`'s `lib/crypto/sasl.js`, is an internal
 * module of the driver (not a documented API) and `pg` is only a development dependency; these ~60 lines follow the
 * RFC's steps one to one, and the tests exercise them against a real PostgreSQL with `scram-sha-256` auth.
 *
 * No channel binding (`n,,`): the upstream connection is plain TCP, as `sslmode=disable`.
 */
export const SCRAM_MECHANISM = 'SCRAM-SHA-256';

/** PostgreSQL's default is 4096; more than this from a server is refused rather than burning CPU on it. */
const MAX_ITERATIONS = 100_000;

export class ScramError extends Error {}

export interface ScramClient {
  /** The SASLInitialResponse data: the client-first-message. */
  readonly clientFirst: string;
  /** The client-final-message for the server-first-message, or {@link ScramError}. */
  respond(serverFirst: string): string;
  /** Checks the server-final-message's signature: the server knew the password too. */
  verify(serverFinal: string): void;
}

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0] ?? '', part.slice(2));
  }
  return out;
}

/**
 * Starts one exchange with `password`. PostgreSQL takes the user name from the start-up packet, hence `n=*`;
 * `fixed` sets the user name and nonce for the RFC 7677 test vector only.
 */
export function startScram(password: string, fixed?: { user: string; nonce: string }): ScramClient {
  const nonce = fixed?.nonce ?? randomBytes(18).toString('base64');
  const clientFirstBare = `n=${fixed?.user ?? '*'},r=${nonce}`;
  let serverSignature: Buffer | undefined;
  return {
    clientFirst: `n,,${clientFirstBare}`,
    respond(serverFirst) {
      const attrs = attributes(serverFirst);
      const serverNonce = attrs.get('r') ?? '';
      const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
      const iterations = Number(attrs.get('i'));
      if (!serverNonce.startsWith(nonce) || serverNonce.length === nonce.length) {
        throw new ScramError('the server nonce does not extend the client nonce');
      }
      if (
        salt.length === 0 ||
        !Number.isInteger(iterations) ||
        iterations < 1 ||
        iterations > MAX_ITERATIONS
      ) {
        throw new ScramError('the server-first-message has no salt or an unacceptable iteration count');
      }
      // SASLprep (RFC 4013) reduced to its NFKC step: the credentials cofre holds are machine-made ASCII.
      const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=biws,r=${serverNonce}`;
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const signature = hmac(storedKey, authMessage);
      const proof = Buffer.alloc(clientKey.length);
      for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] ?? 0) ^ (signature[i] ?? 0);
      serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      salted.fill(0);
      clientKey.fill(0);
      return `${withoutProof},p=${proof.toString('base64')}`;
    },
    verify(serverFinal) {
      const given = Buffer.from(attributes(serverFinal).get('v') ?? '', 'base64');
      if (
        serverSignature === undefined ||
        given.length !== serverSignature.length ||
        !timingSafeEqual(given, serverSignature)
      ) {
        throw new ScramError('the server signature does not match: the server does not know the password');
      }
    },
  };
}
