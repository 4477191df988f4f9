import { CofreError } from '../errors.js';
import type { RotationRecord } from '../rotation/rotation-types.js';

// What both state stores decide the same way about rotations (issue 12; PostgreSQL, issue 16).

/** The rotation's target as the stores index it: its kind and its account id or secret reference. */
export function rotationTargetKey(record: RotationRecord): readonly ['account' | 'secret', string] {
  return record.target.kind === 'account'
    ? ['account', record.target.account]
    : ['secret', record.target.reference];
}

/** `COFRE_ROTATION_IN_PROGRESS`: another rotation of the same target (`running`) has not ended. */
export function rotationInProgress(record: RotationRecord, running: string): CofreError {
  const [kind, target] = rotationTargetKey(record);
  return new CofreError(
    'COFRE_ROTATION_IN_PROGRESS',
    `rotation ${running} of ${kind} "${target}" has not ended; finish it with: cofre rotate --resume ${running}`,
    { details: { rotation: running } },
  );
}
