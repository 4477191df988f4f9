import type { Socket } from 'node:net';

import {
  authenticationCleartextPassword,
  MAX_PASSWORD_LENGTH,
  MAX_STARTUP_LENGTH,
  negotiateProtocolVersion,
  parseStartup,
  passwordOf,
  splitFrames,
  startupLength,
} from '../../databases/pg-wire.js';

/** How long a client has to send its start-up packet and password. */
export const CLIENT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** What the client sent before cofre decides: its start-up parameters and its password (the agent token). */
export interface ClientHello {
  readonly params: ReadonlyMap<string, string>;
  readonly password: string;
  /** Bytes the client sent after its password (pipelined), to forward once the upstream is ready. */
  readonly rest: Buffer;
}

/** Why the handshake ended without a hello: `cancel` (a CancelRequest), or a protocol error to report. */
export class HandshakeEnd extends Error {
  readonly reason: 'cancel' | 'protocol' | 'closed' | 'timeout';
  constructor(reason: HandshakeEnd['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Reads the client's start-up packet (answering `N` to SSLRequest and GSSENCRequest: the listener is loopback-only
 * and speaks no TLS), then asks for a password with AuthenticationCleartextPassword and reads it.
 *
 * Why cleartext: the "password" is the agent token, which cofre must see whole to check it against its stored hash;
 * MD5 and SCRAM would need the token (or a verifier of it) stored on cofre's side, and agent tokens are stored only
 * as SHA-256 hashes. On loopback the bytes never leave the host (the schema refuses any other listen address).
 */
export function readClientHello(socket: Socket): Promise<ClientHello> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    let params: ReadonlyMap<string, string> | undefined;
    const finish = (err: HandshakeEnd | undefined, hello?: ClientHello): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.pause();
      if (err === undefined && hello !== undefined) resolve(hello);
      else reject(err ?? new HandshakeEnd('protocol', 'handshake ended'));
    };
    const timer = setTimeout(() => {
      finish(
        new HandshakeEnd('timeout', `no start-up and password within ${CLIENT_HANDSHAKE_TIMEOUT_MS} ms`),
      );
    }, CLIENT_HANDSHAKE_TIMEOUT_MS);
    const onClose = (): void => {
      finish(new HandshakeEnd('closed', 'the client closed the connection'));
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      while (params === undefined) {
        const length = startupLength(buffered);
        if (length === undefined) return;
        if (length < 8 || length > MAX_STARTUP_LENGTH) {
          finish(new HandshakeEnd('protocol', 'invalid start-up packet length'));
          return;
        }
        if (buffered.length < length) return;
        const packet = parseStartup(buffered.subarray(0, length));
        buffered = buffered.subarray(length);
        if (packet.kind === 'ssl' || packet.kind === 'gssenc') {
          socket.write('N');
          continue;
        }
        if (packet.kind === 'cancel') {
          finish(new HandshakeEnd('cancel', 'cancel requests are not relayed'));
          return;
        }
        if (packet.kind === 'invalid') {
          finish(new HandshakeEnd('protocol', packet.reason));
          return;
        }
        if (packet.params.get('replication') !== undefined && packet.params.get('replication') !== 'false') {
          finish(new HandshakeEnd('protocol', 'replication connections are not brokered'));
          return;
        }
        params = packet.params;
        if (packet.minor > 0) socket.write(negotiateProtocolVersion());
        socket.write(authenticationCleartextPassword());
      }
      const split = splitFrames(buffered, MAX_PASSWORD_LENGTH);
      const first = split.frames[0];
      if (split.tooLong || (first !== undefined && first.type !== 'p')) {
        finish(
          new HandshakeEnd(
            'protocol',
            'expected a password message (the agent token) after the start-up packet',
          ),
        );
        return;
      }
      if (first === undefined) return;
      const after = buffered.subarray(first.raw.length);
      finish(undefined, { params, password: passwordOf(first.body), rest: Buffer.from(after) });
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
