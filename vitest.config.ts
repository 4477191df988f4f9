import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // Secret stores and child-process crash tests are I/O bound; two cores on CI.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
