// Must show (issue 12): kill -9 after each step of a rotation, resume, always a valid end state: either the old
// key current and no pending version (`failed`), or the new key current and the old one previous (`promoted`).
// The rotation runs in a child process exactly as `cofre rotate` does (embedded store, state file, audit log on
// disk, the paper exchange through ccxt), which SIGKILLs itself right after its N-th progress point, for every N;
// this process then resumes it (`cofre rotate --resume`) and checks the backend's stage pointers and the record.
// A second series does the same with a key the exchange refuses: resumed, it is never promoted.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CofreConfig } from '../../src/config/config-schema.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { PaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { RotationEngine } from '../../src/rotation/rotation-engine.js';
import type { RotationRecord } from '../../src/rotation/rotation-types.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { openRotationContext } from '../../src/surfaces/cli/rotate.js';
import { tempDir } from '../cli/cli-harness.js';
import { CRASH_KEYS, startCrashExchange, writeBrokerDir } from './audit-crash-fixture.js';

const CHILD = fileURLToPath(new URL('./rotation-kill9-child.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const NEW_KEYS = { apiKey: 'rotatedcrashkey0123456789', secret: 'rotated-crash-secret-0123' };
const REFUSED_KEYS = { apiKey: 'refusedcrashkey0123456789', secret: 'refused-crash-secret-0123' };

let exchange: PaperExchange;
let root: { dir: string; remove: () => void };

beforeAll(async () => {
  root = tempDir();
  exchange = await startCrashExchange();
  exchange.addApiKey(CRASH_KEYS.apiKey, NEW_KEYS);
});

afterAll(async () => {
  await exchange.stop();
  root.remove();
});

/** Runs the child in a fresh broker folder until it kills itself (or ends); returns the folder and its output. */
async function crashRun(
  name: string,
  keys: object,
  crashAfter: number,
): Promise<{ configPath: string; output: string; signal: string | null }> {
  const dir = join(root.dir, name);
  mkdirSync(dir);
  const configPath = await writeBrokerDir(dir, exchange.url, 'audit.jsonl');
  const child = spawn(process.execPath, ['--import', TSX, CHILD, configPath, 'paper', String(crashAfter)], {
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(JSON.stringify(keys));
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  return { configPath, output, signal };
}

/** Resumes the rotation the killed child left (as `cofre rotate --resume` does); the record and the stages after. */
async function resumeAndInspect(configPath: string): Promise<{
  interrupted: RotationRecord | undefined;
  ended: RotationRecord | undefined;
  stages: Record<string, string | undefined>;
  current: unknown;
}> {
  const config = await loadConfig(configPath);
  const peek = new SqliteStateStore(sqlitePath(config));
  const [interrupted] = peek.rotations();
  peek.close();
  const opened = await openRotationContext(config, {
    onStep: () => undefined,
    onWarning: () => undefined,
  });
  let ended: RotationRecord | undefined;
  try {
    if (interrupted !== undefined) {
      ended = await new RotationEngine(opened.context)
        .resume(interrupted.id)
        .catch(() => opened.context.store.rotation(interrupted.id));
    }
  } finally {
    await opened.close();
  }
  const dir = join(configPath, '..');
  const store = await EmbeddedBackend.open(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  try {
    const stages = { ...(await store.describe('exchanges/paper')).stages };
    const current: unknown = JSON.parse(
      (await store.read('exchanges/paper', { kind: 'latest' })).value.text(),
    );
    return { interrupted, ended, stages, current };
  } finally {
    await store.close();
  }
}

describe('kill -9 during a rotation, then resume', () => {
  it('counts the progress points of a whole rotation', async () => {
    const run = await crashRun('whole', NEW_KEYS, 0);
    expect(run.output).toContain('points 7');
  });

  for (let crashAfter = 1; crashAfter <= 7; crashAfter++) {
    it(`ends valid after a kill at point ${crashAfter}: failed with the old key, or promoted with the new`, async () => {
      const run = await crashRun(`accepted-${crashAfter}`, NEW_KEYS, crashAfter);
      expect(run.signal, run.output).toBe('SIGKILL');
      const { interrupted, ended, stages, current } = await resumeAndInspect(run.configPath);
      expect(interrupted, run.output).toBeDefined();
      if (ended?.status === 'promoted') {
        expect(stages).toEqual({ current: ended.secrets[0]?.newVersion, previous: '1' });
        expect(current).toEqual(NEW_KEYS);
      } else {
        expect(ended?.status).toBe('failed');
        expect(stages).toEqual({ current: '1' });
        expect(current).toEqual(CRASH_KEYS);
      }
      // Once every pending version is on record, nothing is lost: the resume promotes.
      if (crashAfter >= 3) expect(ended?.status).toBe('promoted');
    });
  }

  for (let crashAfter = 1; crashAfter <= 5; crashAfter++) {
    it(`never promotes a refused key, killed at point ${crashAfter} and resumed`, async () => {
      const run = await crashRun(`refused-${crashAfter}`, REFUSED_KEYS, crashAfter);
      const { ended, stages, current } = await resumeAndInspect(run.configPath);
      expect(ended?.status, run.output).toBe('failed');
      expect(stages).toEqual({ current: '1' });
      expect(current).toEqual(CRASH_KEYS);
    });
  }
});

/** The SQLite state file of a config this test wrote (it never configures PostgreSQL). */
function sqlitePath(config: CofreConfig): string {
  if (config.state.type !== 'sqlite') throw new Error('this test runs on SQLite state');
  return config.state.path;
}
