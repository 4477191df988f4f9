// Issue 12, `cofre doctor`: each check's findings on real files and the real embedded store, the text and --json
// reports, and the exit code (1 on any FAIL, 0 on warnings alone). Ages are measured at an injected `now` far
// ahead, never by faking the store's dates.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isCofreError } from '../../src/errors.js';
import { doctor, type DoctorOptions } from '../../src/surfaces/cli/doctor.js';
import type { DoctorJson } from '../../src/surfaces/cli/doctor-report.js';
import { leaks, makeCanary } from '../invariants/canary.js';
import { cli, cliProcess, tempDir } from './cli-harness.js';
import { freePort } from './serve-test-tools.js';

const DAY = 86_400_000;

let dir: string;
let remove: () => void;

beforeEach(async () => {
  ({ dir, remove } = tempDir());
  expect((await cli(dir, ['init'])).code).toBe(0);
  // No venue answers there (not `cofre init`'s 8788, where a `cofre paper` of another test or of the user may run):
  // the venue checks only warn, and nothing outside this test changes the report.
  const nowhere = `127.0.0.1:${await freePort()}`;
  editConfig((text) => text.replace('127.0.0.1:8788', nowhere));
  const put = await cli(
    dir,
    ['secret', 'put', 'exchanges/paper', '--field', 'apiKey', '--field', 'secret'],
    'doctorTestKey\ndoctorTestSecret\n',
  );
  expect(put.code).toBe(0);
  // Creates the state file and writes the first audit records.
  expect((await cli(dir, ['agent', 'add', 'bot', '--token-file', 'bot.token'])).code).toBe(0);
});
afterEach(() => {
  remove();
});

/** Runs `cofre doctor --json` in-process with `options`; returns the report and the error it ended with. */
async function doctorJson(
  options: Omit<DoctorOptions, 'json'> = {},
): Promise<{ report: DoctorJson; error: unknown }> {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const io = { stdin: new PassThrough(), stdout, stderr: new PassThrough(), cwd: dir };
  const error = await doctor(io, {}, { ...options, json: true }).then(
    () => undefined,
    (err: unknown) => err,
  );
  return { report: JSON.parse(text) as DoctorJson, error };
}

function finding(report: DoctorJson, check: string, subject: string) {
  const found = report.findings.find((f) => f.check === check && f.subject === subject);
  if (found === undefined) throw new Error(`no ${check} finding about ${subject}: ${JSON.stringify(report)}`);
  return found;
}

function editConfig(edit: (text: string) => string): void {
  const path = join(dir, 'cofre.yaml');
  writeFileSync(path, edit(readFileSync(path, 'utf8')));
}

describe('cofre doctor on a ready installation', () => {
  it('passes every check it can and exits 0, with a summary line', async () => {
    const result = await cli(dir, ['doctor']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const group of [
      'config',
      'references',
      'backends',
      'credential-age',
      'audit',
      'state',
      'hardening',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^${group}$`, 'm'));
    }
    expect(result.stdout).toMatch(/^summary: 0 failed, \d+ warning\(s\), \d+ ok: ready/m);
    expect(result.stdout).toMatch(/ok {4}audit\.hmacKey: local:audit\/hmac-key resolves/);
    expect(result.stdout).toMatch(
      /local: embedded store .*cofre\.store, opened with its key file .*cofre\.key; reachable, 2\/2/,
    );
    expect(result.stdout).toMatch(/cofre-audit\.jsonl: verifies: \d+ records/);
    expect(result.stdout).toMatch(/cofre-state\.db: quick_check ok, schema version \d+/);
  });

  it('--json gives an object with stable fields: config, checkedAt, summary and findings', async () => {
    const result = await cli(dir, ['doctor', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorJson;
    expect(Object.keys(report)).toEqual(['config', 'checkedAt', 'summary', 'findings']);
    expect(report.config).toBe(join(dir, 'cofre.yaml'));
    expect(Object.keys(report.summary)).toEqual(['ok', 'warn', 'fail', 'status']);
    expect(report.summary.fail).toBe(0);
    expect(report.summary.ok + report.summary.warn).toBe(report.findings.length);
    for (const f of report.findings) {
      expect(Object.keys(f)).toEqual(['check', 'subject', 'status', 'message', 'details']);
      expect(['ok', 'warn', 'fail']).toContain(f.status);
    }
    expect(finding(report, 'backends', 'local').details).toMatchObject({
      type: 'embedded',
      reachable: true,
      keySource: 'key-file',
    });
  });
});

describe('cofre doctor references', () => {
  it('fails on a reference that does not resolve, naming it, and exits 1', async () => {
    editConfig((t) => t.replace('local:audit/hmac-key', 'local:audit/gone'));
    const result = await cli(dir, ['doctor']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL {2}audit\.hmacKey: COFRE_SECRET_NOT_FOUND: .*local:audit\/gone/);
    expect(result.stderr).toMatch(
      /COFRE_PREFLIGHT_FAILED: 1 problem found:\n {2}audit\.hmacKey: COFRE_SECRET_NOT_FOUND/,
    );
    const json = await cli(dir, ['doctor', '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as DoctorJson;
    expect(report.summary).toMatchObject({ fail: 1, status: 'fail' });
    expect(finding(report, 'references', 'audit.hmacKey').details).toMatchObject({
      code: 'COFRE_SECRET_NOT_FOUND',
    });
  });

  it('reports a store it cannot open as a failed backend, and its references with the real reason', async () => {
    writeFileSync(join(dir, 'cofre.key'), Buffer.alloc(32, 7), { mode: 0o600 });
    const { report, error } = await doctorJson();
    expect(isCofreError(error, 'COFRE_PREFLIGHT_FAILED')).toBe(true);
    const backend = finding(report, 'backends', 'local');
    expect(backend.status).toBe('fail');
    expect(backend.message).toMatch(/could not be opened: COFRE_/);
    const reference = finding(report, 'references', 'accounts.paper.credentials.apiKey');
    expect(reference.status).toBe('fail');
    expect(reference.details['code']).toBe(backend.details['code']);
  });
});

describe('cofre doctor config', () => {
  it('reports a config that does not load as the one failure, with every problem, and checks nothing else', async () => {
    editConfig((t) =>
      t.replace('venue: binance', 'venue: binanse').replace(/^audit:/m, 'audit:\n  bogus: 1'),
    );
    const { report, error } = await doctorJson();
    expect(isCofreError(error, 'COFRE_PREFLIGHT_FAILED')).toBe(true);
    expect(report.findings).toHaveLength(1);
    const only = report.findings[0];
    expect(only).toMatchObject({ check: 'config', status: 'fail' });
    expect(only?.message).toMatch(/binanse/);
    expect(only?.message).toMatch(/bogus/);
  });
});

describe('cofre doctor credential age', () => {
  it('shows the age of the current version, and warns past rotation.maxAge (default 90 days)', async () => {
    const today = await doctorJson();
    const fresh = finding(today.report, 'credential-age', 'local:exchanges/paper');
    expect(fresh).toMatchObject({ status: 'ok', details: { ageDays: 0, maxAgeDays: 90, version: '1' } });

    const later = await doctorJson({ now: new Date(Date.now() + 200 * DAY) });
    expect(later.error).toBeUndefined();
    const old = finding(later.report, 'credential-age', 'local:exchanges/paper');
    expect(old.status).toBe('warn');
    expect(old.details['ageDays']).toBe(200);
    expect(old.message).toMatch(
      /200 days old \(last rotation\), past rotation\.maxAge \(90 days\): rotate it \(`cofre rotate paper`\)/,
    );
  });

  it('takes rotation.maxAge from the config', async () => {
    editConfig((t) => `${t}\nrotation:\n  maxAge: 365d\n`);
    const { report } = await doctorJson({ now: new Date(Date.now() + 200 * DAY) });
    expect(finding(report, 'credential-age', 'local:exchanges/paper')).toMatchObject({
      status: 'ok',
      details: { ageDays: 200, maxAgeDays: 365 },
    });
  });
});

describe('cofre doctor audit', () => {
  it('fails on an audit log that does not verify (an edited record), pointing at cofre audit verify', async () => {
    const path = join(dir, 'cofre-audit.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[1] = (lines[1] ?? '').replace(/"seq":1/, '"seq":1,"edited":true');
    writeFileSync(path, lines.join('\n'));
    const { report, error } = await doctorJson();
    expect(isCofreError(error, 'COFRE_PREFLIGHT_FAILED')).toBe(true);
    const audit = finding(report, 'audit', path);
    expect(audit.status).toBe('fail');
    expect(audit.message).toMatch(
      /does NOT verify: \d+ error\(s\); first: \S+ at cofre-audit\.jsonl line \d+/,
    );
    expect(audit.details).toMatchObject({ verified: false });
  });

  it('fails when the log cannot be written', async () => {
    const path = join(dir, 'cofre-audit.jsonl');
    chmodSync(path, 0o400);
    const { report } = await doctorJson();
    // root may write anything: then the check rightly passes.
    if (process.getuid?.() === 0) return;
    expect(finding(report, 'audit', path)).toMatchObject({ status: 'fail', details: { writable: false } });
  });
});

describe('cofre doctor state', () => {
  it('fails on a state file that is not a database, and on a schema newer than this cofre', async () => {
    const path = join(dir, 'cofre-state.db');
    const db = new Database(path);
    db.pragma('user_version = 999');
    db.close();
    const newer = await doctorJson();
    expect(finding(newer.report, 'state', path)).toMatchObject({
      status: 'fail',
      details: { schemaVersion: 999 },
    });

    writeFileSync(path, Buffer.alloc(8192, 0x41));
    const garbage = await doctorJson();
    expect(finding(garbage.report, 'state', path).status).toBe('fail');
    expect(garbage.error).toBeDefined();
  });
});

describe('cofre doctor hardening', () => {
  it('warns on a group-readable state file with the chmod to run (exit 0), and fails on a readable key file', async () => {
    const state = join(dir, 'cofre-state.db');
    chmodSync(state, 0o640);
    const loose = await cli(dir, ['doctor']);
    expect(loose.code).toBe(0);
    expect(loose.stdout).toContain(
      `WARN  ${state}: state file is mode 640: its group can read or write it; run \`chmod 600 ${state}\``,
    );

    const key = join(dir, 'cofre.key');
    chmodSync(key, 0o644);
    const open = await cli(dir, ['doctor']);
    expect(open.code).toBe(1);
    expect(open.stdout).toContain(
      `FAIL  ${key}: key file of backend "local" is mode 644: every user can read or write it; run \`chmod 600 ${key}\``,
    );
    // The store refuses such a key file itself, so the backend and its references fail as well.
    expect(open.stderr).toContain(`  ${key}: key file of backend "local" is mode 644`);
    expect(open.stderr).toMatch(/ {2}local: embedded: could not be opened: COFRE_KEY_FILE_INSECURE/);
  });

  it('names an environment variable that looks like a secret, never its value', async () => {
    const canary = makeCanary();
    const env = { EXCHANGE_API_SECRET: canary.value, COFRE_CONFIG: 'cofre.yaml' };
    const text = await cliProcess(dir, ['doctor'], '', env);
    const json = await cliProcess(dir, ['doctor', '--json'], '', env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /WARN {2}environment: 1 variable\(s\) named like a secret: EXCHANGE_API_SECRET\./,
    );
    const report = JSON.parse(json.stdout) as DoctorJson;
    expect(finding(report, 'hardening', 'environment').details).toEqual({ names: 'EXCHANGE_API_SECRET' });
    for (const output of [text.stdout, text.stderr, json.stdout, json.stderr]) {
      expect(leaks(output, canary.encodings)).toEqual([]);
    }
  });
});
