import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The peer scripts (scripts/peers, test/peers) are groundwork for the Vault, AWS and Azure backends; their test
    // joins `npm test` together with the first backend that needs a peer, and the install step with it.
    exclude: ['test/peers/**', '**/node_modules/**'],
    // Secret stores and child-process crash tests are I/O bound; two cores on CI.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
