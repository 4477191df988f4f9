import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createAuditKeys } from '../../audit/audit-keys.js';
import { issueAgentToken, type IssuedToken } from '../../broker/agent-tokens.js';
import { CofreError, isCofreError } from '../../errors.js';
import type { PaperApiKey } from '../../paper-exchange/paper-api-keys.js';
import { type PaperExchange, startPaperExchange } from '../../paper-exchange/paper-exchange.js';
import { BTCUSDT, ETHUSDT } from '../../paper-exchange/spot-markets.js';
import { EmbeddedBackend } from '../../secrets/embedded/embedded-backend.js';
import { parseSecretReference } from '../../secrets/secret-reference.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';
import { SecretValue } from '../../secrets/secret-value.js';
import type { StateStore } from '../../state/state-store.js';
import { type ApiKeyType, apiPublicKey, describeApiSecret } from '../../venues/api-secret.js';

// Provisioning for paper trading, in one place: `cofre demo`, `cofre paper`, the tests and the benchmarks all set up
// the paper exchange, its keys, a config and agent tokens through these functions, so they run the same setup.

/** API key and secret of one paper-exchange account. */
export interface PaperKeys {
  readonly apiKey: string;
  readonly secret: string;
}

/** What every paper account starts with. */
export const PAPER_BALANCES: Readonly<Record<string, string>> = Object.freeze({
  USDT: '10000',
  BTC: '0.5',
  ETH: '5',
});

/** Port `cofre paper` listens on by default, and the `baseUrl` that `cofre init` writes for the paper account. */
export const PAPER_DEFAULT_PORT = 8788;

/** Fresh random keys in Binance's shape (64 hex characters each). */
export function randomPaperKeys(): PaperKeys {
  return { apiKey: randomBytes(32).toString('hex'), secret: randomBytes(32).toString('hex') };
}

/**
 * Starts the paper exchange with BTC/USDT at 60000 and ETH/USDT at 3000, one account per key pair, each holding
 * {@link PAPER_BALANCES}. Binds 127.0.0.1; `port` 0 (the default) takes a free one.
 */
export function startPaperVenue(
  keys: readonly PaperApiKey[],
  options: { port?: number; host?: string } = {},
): Promise<PaperExchange> {
  return startPaperExchange({
    ...options,
    accounts: keys.map((k) => ({
      apiKey: k.apiKey,
      ...(k.secret === undefined ? {} : { secret: k.secret }),
      ...(k.publicKey === undefined ? {} : { publicKey: k.publicKey }),
      balances: PAPER_BALANCES,
    })),
    symbols: [BTCUSDT, ETHUSDT],
    prices: { BTCUSDT: '60000', ETHUSDT: '3000' },
  });
}

/**
 * Writes a self-contained paper setup into `dir`: an embedded store (with its key file) holding the keys as
 * `exchanges/paper` (fields `apiKey` and `secret`), and a `cofre.yaml` with the paper account at `exchangeUrl`, a
 * `demo` policy, and state, audit log and store beside it. Returns the config file's path.
 */
export async function writeDemoSetup(
  dir: string,
  options: { exchangeUrl: string; apiKey: string; apiSecret: string; port: number; consolePort?: number },
): Promise<string> {
  const store = await EmbeddedBackend.create(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  const keys = SecretValue.fromText(JSON.stringify({ apiKey: options.apiKey, secret: options.apiSecret }));
  try {
    await store.write('exchanges/paper', keys);
    await createAuditKeys(store);
  } finally {
    keys.zero();
    await store.close();
  }
  const configFile = join(dir, 'cofre.yaml');
  await writeFile(configFile, demoConfig(options.exchangeUrl, options.port, options.consolePort));
  return configFile;
}

/**
 * Issues a token for a new agent and writes it, with a newline, to `file`, created with mode 600. Refuses a file
 * that already exists (`COFRE_STORE_EXISTS`) rather than replace a token someone relies on; nothing is issued then.
 *
 * SECURITY: the file is created exclusively with mode 600 in one `open`, so there is no moment at which another
 * user could read it.
 */
export async function writeAgentTokenFile(
  state: StateStore,
  file: string,
  input: { id: string; policy: string; ttlMs: number; now: Date },
): Promise<IssuedToken> {
  const handle = await open(file, 'wx', 0o600).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'EEXIST'
      ? new CofreError('COFRE_STORE_EXISTS', `${file} already exists; not overwriting a token file`)
      : new CofreError('COFRE_INPUT_INVALID', `cannot create ${file}: ${code ?? 'error'}`, { cause: err });
  });
  let issued: IssuedToken;
  try {
    issued = await issueAgentToken(state, input);
    await handle.writeFile(`${issued.token}\n`);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(file, { force: true });
    throw err;
  }
  await handle.close();
  return issued;
}

function demoConfig(exchangeUrl: string, port: number, consolePort: number | undefined): string {
  return `# Written by \`cofre demo\` for this run.
backends:
  local:
    type: embedded
    path: cofre.store
    keyFile: cofre.key
accounts:
  paper:
    venue: binance
    mode: paper
    baseUrl: ${JSON.stringify(exchangeUrl)}
    credentials:
      apiKey: local:exchanges/paper#apiKey
      secret: local:exchanges/paper#secret
# Where withdrawals may go: labels an operator binds to addresses. Agents name the label, never an address.
addressBook:
  cold-usdt: { asset: USDT, network: TRX, address: "TDemoColdWalletPaperMoneyOnly000001" }
# HTTP APIs agents call through cofre (http_request), which injects the key: here the paper exchange's public API.
services:
  paper-public:
    baseUrl: ${JSON.stringify(`${exchangeUrl.replace(/\/+$/, '')}/api/v3`)}
    secret: local:exchanges/paper#apiKey
    inject: { type: header, name: X-MBX-APIKEY }
    paths: ["/time", "/ping", "/ticker/**"]
    local: true # on this host (loopback); a public API leaves this out
policies:
  demo:
    rules:
      - allow: [list_accounts, get_limits, get_balance, get_ticker, get_open_orders, get_order, preview_order, cancel_order, cancel_all_orders]
        accounts: [paper]
      - name: small-orders # up to 500 USDT, within 5% of the last price: no one is asked
        allow: [place_order]
        accounts: [paper]
        maxNotional: 500
        priceBand: 5%
      - name: large-orders # from 500 to 5000 USDT: an operator approves (cofre approval approve)
        approve: [place_order]
        accounts: [paper]
        minNotional: 500
        maxNotional: 5000
        priceBand: 5%
      - name: withdrawals # only to the cold wallet's label, at most 1000 USDT, always approved by an operator
        approve: [withdraw]
        accounts: [paper]
        destinations: [cold-usdt]
        maxAmount: 1000
      - name: market-data # GET requests to the paper exchange's public API, its key injected by cofre
        allow: [http_request]
        services: [paper-public]
        methods: [GET]
    limits:
      - { name: daily-spend, per: agent, window: 24h, notional: 20000, quote: USDT }
      - { name: daily-withdrawals, per: account, window: 24h, withdrawals: 2000, asset: USDT }
agents:
  tokenTtl: 1d
audit:
  path: audit.jsonl
  signingKey: local:audit/signing-key
  hmacKey: local:audit/hmac-key
state:
  path: state.db
server:
  host: 127.0.0.1
  port: ${port}${
    consolePort === undefined
      ? ''
      : `
  # The operator console in a browser: approve, deny, halt; log in with the operator token the demo printed.
  console: { host: 127.0.0.1, port: ${consolePort} }`
  }
`;
}

/**
 * How {@link paperKeysFromConfig} got an account's keys: what the paper exchange must accept — the HMAC secret, or
 * only the public key of an Ed25519 or RSA key (the private key stays in the backend).
 */
export interface ProvisionedPaperKeys extends PaperApiKey {
  readonly account: string;
  readonly keyType: ApiKeyType;
  /** True when the keys were made now and written to the account's backend (`--create-keys`). */
  readonly created: boolean;
}

/**
 * The keys the paper exchange must accept for a paper account: read through the account's own credential
 * references, or, when none of them exists yet and `create` is set, made at random and written there (a `#field`
 * reference becomes a field of a JSON object at its path). `keyType` picks what is made: an HMAC secret (64 hex
 * characters, the default), or an Ed25519 or RSA (2048-bit) private key in PKCS#8 PEM, as Binance's key generator
 * makes them; existing keys are used whatever their type. Keys that exist only in part are refused rather than
 * overwritten; a stored secret cofre cannot sign with is refused (`COFRE_CREDENTIALS_INVALID`).
 *
 * SECURITY: the keys go from the backend to the paper exchange in memory; nothing here prints them. Of an Ed25519
 * or RSA key only the public key is given to the paper exchange, as to Binance.
 */
export async function paperKeysFromConfig(
  account: string,
  credentials: { readonly apiKey: string; readonly secret: string },
  resolver: SecretResolver,
  create: boolean,
  keyType: ApiKeyType = 'hmac',
): Promise<ProvisionedPaperKeys> {
  const read = async (reference: string): Promise<SecretValue | undefined> => {
    try {
      return await resolver.resolve(reference);
    } catch (err) {
      if (isCofreError(err) && err.code === 'COFRE_SECRET_NOT_FOUND') return undefined;
      throw err;
    }
  };
  const [apiKey, secret] = [await read(credentials.apiKey), await read(credentials.secret)];
  try {
    if (apiKey !== undefined && secret !== undefined) {
      return { account, apiKey: apiKey.text(), ...verifierOf(secret, account), created: false };
    }
  } finally {
    apiKey?.zero();
    secret?.zero();
  }
  if (apiKey !== undefined || secret !== undefined) {
    throw new CofreError(
      'COFRE_SECRET_NOT_FOUND',
      `account "${account}": ${apiKey === undefined ? credentials.apiKey : credentials.secret} does not exist but ${apiKey === undefined ? credentials.secret : credentials.apiKey} does; store both keys with \`cofre secret put\` (cofre paper --create-keys only creates keys that do not exist at all)`,
    );
  }
  if (!create) {
    throw new CofreError(
      'COFRE_SECRET_NOT_FOUND',
      `account "${account}" has no keys yet (${credentials.apiKey}, ${credentials.secret}); run \`cofre paper --create-keys\` to make random ones and store them there`,
    );
  }
  const keys = newPaperKeys(keyType);
  await writeAtReferences(resolver, [
    [credentials.apiKey, keys.apiKey],
    [credentials.secret, keys.stored],
  ]);
  resolver.invalidate();
  return { account, apiKey: keys.apiKey, keyType, ...keys.accepted, created: true };
}

/** What the paper exchange checks a stored secret's signatures with: the secret (HMAC) or the public key. */
function verifierOf(
  secret: SecretValue,
  account: string,
): { keyType: ApiKeyType; secret?: string; publicKey?: string } {
  const { type } = describeApiSecret(secret, account);
  if (type === 'hmac') return { keyType: type, secret: secret.text() };
  return { keyType: type, publicKey: apiPublicKey(secret, account) ?? '' };
}

/**
 * Fresh keys of `type`: the API key (64 hex characters, Binance's shape), the secret to store (HMAC secret or PKCS#8
 * PEM private key) and what the paper exchange is given (the HMAC secret, or the public key alone).
 */
function newPaperKeys(type: ApiKeyType): {
  apiKey: string;
  stored: string;
  accepted: { secret: string } | { publicKey: string };
} {
  const apiKey = randomBytes(32).toString('hex');
  if (type === 'hmac') {
    const secret = randomBytes(32).toString('hex');
    return { apiKey, stored: secret, accepted: { secret } };
  }
  const pair =
    type === 'ed25519'
      ? generateKeyPairSync('ed25519', {
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        })
      : generateKeyPairSync('rsa', {
          modulusLength: 2048,
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        });
  return { apiKey, stored: pair.privateKey, accepted: { publicKey: pair.publicKey } };
}

async function writeAtReferences(
  resolver: SecretResolver,
  entries: readonly (readonly [string, string])[],
): Promise<void> {
  // Group by backend and path: fields of one path become one JSON object, written once.
  const targets = new Map<
    string,
    { backend: string; path: string; fields: Record<string, string>; raw?: string }
  >();
  for (const [reference, value] of entries) {
    const ref = parseSecretReference(reference);
    if (ref.selector.kind !== 'latest') {
      throw new CofreError(
        'COFRE_USAGE',
        `cannot create keys at ${reference}: it names a version or stage; drop the @… part or store them with \`cofre secret put\``,
      );
    }
    const key = `${ref.backend}:${ref.path}`;
    const target = targets.get(key) ?? { backend: ref.backend, path: ref.path, fields: {} };
    if (ref.field === undefined) target.raw = value;
    else target.fields[ref.field] = value;
    if (target.raw !== undefined && Object.keys(target.fields).length > 0) {
      throw new CofreError(
        'COFRE_USAGE',
        `cannot create keys at ${key}: it is used both whole and by #field`,
      );
    }
    targets.set(key, target);
  }
  for (const target of targets.values()) {
    const backend = resolver.backend(target.backend);
    const value = SecretValue.fromText(target.raw ?? JSON.stringify(target.fields));
    try {
      await backend.write(target.path, value);
    } finally {
      value.zero();
    }
  }
}
