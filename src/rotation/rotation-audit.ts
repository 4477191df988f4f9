import type { AuditSink } from '../audit/audit-log.js';
import type { RotationRecord, RotationSecret } from './rotation-types.js';

/** The audit actions of a rotation, one per step. */
export type RotationAction =
  'rotate-create' | 'rotate-test' | 'rotate-promote' | 'rotate-fail' | 'rotate-rollback';

/** `account:main` or `secret:local:db/password`, as the audit detail and messages name a target. */
export function targetName(record: Pick<RotationRecord, 'target'>): string {
  return record.target.kind === 'account'
    ? `account:${record.target.account}`
    : `secret:${record.target.reference}`;
}

/**
 * Appends the `operator` record of one rotation step; `requestId` is the rotation id, so `cofre audit query` finds
 * every step of one rotation. With `secret`, the record names that secret and its versions, else every secret's.
 * Resolves once durable: callers that act on a backend append BEFORE acting (fail closed: a step that cannot be
 * recorded is not taken).
 *
 * SECURITY: backends, paths and version ids only; never a value.
 */
export function recordRotationStep(
  audit: AuditSink,
  record: RotationRecord,
  action: RotationAction,
  options: { readonly secret?: RotationSecret; readonly reason?: string } = {},
): Promise<void> {
  const secrets = options.secret === undefined ? record.secrets : [options.secret];
  return audit.append({
    kind: 'operator',
    requestId: record.id,
    agent: '-',
    action,
    ...(record.target.kind === 'account' ? { account: record.target.account } : {}),
    operator: record.by,
    detail: {
      target: targetName(record),
      secrets: secrets.map(describeSecret).join(', '),
      ...(options.secret === undefined
        ? {}
        : {
            backend: options.secret.backend,
            path: options.secret.path,
            ...(options.secret.oldVersion === undefined ? {} : { oldVersion: options.secret.oldVersion }),
            ...(options.secret.newVersion === undefined ? {} : { newVersion: options.secret.newVersion }),
          }),
      ...(options.reason === undefined ? {} : { reason: options.reason }),
    },
  });
}

/** `local:exchanges/main v1→v2` (or `v1→?` before the new version is written). */
export function describeSecret(secret: RotationSecret): string {
  return `${secret.backend}:${secret.path} v${secret.oldVersion ?? '?'}→v${secret.newVersion ?? '?'}`;
}
