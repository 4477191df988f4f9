// The limit ledger on real SQLite files, what is SQLite's own: pruning (rows in the file), migration, the query
// plans, and two OS processes on one file. What every ledger does is in the conformance suite
// (../conformance/limit-ledger-conformance.ts, run by limit-ledger.conformance.test.ts).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { LimitCheck, LimitMeasure } from '../../policy/policy-types.js';
import { PRUNE_BATCH, PRUNE_GRACE_MS } from '../limit-ledger-rules.js';
import { RESERVE_READS } from './sqlite-limit-ledger.js';
import { SqliteStateStore } from './sqlite-state-store.js';

let dir: string;
let path: string;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-ledger-'));
  path = join(dir, 'state.db');
  store = new SqliteStateStore(path);
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

const MINUTE = 60_000;
const t = (ms: number): Date => new Date(1_700_000_000_000 + ms);

function check(
  key: string,
  cap: string,
  amount: string,
  windowMs: number | undefined = MINUTE,
  measure: LimitMeasure = 'notional',
): LimitCheck {
  return { limit: `limit-${key}`, key, measure, windowMs, cap, amount };
}

function usageOf(key: string, at: Date, windowMs = MINUTE): string | undefined {
  return store.usage([{ key, windowMs }], at).get(key);
}

describe('storage', () => {
  function rows(table: string): number {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
    } finally {
      db.close();
    }
  }

  it('prunes committed rows past their key’s longest window, a bounded batch per commit, without changing sums', () => {
    const commit = (id: string, key: string, at: number, windowMs: number): void => {
      store.reserve(id, [check(key, '1000000', '1', windowMs)], t(at));
      store.settleReservation(id, { kind: 'commit', at: t(at) });
    };
    for (let i = 0; i < PRUNE_BATCH + 10; i++) commit(`short${i}`, 'short', 0, MINUTE);
    commit('long0', 'long', 0, 10 * MINUTE);
    expect(rows('limit_usage')).toBe(PRUNE_BATCH + 11);
    const later = MINUTE + PRUNE_GRACE_MS;
    commit('short-late', 'short', later, MINUTE);
    expect(rows('limit_usage')).toBe(12); // one batch deleted, the new row added
    commit('short-late2', 'short', later, MINUTE);
    expect(rows('limit_usage')).toBe(3); // the long window's row is kept
    expect(usageOf('short', t(later))).toBe('2');
    expect(usageOf('long', t(later), 10 * MINUTE)).toBe('1');
  });

  it('migrates a version-1 file to the current version and keeps its requests', async () => {
    const oldPath = join(dir, 'v1.db');
    const old = new Database(oldPath);
    old.exec(`CREATE TABLE requests (request_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, action TEXT NOT NULL,
      account TEXT, idempotency_key TEXT UNIQUE, status TEXT NOT NULL, response TEXT, created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL, input TEXT);
      INSERT INTO requests VALUES ('r0', 'alice', 'place_order', 'paper', 'k1', 'executed', '{}', 1, 1, '{}');
      PRAGMA user_version = 1;`);
    old.close();
    const migrated = new SqliteStateStore(oldPath);
    try {
      expect(migrated.request('r0')).toMatchObject({ status: 'executed' });
      expect(migrated.reserve('r1', [check('k', '1', '1')], t(0))).toEqual({ ok: true });
    } finally {
      migrated.close();
    }
    const db = new Database(oldPath, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(7);
    db.close();
    await rm(oldPath, { force: true });
  });

  it('answers every read of a reservation from an index, with no scan or sort', () => {
    const db = new Database(path, { readonly: true });
    try {
      for (const sql of Object.values(RESERVE_READS)) {
        const statement = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
        const params = sql.includes('at > ?') ? ['k', 0] : ['k'];
        const plan = (statement.all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
        expect(plan, sql).toMatch(/^SEARCH /);
        expect(plan, sql).not.toMatch(/SCAN|TEMP B-TREE/);
      }
    } finally {
      db.close();
    }
  });
});

describe('two OS processes', () => {
  /** Starts a racer (testdata/ledger-racer.ts) and resolves once it has opened the file. */
  function racer(name: string, count: number) {
    const script = fileURLToPath(new URL('testdata/ledger-racer.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, JSON.stringify({ path, name, count })],
      {
        cwd: fileURLToPath(new URL('../../../', import.meta.url)),
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const output = new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => {
        if (code === 0) resolve(out);
        else reject(new Error(`racer ${name} exited with ${String(code)}`));
      });
    });
    return { child, output };
  }

  async function ready(child: ReturnType<typeof racer>['child']): Promise<void> {
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        if (chunk.toString('utf8').includes('ready\n')) {
          child.stdout.off('data', onData);
          resolve();
        }
      };
      child.stdout.on('data', onData);
    });
  }

  it('holds a cap of 1 as a mutex between two processes reserving on one file at once', async () => {
    const racers = [racer('a', 400), racer('b', 400)];
    await Promise.all(racers.map((r) => ready(r.child)));
    for (const r of racers) r.child.stdin.write('go\n');
    const results = (await Promise.all(racers.map((r) => r.output))).map((o) => {
      const last = o.trim().split('\n').at(-1) ?? '{}';
      return JSON.parse(last) as { acquired: number; violations: number };
    });
    // Both held the token at times (they really raced), and never both at once.
    for (const r of results) expect(r.acquired).toBeGreaterThan(0);
    expect(results.map((r) => r.violations)).toEqual([0, 0]);
    expect(usageOf('token', t(0))).toBe('0');
    expect(store.reservedRequests()).toEqual([]);
  });
});
