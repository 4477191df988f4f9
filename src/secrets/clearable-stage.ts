import { CofreError } from '../errors.js';
import type { Stage } from './secret-reference.js';

/** The stages `SecretBackend.clearStage` takes off a version: every stage but `current`. */
export type ClearableStage = Exclude<Stage, 'current'>;

/**
 * Checks at run time what the type of `SecretBackend.clearStage` already says, for JavaScript callers and
 * stages read from argv or JSON: only `pending` and `previous` can be cleared. `COFRE_INPUT_INVALID` otherwise.
 *
 * SECURITY: clearing `current` would leave a secret with no live version, so every reader (the broker signing
 * orders) would fail at once; a rotation rolls back with `moveStage` instead.
 */
export function assertClearableStage(stage: unknown): asserts stage is ClearableStage {
  if (stage === 'pending' || stage === 'previous') return;
  throw new CofreError(
    'COFRE_INPUT_INVALID',
    stage === 'current'
      ? 'the current stage cannot be cleared (a secret must keep a live version); move it with moveStage instead'
      : 'unknown stage to clear; expected pending or previous',
  );
}
