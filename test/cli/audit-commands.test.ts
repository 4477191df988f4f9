// `cofre audit verify|tail|query|hash` on a config made by `cofre init`, against logs written through the format's
// own functions (the test builder stands in for the writer).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

import { auditHmac } from '../../src/audit/audit-hmac.js';
import { AuditChainBuilder, testSigningKey } from '../../src/audit/testdata/audit-chain-builder.js';
import { auditTail } from '../../src/surfaces/cli/audit-tail.js';
import { auditVerify } from '../../src/surfaces/cli/audit-verify.js';
import { cli, tempDir } from './cli-harness.js';

const key = testSigningKey();
const HMAC_KEY = 'f'.repeat(64);
let dir: string;
let remove: () => void;
let logPath: string;

beforeEach(async () => {
  ({ dir, remove } = tempDir());
  expect((await cli(dir, ['init'])).code).toBe(0);
  logPath = join(dir, 'cofre-audit.jsonl');
});
afterEach(() => {
  remove();
});

/** A log of two files with agents a1 and a2, checkpoints, and a final checkpoint. */
function writeLog(): AuditChainBuilder {
  const log = new AuditChainBuilder({ key });
  log.event('intent', { agent: 'a1', requestId: 'req-1' });
  log.event('outcome', { agent: 'a1', requestId: 'req-1' });
  log.checkpoint();
  log.rotate();
  log.event('intent', { agent: 'a2', requestId: 'req-2', account: 'binance' });
  log.event('outcome', { agent: 'a2', requestId: 'req-2', account: 'binance' });
  log.checkpoint();
  log.write(logPath, join(dir, 'witness.jsonl'));
  writeFileSync(join(dir, 'key.pem'), key.publicKeyPem);
  return log;
}

describe('cofre audit verify', () => {
  it('verifies an intact log against the pinned key and a witness, exit 0', async () => {
    writeLog();
    const result = await cli(dir, [
      'audit',
      'verify',
      '--public-key',
      'key.pem',
      '--witness',
      'witness.jsonl',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('2 file(s)');
    expect(result.stdout).toContain(`${key.keyId} pinned (--public-key key.pem)`);
    expect(result.stdout).toContain('last signed seq 7');
    expect(result.stdout.trim().split('\n').at(-1)).toBe('VERIFIED');
  });

  it('says when the key came from the genesis record only', async () => {
    writeLog();
    const result = await cli(dir, ['audit', 'verify']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("from the log's genesis record (not pinned)");
    expect(result.stdout).toContain('WARNING key-not-pinned');
    expect(result.stdout).toContain('VERIFIED with 1 warning(s)');
  });

  it('names an edited record by file, line and seq, exit 1', async () => {
    writeLog();
    const first = `${logPath}.000001`;
    writeFileSync(first, readFileSync(first, 'utf8').replace('"agent":"a1"', '"agent":"zz"'));
    const result = await cli(dir, ['audit', 'verify', '--public-key', 'key.pem']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('ERROR   prev-mismatch at cofre-audit.jsonl.000001 line 3 seq 2');
    expect(result.stdout).toContain('BROKEN: 1 error(s)');
    expect(result.stderr).toContain('COFRE_AUDIT_VERIFY_FAILED');
  });

  it('reports truncation through a witness, including one named in the config', async () => {
    const log = writeLog();
    writeFileSync(logPath, `${log.files[1]?.slice(0, 2).join('\n')}\n`);
    expect((await cli(dir, ['audit', 'verify', '--public-key', 'key.pem'])).code).toBe(0);
    const config = parseDocument(readFileSync(join(dir, 'cofre.yaml'), 'utf8'));
    config.setIn(['audit', 'witnesses'], [{ type: 'file', path: './witness.jsonl' }]);
    writeFileSync(join(dir, 'cofre.yaml'), config.toString());
    const result = await cli(dir, ['audit', 'verify', '--public-key', 'key.pem', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      verdict: string;
      findings: { code: string; message: string }[];
    };
    expect(report.verdict).toBe('broken');
    expect(report.findings[0]?.code).toBe('truncated');
    expect(report.findings[0]?.message).toContain('at least 2 record(s)');
  });

  it('shows progress on stderr when it is a terminal', async () => {
    writeLog();
    let progress = '';
    const stderr = Object.assign(
      new Writable({
        write(chunk: Buffer, _enc, done) {
          progress += chunk.toString('utf8');
          done();
        },
      }),
      { isTTY: true },
    );
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr, cwd: dir };
    await auditVerify(io, {}, {});
    expect(progress).toMatch(/\rverifying cofre-audit\.jsonl: 100% of 0\.0 MiB, 8 records\n$/);
  });

  it('verifies a copy of a log with --log and no config', async () => {
    writeLog();
    const { dir: other, remove: removeOther } = tempDir();
    try {
      const result = await cli(other, ['audit', 'verify', '--log', logPath]);
      expect(result.code).toBe(0);
    } finally {
      removeOther();
    }
  });

  it('exits 2 for a missing witness file, 1 for a key file that is not a public key', async () => {
    writeLog();
    expect((await cli(dir, ['audit', 'verify', '--witness', 'nope.jsonl'])).code).toBe(2);
    const bad = await cli(dir, ['audit', 'verify', '--public-key', 'cofre.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--public-key cofre.yaml is not a public key');
  });
});

describe('cofre audit tail and query', () => {
  it('tails the last records across the rotated file, as text or JSON', async () => {
    const log = writeLog();
    const json = await cli(dir, ['audit', 'tail', '-n', '5', '--json']);
    expect(json.code).toBe(0);
    const all = log.files.flat();
    expect(json.stdout).toBe(`${all.slice(-5).join('\n')}\n`);
    const text = await cli(dir, ['audit', 'tail', '-n', '1']);
    expect(text.stdout).toMatch(/^2026-01-01T00:00:07.000Z #7 checkpoint head=[0-9a-f]{64} count=7 keyId=/);
    expect((await cli(dir, ['audit', 'tail', '-n', 'x'])).code).toBe(2);
  });

  it('follows new records until stopped', async () => {
    const log = writeLog();
    let out = '';
    const seen: (() => void)[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString('utf8');
        for (const s of seen) s();
        done();
      },
    });
    const io = { stdin: new PassThrough(), stdout, stderr: new PassThrough(), cwd: dir };
    const abort = new AbortController();
    const printed = (text: string): Promise<void> =>
      new Promise<void>((done) => {
        const check = (): void => {
          if (out.includes(text)) done();
        };
        seen.push(check);
        check();
      });
    const following = auditTail(
      io,
      {},
      { lines: '1', follow: true, json: true },
      { signal: abort.signal, pollMs: 5 },
    );
    await printed('"kind":"checkpoint"');
    const line = log.event('intent', { agent: 'late' });
    writeFileSync(logPath, `${log.files[1]?.join('\n')}\n`);
    await printed('"agent":"late"');
    abort.abort();
    await following;
    expect(out.trim().split('\n')).toEqual([log.checkpoints[1], line]);
  });

  it('queries by agent, kind, request, account and time', async () => {
    writeLog();
    const lines = async (...args: string[]): Promise<string[]> => {
      const result = await cli(dir, ['audit', 'query', '--json', ...args]);
      expect(result.code).toBe(0);
      return result.stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => String((JSON.parse(l) as { seq: number }).seq));
    };
    expect(await lines('--agent', 'a1')).toEqual(['1', '2']);
    expect(await lines('--kind', 'checkpoint')).toEqual(['3', '7']);
    expect(await lines('--request', 'req-2', '--kind', 'outcome')).toEqual(['6']);
    expect(await lines('--account', 'binance')).toEqual(['5', '6']);
    expect(await lines('--since', '2026-01-01T00:00:02Z', '--until', '2026-01-01T00:00:05Z')).toEqual([
      '2',
      '3',
      '4',
    ]);
    expect((await cli(dir, ['audit', 'query', '--since', 'yesterday'])).code).toBe(2);
    const text = await cli(dir, ['audit', 'query', '--agent', 'a2']);
    expect(text.stderr).toBe('2 record(s)\n');
  });
});

describe('cofre audit hash', () => {
  async function configureKey(): Promise<void> {
    expect((await cli(dir, ['secret', 'put', 'audit/hmac'], `${HMAC_KEY}\n`)).code).toBe(0);
    const config = parseDocument(readFileSync(join(dir, 'cofre.yaml'), 'utf8'));
    config.setIn(['audit', 'hmacKey'], 'local:audit/hmac');
    writeFileSync(join(dir, 'cofre.yaml'), config.toString());
  }

  it('hashes a reference given as an argument and a value read from stdin', async () => {
    await configureKey();
    const ref = await cli(dir, ['audit', 'hash', 'local:exchanges/binance#apiKey']);
    expect(ref.code).toBe(0);
    expect(ref.stdout).toBe(
      `${auditHmac(Buffer.from(HMAC_KEY), 'reference', 'local:exchanges/binance#apiKey')}\n`,
    );
    const value = await cli(dir, ['audit', 'hash', '--stdin'], 'hunter2\n');
    expect(value.code).toBe(0);
    expect(value.stdout).toBe(`${auditHmac(Buffer.from(HMAC_KEY), 'value', 'hunter2')}\n`);
  });

  it('refuses a value on the command line without echoing it, and a missing key', async () => {
    await configureKey();
    const refused = await cli(dir, ['audit', 'hash', 'my secret value']);
    expect(refused.code).toBe(2);
    expect(refused.stdout + refused.stderr).not.toContain('my secret value');
    expect(refused.stderr).toContain('--stdin');
    const noPrompt = await cli(dir, ['audit', 'hash']);
    expect(noPrompt.stderr).toContain('not a terminal');
    const config = parseDocument(readFileSync(join(dir, 'cofre.yaml'), 'utf8'));
    config.deleteIn(['audit', 'hmacKey']);
    writeFileSync(join(dir, 'cofre.yaml'), config.toString());
    const missing = await cli(dir, ['audit', 'hash', 'local:x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('COFRE_AUDIT_HMAC_KEY_UNAVAILABLE');
  });
});
