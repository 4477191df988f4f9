import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

import { standInCaFileFor } from './test/key-vault-standin/certificate.js';

// Node reads NODE_EXTRA_CA_CERTS once, at start: set it here, before the worker processes fork, so tests (and the
// `cofre serve` children they spawn with the inherited environment) trust the Key Vault stand-in's certificate.
// A file the user already named there is kept, in a bundle with the stand-in's certificate. Without openssl only
// the stand-in's tests fail (startKeyVaultStandIn throws the same message), not the whole run.
try {
  process.env['NODE_EXTRA_CA_CERTS'] = standInCaFileFor(process.env['NODE_EXTRA_CA_CERTS']);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
}

export default defineConfig({
  // The examples import the client as a user does; in this repository that is the source (tsconfig.json `paths`).
  resolve: {
    alias: [
      {
        find: /^cofre\/client$/,
        replacement: fileURLToPath(new URL('./src/client/index.ts', import.meta.url)),
      },
      {
        find: /^cofre\/client\/(.+)$/,
        replacement: fileURLToPath(new URL('./src/client/$1.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // Secret stores and child-process crash tests are I/O bound; two cores on CI.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
