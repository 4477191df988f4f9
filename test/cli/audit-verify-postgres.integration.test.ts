// `cofre audit verify` with `state.type: postgres` (issue 16): it reads the chain every replica writes into the
// state database, with the login by secret reference, and reports tampering there as it does for a file log.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';

import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

import { PostgresAuditLog } from '../../src/audit/postgres-audit-log.js';
import { migrate } from '../../src/state/postgres/migrate.js';
import { PgDb } from '../../src/state/postgres/pg-db.js';
import { auditTail } from '../../src/surfaces/cli/audit-tail.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startPostgres } from '../peers/peers.js';
import { cli, tempDir } from './cli-harness.js';

const server = await peerOrSkip('PostgreSQL', startPostgres);

afterAll(async () => {
  await server?.stop();
});

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
let databases = 0;
let dir: string;
let remove: () => void;
let db: PgDb;

beforeEach(async () => {
  ({ dir, remove } = tempDir());
  const name = `t_cli_audit_${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: server!.connectionString });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = server!.connectionString.replace('/postgres?', `/${name}?`);
  db = new PgDb(new pg.Pool({ connectionString: url }));
  await migrate(db);

  expect((await cli(dir, ['init'])).code).toBe(0);
  expect((await cli(dir, ['secret', 'put', 'state/url'], `${url}\n`)).code).toBe(0);
  const config = parseDocument(readFileSync(join(dir, 'cofre.yaml'), 'utf8'));
  config.set('state', { type: 'postgres', url: 'local:state/url', ssl: 'disable' });
  writeFileSync(join(dir, 'cofre.yaml'), config.toString());
  writeFileSync(join(dir, 'audit-public.pem'), publicKey.export({ type: 'spki', format: 'pem' }));

  const log = new PostgresAuditLog(db, {
    signingKey: privateKey,
    checkpoint: { every: 5, interval: 60_000 },
    replica: 'r-00000000000000dd',
  });
  for (let i = 0; i < 12; i++) {
    await log.append({ kind: 'intent', requestId: `req-${i}`, agent: 'bot', action: 'place_order' });
  }
  await log.close();
});

afterEach(async () => {
  await db.close();
  remove();
});

describe.skipIf(server === undefined)('cofre audit verify on PostgreSQL state', () => {
  it('verifies the chain in the state database, with the key pinned', async () => {
    const result = await cli(dir, ['audit', 'verify', '--public-key', 'audit-public.pem']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('the PostgreSQL state database (table audit_records)');
    expect(result.stdout).toMatch(/checkpoints 3 verified/);
    expect(result.stdout).toMatch(/^VERIFIED$/m);
    // SECURITY: the login comes by reference and never shows.
    expect(result.stdout).not.toContain(server!.password);

    const json = await cli(dir, ['audit', 'verify', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ store: 'postgres', verdict: 'verified', records: 16 });
  });

  it('verifies the operator actions the CLI records into the state database, signed with the config key', async () => {
    // A new chain, all of it written by the CLI with the config's audit.signingKey.
    await db.query('TRUNCATE audit_records');
    await db.query('UPDATE audit_head SET seq = 0, hash = $1, log_id = NULL, since_checkpoint = 0', [
      '0'.repeat(64),
    ]);
    expect((await cli(dir, ['halt', '--reason', 'incident 7'])).code).toBe(0);
    expect((await cli(dir, ['resume'])).code).toBe(0);
    const { rows } = await db.query<{ line: string }>('SELECT line FROM audit_records ORDER BY seq');
    const records = rows.map((r) => JSON.parse(r.line) as Record<string, unknown>);
    expect(records.filter((r) => r['kind'] === 'operator').map((r) => r['action'])).toEqual([
      'halt',
      'resume',
    ]);
    expect(existsSync(join(dir, 'cofre-audit.jsonl'))).toBe(false); // nothing went to the file log

    const key = await cli(dir, ['audit', 'public-key']);
    writeFileSync(join(dir, 'config-key.pem'), key.stdout);
    const result = await cli(dir, ['audit', 'verify', '--public-key', 'config-key.pem']);
    expect(result.stdout).toMatch(/^VERIFIED$/m);
    expect(result.code).toBe(0);
  });

  it('tails and queries the chain in the database, and follows records other replicas commit', async () => {
    const seqs = (stdout: string): number[] =>
      stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { seq: number }).seq);
    const query = await cli(dir, ['audit', 'query', '--json', '--request', 'req-3']);
    expect(query.code).toBe(0);
    expect(JSON.parse(query.stdout)).toMatchObject({
      kind: 'intent',
      requestId: 'req-3',
      replica: 'r-00000000000000dd',
    });
    const text = await cli(dir, ['audit', 'query', '--kind', 'intent']);
    expect(text.stderr).toContain('12 record(s)');

    const { rows } = await db.query<{ seq: string }>(
      'SELECT seq FROM audit_records ORDER BY seq DESC LIMIT 3',
    );
    const tail = await cli(dir, ['audit', 'tail', '-n', '3', '--json']);
    expect(tail.code).toBe(0);
    expect(seqs(tail.stdout)).toEqual(rows.map((r) => Number(r.seq)).reverse());

    let out = '';
    const stdout = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString('utf8');
        done();
      },
    });
    const abort = new AbortController();
    const following = auditTail(
      { stdin: new PassThrough(), stdout, stderr: new PassThrough(), cwd: dir },
      {},
      { lines: '1', follow: true, json: true },
      { signal: abort.signal, pollMs: 20 },
    );
    // Once the tail has printed the last record, another replica commits one while it follows.
    for (let i = 0; i < 200 && out === ''; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seqs(out)).toEqual([Number(rows[0]?.seq)]);
    const other = new PostgresAuditLog(db, {
      checkpoint: { every: 1000, interval: 60_000 },
      replica: 'r-00000000000000ee',
    });
    await other.append({ kind: 'intent', requestId: 'req-late', agent: 'bot', action: 'place_order' });
    for (let i = 0; i < 200 && !out.includes('req-late'); i++) await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    await following;
    await other.close();
    const followed = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(followed).toHaveLength(2);
    expect(followed[1]).toMatchObject({ requestId: 'req-late', replica: 'r-00000000000000ee' });
  });

  it('exits 1 naming the tampered row, and a cut-off tail', async () => {
    await db.query(`UPDATE audit_records SET line = replace(line, '"req-3"', '"req-9"') WHERE seq = 4`);
    await db.query('DELETE FROM audit_records WHERE seq > 13');
    const result = await cli(dir, ['audit', 'verify', '--public-key', 'audit-public.pem']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/ERROR +prev-mismatch at audit_records line 6 seq 5:/);
    expect(result.stdout).toMatch(/ERROR +truncated at audit_records line 14 seq 13:/);
    expect(result.stderr).toContain('COFRE_AUDIT_VERIFY_FAILED');
  });

  it('exports the chain to a file that the file verifier accepts, and refuses to overwrite one', async () => {
    const exported = await cli(dir, ['audit', 'export', '--out', 'copy.jsonl']);
    expect(exported.stderr).toContain('16 record(s) written to');
    expect(exported.code).toBe(0);
    expect(statSync(join(dir, 'copy.jsonl')).mode & 0o777).toBe(0o600);
    const lines = readFileSync(join(dir, 'copy.jsonl'), 'utf8').split('\n');
    const { rows } = await db.query<{ line: string }>('SELECT line FROM audit_records ORDER BY seq');
    expect(lines).toEqual([...rows.map((r) => r.line), '']);

    const verified = await cli(dir, [
      'audit',
      'verify',
      '--log',
      'copy.jsonl',
      '--public-key',
      'audit-public.pem',
    ]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^VERIFIED$/m);

    const again = await cli(dir, ['audit', 'export', '--out', 'copy.jsonl']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists');
    expect((await cli(dir, ['audit', 'export'])).stderr).toContain('--out');
  });

  it('refuses to export when the state is SQLite: the audit log is a file already', async () => {
    const config = parseDocument(readFileSync(join(dir, 'cofre.yaml'), 'utf8'));
    config.delete('state');
    writeFileSync(join(dir, 'cofre.yaml'), config.toString());
    const result = await cli(dir, ['audit', 'export', '--out', 'copy.jsonl']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('state.type: postgres');
  });

  it('refuses a database without the cofre schema, saying to migrate', async () => {
    await db.query('DROP TABLE cofre_schema_migrations');
    const result = await cli(dir, ['audit', 'verify']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('cofre state migrate');
    expect(result.stderr).not.toContain(server!.password);
  });
});
