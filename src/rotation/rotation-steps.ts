import { CofreError, type ErrorCode, isCofreError } from '../errors.js';
import type { SecretValue } from '../secrets/secret-value.js';
import { describeSecret, recordRotationStep, targetName } from './rotation-audit.js';
import type { RotationContext } from './rotation-context.js';
import type { RotationRecord, RotationSecret } from './rotation-types.js';

/** The steps of the protocol as the operator counts them: create, set, test, promote. */
export const STEP_COUNT = 4;

/** Stores `record` updated with `change` and the current time; returns the stored record. */
export async function save(
  context: RotationContext,
  record: RotationRecord,
  change: Partial<RotationRecord>,
): Promise<RotationRecord> {
  const next: RotationRecord = { ...record, ...change, updatedAt: context.now() };
  await context.store.updateRotation(next);
  return next;
}

/**
 * Step 1: writes each secret's new value as `pending` and records its version after each write. `valueFor(i)` makes
 * the value of `record.secrets[i]`; the caller owns it and this zeroes it once written. SECURITY: the
 * `rotate-create` record is durable before the write (fail closed).
 */
export async function writePending(
  context: RotationContext,
  start: RotationRecord,
  valueFor: (index: number) => Promise<SecretValue>,
): Promise<RotationRecord> {
  let record = start;
  for (const [index, secret] of record.secrets.entries()) {
    if (secret.newVersion !== undefined) continue;
    await recordRotationStep(context.audit, record, 'rotate-create', { secret });
    const value = await valueFor(index);
    let version: string;
    try {
      version = await context.backend(secret.backend).write(secret.path, value, { stage: 'pending' });
    } finally {
      value.zero();
    }
    await context.onStep({ rotation: record.id, step: 'pending-written', message: undefined });
    const secrets = record.secrets.map((s, i) => (i === index ? { ...s, newVersion: version } : s));
    record = await save(context, record, { secrets });
    await context.onStep({
      rotation: record.id,
      step: 'pending-recorded',
      message: `1/${STEP_COUNT} pending version written (${secret.backend}:${secret.path} v${version})`,
    });
  }
  return record;
}

/**
 * Step 3 around `test`: records `rotate-test` before it runs (fail closed: nothing reaches the venue unrecorded),
 * then marks the rotation `tested`, or `failed` (pending cleared) with the reason `test` gives.
 */
export async function runTest(
  context: RotationContext,
  record: RotationRecord,
  what: string,
  test: () => Promise<string | undefined>,
): Promise<RotationRecord> {
  await recordRotationStep(context.audit, record, 'rotate-test');
  let problem: string | undefined;
  try {
    problem = await test();
  } catch (err) {
    if (!isCofreError(err) || !err.retryable) throw err;
    // The key was not judged (venue or backend unreachable): the rotation stays `created`, to be tested again.
    throw new CofreError(
      err.code,
      `${err.message}; rotation ${record.id} was not tested, try again with: cofre rotate --resume ${record.id}`,
      { cause: err, details: { rotation: record.id } },
    );
  }
  if (problem !== undefined) return failRotation(context, record, problem, 'COFRE_ROTATION_TEST_FAILED');
  const tested = save(context, record, { status: 'tested' });
  await context.onStep({ rotation: record.id, step: 'tested', message: `3/${STEP_COUNT} tested: ${what}` });
  return tested;
}

/**
 * Step 4: moves each secret's `current` to its new version (the backend makes the old one `previous`), then marks
 * the rotation `promoted`. Idempotent: a secret whose `current` already is the new version is skipped, so a resume
 * after a crash in the middle finishes the rest. A secret whose `current` changed under the rotation (someone wrote
 * a version meanwhile) is never overwritten: the rotation fails instead, if nothing was promoted yet.
 * SECURITY: each `rotate-promote` record is durable before its move (fail closed).
 */
export async function promote(context: RotationContext, start: RotationRecord): Promise<RotationRecord> {
  let moved = 0;
  for (const secret of start.secrets) {
    const backend = context.backend(secret.backend);
    const { stages } = await backend.describe(secret.path);
    if (stages.current === secret.newVersion) {
      moved++;
      continue;
    }
    if (stages.current !== secret.oldVersion || stages.pending !== secret.newVersion) {
      const reason = `${secret.backend}:${secret.path} changed during the rotation (current v${stages.current ?? '-'}, pending v${stages.pending ?? '-'})`;
      if (moved === 0) return failRotation(context, start, reason, 'COFRE_ROTATION_INVALID');
      throw new CofreError(
        'COFRE_ROTATION_INVALID',
        `rotation ${start.id}: ${reason}, after other secrets were promoted; inspect with cofre secret versions, then cofre rotate --resume ${start.id}`,
      );
    }
    await recordRotationStep(context.audit, start, 'rotate-promote', { secret });
    await backend.moveStage(secret.path, 'current', secret.newVersion ?? '');
    context.invalidate(secret.backend, secret.path);
    moved++;
    await context.onStep({ rotation: start.id, step: 'promoted-secret', message: undefined });
  }
  const at = context.now();
  const record = await save(context, start, { status: 'promoted', promotedAt: at });
  const versions = record.secrets.map(describeSecret).join(', ');
  await context.onStep({
    rotation: record.id,
    step: 'promoted',
    message: `${STEP_COUNT}/${STEP_COUNT} promoted: ${versions} (new current, old previous)`,
  });
  return record;
}

/**
 * Ends a rotation as failed and throws `code` with `reason`: the record says `failed` first (so no resume can test
 * or promote it again), then each secret's `pending` is cleared (the new version stays in the backend's history,
 * unstaged). Idempotent: {@link clearPending} runs again on a resume of a `failed` rotation. The `rotate-fail`
 * record is best effort: failing is the safe direction and is never held back by the audit log.
 */
export async function failRotation(
  context: RotationContext,
  start: RotationRecord,
  reason: string,
  code: ErrorCode,
): Promise<never> {
  const unrecorded = await recordRotationStep(context.audit, start, 'rotate-fail', { reason }).then(
    () => '',
    () => ' (the audit log could not record this failure)',
  );
  const record = await save(context, start, { status: 'failed', error: reason });
  const cleared = await clearPending(context, record).then(
    () => 'the pending version was removed',
    (err: unknown) =>
      `the pending version could not be removed yet (${isCofreError(err) ? err.code : 'error'}; it is never made current: cofre rotate --resume ${record.id} removes it)`,
  );
  await context.onStep({ rotation: record.id, step: 'failed', message: undefined });
  throw new CofreError(
    code,
    `rotation ${record.id} of ${targetName(record)} failed: ${reason}; nothing was promoted, ${cleared}, and the old version stays current${unrecorded}`,
    { details: { rotation: record.id } },
  );
}

/**
 * Takes `pending` off each secret of a failed rotation where it still points at this rotation's version, or where
 * the version was written but never recorded (a crash between the write and the record). A pending version that
 * is already current (promoted) is left alone.
 */
export async function clearPending(context: RotationContext, record: RotationRecord): Promise<void> {
  for (const secret of record.secrets) {
    const backend = context.backend(secret.backend);
    const { stages } = await backend.describe(secret.path);
    if (stages.pending === undefined || stages.pending === stages.current) continue;
    if (secret.newVersion === undefined || stages.pending === secret.newVersion) {
      await backend.clearStage(secret.path, 'pending');
    }
  }
}

/** Whether every secret's `pending` points at the version this rotation wrote (checked on resume). */
export async function pendingIntact(
  context: RotationContext,
  secrets: readonly RotationSecret[],
): Promise<boolean> {
  for (const secret of secrets) {
    const { stages } = await context.backend(secret.backend).describe(secret.path);
    if (secret.newVersion === undefined || stages.pending !== secret.newVersion) return false;
    if (stages.current !== secret.oldVersion) return false;
  }
  return true;
}
