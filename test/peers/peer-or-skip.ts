import { PeerUnavailableError } from './peers.js';

/**
 * Starts a peer for an integration test file, at module level (`const bao = await peerOrSkip('OpenBao', startOpenBao)`),
 * so the file can `describe.skipIf(bao === undefined)`.
 *
 * A peer that is not installed fails the run in CI (`CI=true`): a missing peer must never pass as a skip there.
 * Elsewhere (a laptop without Java 25, say) the tests are skipped with a loud message naming what is missing.
 * A peer that is installed but does not start is always an error.
 */
export async function peerOrSkip<T>(name: string, start: () => Promise<T>): Promise<T | undefined> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof PeerUnavailableError && process.env.CI !== 'true') {
      process.stderr.write(
        `\n!!! ${name} is not installed, so its integration tests are SKIPPED: ${err.message}\n!!! In CI this fails the run.\n\n`,
      );
      return undefined;
    }
    throw err;
  }
}
