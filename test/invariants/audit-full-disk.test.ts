// SECURITY invariant (issue 10): with the audit log on a full or read-only filesystem, the broker fails closed:
// every action is refused with COFRE_AUDIT_UNAVAILABLE, no order or signed request reaches the paper exchange, and
// a denial whose record cannot be written is logged at error level for the operator.
//
// How, without touching the machine: the broker runs in a child inside a user and mount namespace of its own
// (`unshare -rm`, no root needed where unprivileged user namespaces are allowed), with a 16 KiB tmpfs mounted on the
// audit log's folder; once the broker is open, the child fills the tmpfs (ENOSPC) or remounts it read-only (EROFS).
// A read-only folder would not do: this suite also runs as root, which writes through folder permissions.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { PaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { tempDir } from '../cli/cli-harness.js';
import { startCrashExchange, writeBrokerDir } from './audit-crash-fixture.js';

const CHILD = fileURLToPath(new URL('./audit-full-disk-child.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const canUnshare = spawnSync('unshare', ['-rm', 'true']).status === 0;

let exchange: PaperExchange;
let root: { dir: string; remove: () => void };

beforeAll(async () => {
  root = tempDir();
  exchange = await startCrashExchange('1000000');
});

afterAll(async () => {
  await exchange.stop();
  root.remove();
});

interface Outcome {
  readonly answers: { action: string; status?: string; error?: string; thrown?: string }[];
  readonly logs: { level: number; msg: string }[];
  readonly stderr: string;
}

/** Runs the child's actions with the audit folder on a fresh 16 KiB tmpfs, after `break` ran on it. */
async function runWithAuditOn(name: string, breakDisk: (folder: string) => string): Promise<Outcome> {
  const dir = join(root.dir, name);
  const folder = join(dir, 'audit');
  mkdirSync(folder, { recursive: true });
  const configPath = await writeBrokerDir(dir, exchange.url, join(folder, 'audit.jsonl'));
  const script = `mount -t tmpfs -o size=16k,mode=700 tmpfs '${folder}' && exec "$@"`;
  const child = spawn(
    'unshare',
    [
      '-rm',
      'sh',
      '-c',
      script,
      'sh',
      process.execPath,
      '--import',
      TSX,
      CHILD,
      configPath,
      breakDisk(folder),
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  expect(code, stderr).toBe(0);
  const lines = (text: string): unknown[] =>
    text.split('\n').flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as unknown] : []));
  return { answers: lines(stdout) as Outcome['answers'], logs: lines(stderr) as Outcome['logs'], stderr };
}

function expectFailedClosed(outcome: Outcome, requestsBefore: number): void {
  // Every action was refused for want of an audit log; the denial was still answered as a denial.
  expect(outcome.answers).toEqual([
    { action: 'place_order', thrown: 'COFRE_AUDIT_UNAVAILABLE' },
    { action: 'place_order', thrown: 'COFRE_AUDIT_UNAVAILABLE' },
    { action: 'get_balance', thrown: 'COFRE_AUDIT_UNAVAILABLE' },
    { action: 'cancel_order', status: 'denied' },
  ]);
  // Nothing that acts reached the exchange: no signed request, none carrying the key, no order. What does reach it
  // is public market data the broker reads to resolve an order before its intent (ccxt's exchangeInfo, the ticker
  // for a market order's reference price): unsigned, credential-free, listed here so a change shows.
  const reached = exchange.requests().slice(requestsBefore);
  expect(reached.filter((r) => r.signed || r.apiKey !== undefined || r.method !== 'GET')).toEqual([]);
  expect(new Set(reached.map((r) => r.path))).toEqual(
    new Set(['/api/v3/exchangeInfo', '/api/v3/ticker/24hr']),
  );
  // The operator hears about the denial that could not be recorded.
  expect(
    outcome.logs.some((l) => l.level === 50 && l.msg === 'audit append failed for a denied request'),
  ).toBe(true);
}

describe.skipIf(!canUnshare)('audit log on a broken filesystem (unshare -rm, tmpfs)', () => {
  it('full (ENOSPC): every action is refused and nothing reaches the exchange', async () => {
    const before = exchange.requests().length;
    const outcome = await runWithAuditOn(
      'full',
      (folder) => `dd if=/dev/zero of='${folder}/filler' bs=1k 2>/dev/null; true`,
    );
    expectFailedClosed(outcome, before);
    expect(outcome.stderr).toContain('ENOSPC');
  }, 60_000);

  it('read-only (EROFS): every action is refused and nothing reaches the exchange', async () => {
    const before = exchange.requests().length;
    const outcome = await runWithAuditOn('read-only', (folder) => `mount -o remount,ro '${folder}'`);
    expectFailedClosed(outcome, before);
    expect(outcome.stderr).toContain('EROFS');
  }, 60_000);
});

it.runIf(!canUnshare)('needs `unshare -rm` (unprivileged user namespaces) to build a full filesystem', () => {
  throw new Error('unshare -rm is not available here: the full-disk invariant was not checked');
});
