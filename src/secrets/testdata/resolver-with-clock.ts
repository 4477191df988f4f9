import type { SecretBackend } from '../secret-backend.js';
import { SecretResolver } from '../secret-resolver.js';

/** The cache policy the resolver tests use: a 1 s TTL, served stale for 5 s more while the backend fails. */
export const TEST_CACHE_POLICY = { ttlMs: 1_000, staleIfErrorMs: 5_000 } as const;

/** A resolver over `backend` (named `local`) on a clock the test moves by hand. */
export function resolverWithClock<Backend extends SecretBackend>(
  backend: Backend,
): { backend: Backend; resolver: SecretResolver; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const resolver = new SecretResolver({
    backends: [backend],
    cache: { [backend.name]: TEST_CACHE_POLICY },
    now: () => clock.now,
  });
  return { backend, resolver, clock };
}
