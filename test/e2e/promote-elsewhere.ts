// Issue 12, the rotation tests' one promotion step, done as an operator does it: `cofre rotate paper` in a process of
// its own, the new key piped on stdin, against the fixture's config (its test step signs a balance read with the new
// key at the paper exchange, then promotes). The running broker learns of it only by polling
// (`secrets/current-version-watcher.ts`).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { cliProcess } from '../cli/cli-harness.js';
import type { ServedFixture } from './served-broker.js';

/** A venue API key and its secret, as a person creates them on the venue's site. */
export interface VenueKey {
  readonly apiKey: string;
  readonly secret: string;
}

/** A new random key for the paper exchange (API keys there are letters and digits). */
export function newVenueKey(): VenueKey {
  return { apiKey: `Rotated${randomBytes(16).toString('hex')}`, secret: randomBytes(32).toString('hex') };
}

/**
 * Makes `key` the current credentials of the fixture's `account` (all of them read `local:exchanges/paper`) with
 * `cofre rotate`, from outside the served broker's process; returns the version promoted.
 */
export async function promoteElsewhere(fx: ServedFixture, key: VenueKey, account = 'paper'): Promise<string> {
  const rotated = await cliProcess(fx.dir, ['rotate', account], JSON.stringify(key));
  if (rotated.code !== 0) throw new Error(`cofre rotate ${account} failed: ${rotated.stderr}`);
  const store = await EmbeddedBackend.open(join(fx.dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(fx.dir, 'cofre.key'),
  });
  try {
    const current = (await store.describe('exchanges/paper')).stages.current;
    if (current === undefined) throw new Error('cofre rotate left exchanges/paper without a current version');
    return current;
  } finally {
    await store.close();
  }
}
