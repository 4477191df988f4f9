import { inCi } from './ci-env.js';
import { PeerUnavailableError } from './peers.js';

/**
 * Starts a peer for an integration test file, at module level (`const bao = await peerOrSkip('OpenBao', startOpenBao)`),
 * so the file can `describe.skipIf(bao === undefined)`.
 *
 * A peer that is not installed fails the run in CI (any non-empty `CI`, see {@link inCi}): a missing peer must never
 * pass as a skip there. Elsewhere (a laptop without Python, say) the tests are skipped with a loud message naming
 * what is missing. A peer that is installed but does not start is always an error.
 */
export async function peerOrSkip<T>(
  name: string,
  start: () => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T | undefined> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof PeerUnavailableError && !inCi(env)) {
      process.stderr.write(
        `\n!!! ${name} is not installed, so its integration tests are SKIPPED: ${err.message}\n!!! In CI this fails the run.\n\n`,
      );
      return undefined;
    }
    throw err;
  }
}
