import { connect, type Socket } from 'node:net';

import { serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';

import { type Frame, splitFrames } from './pg-wire.js';
import { SCRAM_MECHANISM, ScramError, startScram } from './scram-client.js';

/** How long the upstream may take to accept, authenticate and become ready. */
export const UPSTREAM_LOGIN_TIMEOUT_MS = 10_000;

/** Largest message accepted from the upstream during login (ParameterStatus, notices, errors are small). */
const MAX_LOGIN_MESSAGE = 64 * 1024;

/** Why the upstream login failed, in words that hold no credential (the upstream's own text is kept out). */
export class UpstreamLoginError extends Error {
  /** The upstream's SQLSTATE, when it answered with an ErrorResponse. */
  readonly sqlState: string | undefined;
  constructor(message: string, sqlState?: string) {
    super(message);
    this.sqlState = sqlState;
  }
}

/** A logged-in upstream connection, ready for queries. */
export interface UpstreamSession {
  readonly socket: Socket;
  /** ParameterStatus, BackendKeyData, NoticeResponse and the ReadyForQuery, as received, for the client. */
  readonly greeting: Buffer;
  /** Bytes received after the ReadyForQuery (none, in practice: the server waits for a query). */
  readonly rest: Buffer;
  /** The user the upstream authenticated (the credentials' user name). */
  readonly user: string;
}

/** What to log in with; `password` is dropped (the caller zeroes its own copy) once used. */
export interface UpstreamLogin {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** Start-up parameters passed through from the client (application_name, client_encoding, …). */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Connects to the upstream PostgreSQL and logs in with SCRAM-SHA-256 (or trust). SECURITY: any other method the
 * upstream asks for (cleartext, MD5, GSS) is refused, so the password never crosses the wire in a reversible form.
 */
export function loginUpstream(login: UpstreamLogin): Promise<UpstreamSession> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: login.host, port: login.port });
    const parser = new Parser();
    const greeting: Buffer[] = [];
    let scram: ReturnType<typeof startScram> | undefined;
    let buffered: Buffer = Buffer.alloc(0);
    let done = false;
    const fail = (err: UpstreamLoginError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => {
      fail(
        new UpstreamLoginError(
          `no answer from ${login.host}:${login.port} within ${UPSTREAM_LOGIN_TIMEOUT_MS} ms`,
        ),
      );
    }, UPSTREAM_LOGIN_TIMEOUT_MS);
    const onMessage = (frame: Frame, msg: BackendMessage): void => {
      switch (msg.name) {
        case 'authenticationSASL': {
          const mechanisms = (msg as unknown as { mechanisms: string[] }).mechanisms;
          if (!mechanisms.includes(SCRAM_MECHANISM)) {
            throw new UpstreamLoginError(
              `the upstream offers ${mechanisms.join(', ')}; cofre speaks ${SCRAM_MECHANISM}`,
            );
          }
          scram = startScram(login.password);
          socket.write(serialize.sendSASLInitialResponseMessage(SCRAM_MECHANISM, scram.clientFirst));
          return;
        }
        case 'authenticationSASLContinue':
          if (scram === undefined) throw new UpstreamLoginError('SASL continue before SASL start');
          socket.write(
            serialize.sendSCRAMClientFinalMessage(scram.respond((msg as unknown as { data: string }).data)),
          );
          return;
        case 'authenticationSASLFinal':
          scram?.verify((msg as unknown as { data: string }).data);
          return;
        case 'authenticationOk':
          return;
        case 'authenticationCleartextPassword':
        case 'authenticationMD5Password':
          throw new UpstreamLoginError(
            `the upstream asks for ${msg.name === 'authenticationMD5Password' ? 'MD5' : 'a cleartext password'}; cofre only authenticates with ${SCRAM_MECHANISM} (set password_encryption and pg_hba.conf to scram-sha-256)`,
          );
        case 'error': {
          // The upstream's words can name the user; only its SQLSTATE goes on.
          const code = (msg as unknown as { code?: string }).code;
          throw new UpstreamLoginError(
            `the upstream refused the login (SQLSTATE ${code ?? 'unknown'})`,
            code,
          );
        }
        case 'parameterStatus':
        case 'backendKeyData':
        case 'notice':
          greeting.push(frame.raw);
          return;
        case 'readyForQuery':
          greeting.push(frame.raw);
          done = true;
          clearTimeout(timer);
          socket.removeAllListeners('data');
          socket.removeAllListeners('error');
          socket.removeAllListeners('close');
          socket.pause();
          resolve({ socket, greeting: Buffer.concat(greeting), rest: buffered, user: login.user });
          return;
        default:
          throw new UpstreamLoginError(`unexpected ${msg.name} from the upstream during login`);
      }
    };
    socket.on('connect', () => {
      socket.write(serialize.startup({ ...login.params, user: login.user, database: login.database }));
    });
    socket.on('data', (chunk: Buffer) => {
      const split = splitFrames(Buffer.concat([buffered, chunk]), MAX_LOGIN_MESSAGE);
      buffered = split.rest;
      if (split.tooLong) {
        fail(new UpstreamLoginError('the upstream sent an oversized or malformed message during login'));
        return;
      }
      try {
        for (const frame of split.frames) {
          if (done) {
            buffered = Buffer.concat([frame.raw, buffered]);
            continue;
          }
          parser.parse(frame.raw, (msg) => {
            onMessage(frame, msg);
          });
        }
      } catch (err) {
        fail(
          err instanceof UpstreamLoginError
            ? err
            : new UpstreamLoginError(
                err instanceof ScramError ? `SCRAM: ${err.message}` : 'malformed login exchange',
              ),
        );
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      fail(new UpstreamLoginError(`cannot reach ${login.host}:${login.port} (${err.code ?? err.message})`));
    });
    socket.on('close', () => {
      fail(new UpstreamLoginError(`${login.host}:${login.port} closed the connection during login`));
    });
  });
}
