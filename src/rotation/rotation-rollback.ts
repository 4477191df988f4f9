import { randomBytes } from 'node:crypto';

import { CofreError } from '../errors.js';
import { recordRotationStep, targetName } from './rotation-audit.js';
import type { RotationContext } from './rotation-context.js';
import { planAccountSecrets, rotatableReference } from './rotation-plan.js';
import type { RotationRecord, RotationSecret } from './rotation-types.js';

/**
 * `cofre rotate <account> --rollback`: moves each secret's `current` back to the version that was current before the
 * last promoted rotation of `target` (or, with no rotation on record, to the backend's `previous`), and records it
 * as a rotation with status `rolled-back` (its `oldVersion`: what was current; `newVersion`: what is current now).
 *
 * Idempotent when a promoted rotation is on record: a secret already back at its target is skipped, so running it
 * again after a crash finishes the rest. Refused while a rotation of the target is unfinished (resume it first), and
 * when the last rotation of the target already was rolled back.
 * SECURITY: each `rotate-rollback` record is durable before its move (fail closed).
 */
export async function rollbackRotation(
  context: RotationContext,
  target: RotationRecord['target'],
): Promise<RotationRecord> {
  const name = targetName({ target });
  const sameTarget = (r: RotationRecord): boolean => targetName(r) === name;
  const running = (await context.store.rotations({ active: true })).find(sameTarget);
  if (running !== undefined) {
    throw new CofreError(
      'COFRE_ROTATION_IN_PROGRESS',
      `rotation ${running.id} of ${name} has not ended; finish it with: cofre rotate --resume ${running.id}`,
      { details: { rotation: running.id } },
    );
  }
  const last = (await context.store.rotations()).find(
    (r) => sameTarget(r) && (r.status === 'promoted' || r.status === 'rolled-back'),
  );
  if (last?.status === 'rolled-back') {
    throw new CofreError(
      'COFRE_ROTATION_INVALID',
      `the last rotation of ${name} was already rolled back (${last.id}); nothing to roll back`,
    );
  }
  const targets = last === undefined ? await fromPrevious(context, target) : fromRecord(last);
  const now = context.now();
  const record: RotationRecord = {
    id: `rot_${randomBytes(9).toString('base64url')}`,
    target,
    status: 'rolled-back',
    secrets: [],
    by: context.by,
    startedAt: now,
    updatedAt: now,
  };
  const secrets: RotationSecret[] = [];
  for (const { backend: name, path, version } of targets) {
    const backend = context.backend(name);
    const { stages } = await backend.describe(path);
    const secret = { backend: name, path, oldVersion: stages.current, newVersion: version };
    secrets.push(secret);
    if (stages.current === version) continue;
    await recordRotationStep(context.audit, record, 'rotate-rollback', { secret });
    await backend.moveStage(path, 'current', version);
    context.invalidate(name, path);
  }
  const done = { ...record, secrets, updatedAt: context.now() };
  await context.store.createRotation(done);
  await context.onStep({ rotation: done.id, step: 'rolled-back', message: undefined });
  return done;
}

interface RollbackTarget {
  readonly backend: string;
  readonly path: string;
  readonly version: string;
}

function fromRecord(last: RotationRecord): RollbackTarget[] {
  return last.secrets.map((s) => {
    if (s.oldVersion === undefined) {
      throw new CofreError(
        'COFRE_ROTATION_INVALID',
        `${s.backend}:${s.path} had no current version before rotation ${last.id}; nothing to roll back to`,
      );
    }
    return { backend: s.backend, path: s.path, version: s.oldVersion };
  });
}

async function fromPrevious(
  context: RotationContext,
  target: RotationRecord['target'],
): Promise<RollbackTarget[]> {
  const secrets =
    target.kind === 'account'
      ? planAccountSecrets(context.config, target.account)
      : [rotatableReference(target.reference, target.reference)];
  const targets: RollbackTarget[] = [];
  for (const { backend, path } of secrets) {
    const { stages } = await context.backend(backend).describe(path);
    if (stages.previous === undefined) {
      throw new CofreError(
        'COFRE_ROTATION_INVALID',
        `${backend}:${path} has no previous version to roll back to`,
      );
    }
    targets.push({ backend, path, version: stages.previous });
  }
  return targets;
}
