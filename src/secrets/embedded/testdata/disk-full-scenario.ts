/**
 * Child process for the disk-full test, run by `embedded-disk-full.test.ts` inside a private mount namespace with a
 * small tmpfs mounted at argv[2]; argv[3] is a key file outside it. Fills the filesystem, attempts a write, and
 * prints one line `result <json>` describing what it observed; the test makes the assertions.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { SecretValue } from '../../secret-value.js';
import { EmbeddedBackend } from '../embedded-backend.js';

const [dir = '', keyFile = ''] = process.argv.slice(2);
const store = join(dir, 'store.cofre');
const backend = await EmbeddedBackend.create(store, { kind: 'key-file', path: keyFile });
const written = new Map<string, Buffer>();
for (let i = 0; i < 5; i++) {
  const value = randomBytes(8 * 1024);
  written.set(`old/${i}`, value);
  await backend.write(`old/${i}`, SecretValue.copyOf(value));
}
const before = await readFile(store);

// Fill the filesystem, then give back 12 KiB: room for the lock file (one page), not for a ~49 KiB new store.
const filler = join(dir, 'filler');
const handle = await open(filler, 'w');
const chunk = Buffer.alloc(64 * 1024, 0x55);
let fillError = '';
for (;;) {
  try {
    await handle.write(chunk);
  } catch (err) {
    fillError = (err as NodeJS.ErrnoException).code ?? String(err);
    break;
  }
}
const filled = (await handle.stat()).size;
await handle.truncate(Math.max(0, filled - 12 * 1024));
await handle.close();

const failure = await backend.write('new/secret', SecretValue.copyOf(randomBytes(8 * 1024))).then(
  () => undefined,
  (err: unknown) => err as { code?: string; details?: Record<string, unknown>; message?: string },
);
const namesAfterFailure = (await readdir(dir)).sort();
const unchanged = (await readFile(store)).equals(before);
const reopened = await EmbeddedBackend.open(store, { kind: 'key-file', path: keyFile });
let valuesIntact = (await reopened.list()).join(',') === [...written.keys()].join(',');
for (const [path, value] of written) {
  valuesIntact &&= (await reopened.read(path, { kind: 'latest' })).value.bytes().equals(value);
}

// With space back, the same write succeeds.
await unlink(filler);
const recovered = await backend.write('new/secret', SecretValue.fromText('fits now')).then(
  (version) => version === '1',
  () => false,
);

process.stdout.write(
  `result ${JSON.stringify({
    fillError,
    failure: failure && { code: failure.code, errno: failure.details?.errno, message: failure.message },
    namesAfterFailure,
    unchanged,
    valuesIntact,
    recovered,
  })}\n`,
);
