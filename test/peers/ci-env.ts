/**
 * Whether the tests run in CI, where a missing peer must fail the run instead of skipping its tests.
 *
 * Any non-empty `CI` counts, as CI services set it to different values (`true`, `1`, `yes`): a check for the one
 * string `true` let `CI=1` pass a missing peer as a skip. `scripts/peers/prepare.sh` uses the same rule.
 */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env['CI'] ?? '') !== '';
}
