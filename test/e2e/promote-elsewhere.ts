// Issue 12, the rotation tests' one promotion step, done as another process would: a second instance of the
// embedded store on the same file writes the new venue key as `pending`, then promotes it to `current`. The running
// broker learns of it only by polling (`secrets/current-version-watcher.ts`).
// TODO(lead): once `cofre rotate` is merged, replace the body with `cofre rotate paper --from-file <file>` run on
// the fixture's config (the CLI harness), keeping this signature.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
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
 * Makes `key` the current credentials of the fixture's `paper` account (`local:exchanges/paper`), from outside
 * the served broker's process state; returns the version promoted.
 */
export async function promoteElsewhere(fx: ServedFixture, key: VenueKey): Promise<string> {
  const store = await EmbeddedBackend.open(join(fx.dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(fx.dir, 'cofre.key'),
  });
  try {
    const value = SecretValue.fromText(JSON.stringify(key));
    const version = await store.write('exchanges/paper', value, { stage: 'pending' });
    value.zero();
    await store.moveStage('exchanges/paper', 'current', version);
    return version;
  } finally {
    await store.close();
  }
}
