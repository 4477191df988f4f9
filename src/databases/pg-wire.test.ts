import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';

import {
  CANCEL_REQUEST,
  errorResponse,
  parseStartup,
  passwordOf,
  splitFrames,
  SSL_REQUEST,
  startupLength,
} from './pg-wire.js';

const special = (code: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(code, 4);
  return b;
};

describe('PostgreSQL wire messages of the database listener', () => {
  it('reads a StartupMessage as a driver writes it (pg-protocol serializes the real thing)', () => {
    const packet = serialize.startup({ user: 'bot', database: 'app', application_name: 'psql' });
    expect(startupLength(packet)).toBe(packet.length);
    const parsed = parseStartup(packet);
    expect(parsed.kind).toBe('startup');
    if (parsed.kind !== 'startup') return;
    expect(parsed.minor).toBe(0);
    expect(Object.fromEntries(parsed.params)).toEqual({
      user: 'bot',
      database: 'app',
      application_name: 'psql',
      client_encoding: 'UTF8',
    });
  });

  it('tells SSLRequest and CancelRequest apart, and refuses other protocols', () => {
    expect(parseStartup(special(SSL_REQUEST)).kind).toBe('ssl');
    expect(parseStartup(special(CANCEL_REQUEST)).kind).toBe('cancel');
    expect(parseStartup(special(2 << 16))).toEqual({ kind: 'invalid', reason: 'unsupported protocol 2.0' });
    expect(parseStartup(Buffer.alloc(4)).kind).toBe('invalid');
  });

  it('splits whole messages, keeps a partial tail, and flags an oversized length', () => {
    const two = Buffer.concat([serialize.password('tok'), serialize.query('SELECT 1')]);
    const { frames, rest, tooLong } = splitFrames(Buffer.concat([two, two.subarray(0, 3)]), 1024);
    expect(frames.map((f) => f.type)).toEqual(['p', 'Q']);
    expect(passwordOf(frames[0]!.body)).toBe('tok');
    expect(rest.length).toBe(3);
    expect(tooLong).toBe(false);
    expect(splitFrames(serialize.query('x'.repeat(100)), 50).tooLong).toBe(true);
  });

  it('writes a FATAL ErrorResponse with the SQLSTATE and message', () => {
    const msg = errorResponse('28P01', 'cofre: no');
    expect(msg.subarray(0, 1).toString()).toBe('E');
    expect(msg.readInt32BE(1)).toBe(msg.length - 1);
    expect(msg.subarray(5).toString('utf8')).toBe('SFATAL\0VFATAL\0C28P01\0Mcofre: no\0\0');
  });
});
