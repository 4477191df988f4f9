import { join } from 'node:path';

import { exerciseSecretBackend } from '../../testing/exercise-secret-backend.js';
import { EmbeddedBackend } from './embedded-backend.js';
import { makeTempDir, removeTempDirs } from './testdata/temp-dirs.js';

exerciseSecretBackend('embedded (key file)', async () => {
  const dir = await makeTempDir();
  const backend = await EmbeddedBackend.create(join(dir, 'store.cofre'), {
    kind: 'key-file',
    path: join(dir, 'store.key'),
  });
  return { backend, cleanup: removeTempDirs };
});

exerciseSecretBackend('embedded (passphrase)', async () => {
  const dir = await makeTempDir();
  const backend = await EmbeddedBackend.create(
    join(dir, 'store.cofre'),
    { kind: 'passphrase-prompt', prompt: () => Promise.resolve(Buffer.from('conformance passphrase')) },
    { scrypt: { N: 1024 } },
  );
  return { backend, cleanup: removeTempDirs };
});
