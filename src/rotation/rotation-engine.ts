import { randomBytes } from 'node:crypto';

import { CofreError, isCofreError } from '../errors.js';
import type { SecretReference } from '../secrets/secret-reference.js';
import { SecretValue } from '../secrets/secret-value.js';
import { type NewCredentials, newSecretValue, replaceFields } from './new-credentials.js';
import type { RotationContext } from './rotation-context.js';
import {
  CREDENTIAL_FIELDS,
  type CredentialField,
  planAccountSecrets,
  type PlannedSecret,
  rotatableReference,
} from './rotation-plan.js';
import {
  clearPending,
  failRotation,
  pendingIntact,
  promote,
  runTest,
  STEP_COUNT,
  writePending,
} from './rotation-steps.js';
import type { RotationRecord } from './rotation-types.js';
import { readPending, testAccountCredentials, valueHash } from './rotation-venue-test.js';

/** Bytes of a generated secret when `--bytes` is not given: 256 bits. */
export const DEFAULT_GENERATED_BYTES = 32;

/**
 * Rotates secrets by issue 12's protocol (create a pending version, set, test, promote; see rotation-types.ts),
 * keeping a {@link RotationRecord} so that every step is idempotent and a rotation interrupted anywhere (kill -9)
 * ends, on {@link RotationEngine.resume}, either failed (old version current, no pending) or promoted (new version
 * current, old previous). Resume reads the backend's stage pointers, not only the record.
 *
 * SECURITY: the new credentials live only in the caller's memory and the backend: never in the record, the audit
 * log, a message or progress. So a rotation interrupted before every pending version was written cannot be
 * completed later: resume ends it as failed. Not safe to run two rotations of one target at once: the store
 * refuses the second (`COFRE_ROTATION_IN_PROGRESS`).
 */
export class RotationEngine {
  readonly #context: RotationContext;

  constructor(context: RotationContext) {
    this.#context = context;
  }

  /** Rotates an account's credentials to `credentials` (exactly {@link accountCredentialFields}); zeroes none. */
  async rotateAccount(accountId: string, credentials: NewCredentials): Promise<RotationRecord> {
    const planned = planAccountSecrets(this.#context.config, accountId);
    let record = await this.#begin({ kind: 'account', account: accountId }, planned);
    record = await this.#writeOrFail(record, async (i) => {
      const secret = planned[i] as PlannedSecret;
      const current = await this.#readVersion(secret, record.secrets[i]?.oldVersion);
      try {
        return newSecretValue(secret, credentials, current);
      } finally {
        current?.zero();
      }
    });
    return this.#testAccountAndPromote(record, accountId);
  }

  /**
   * Rotates one secret to a random value of `bytes` bytes (base64url text), written where `reference` points (its
   * `#field` only, other fields kept); tested by reading the pending version back and comparing hashes.
   */
  async rotateGenerated(reference: string, bytes = DEFAULT_GENERATED_BYTES): Promise<RotationRecord> {
    if (!Number.isInteger(bytes) || bytes < 16 || bytes > 1024) {
      throw new CofreError(
        'COFRE_ROTATION_INVALID',
        `--bytes must be a whole number from 16 to 1024, got ${bytes}`,
      );
    }
    const ref = rotatableReference(reference, `--secret ${reference}`);
    const planned: PlannedSecret = { backend: ref.backend, path: ref.path, fields: new Map() };
    let record = await this.#begin({ kind: 'secret', reference }, [planned]);
    const generated = SecretValue.fromText(randomBytes(bytes).toString('base64url'));
    try {
      const expected = valueHash(generated);
      record = await this.#writeOrFail(record, async () => {
        if (ref.field === undefined) return generated.clone();
        const current = await this.#readVersion(planned, record.secrets[0]?.oldVersion);
        try {
          return replaceFields(`${ref.backend}:${ref.path}`, current, { [ref.field]: generated.text() });
        } finally {
          current?.zero();
        }
      });
      await this.#set(record);
      record = await runTest(this.#context, record, 'the pending version reads back as written', async () => {
        const read = await readPending(this.#context, ref);
        try {
          return valueHash(read) === expected
            ? undefined
            : 'the pending version does not read back as written';
        } finally {
          read.zero();
        }
      });
    } finally {
      generated.zero();
    }
    return promote(this.#context, record);
  }

  /**
   * Carries an interrupted rotation to a valid end (see the class comment): `created` with every pending version
   * written and intact is tested and promoted (an account's; a generated secret's value is not kept, so it fails);
   * `created` with a version missing fails (`COFRE_ROTATION_INTERRUPTED`); `tested` is promoted; `failed` has its
   * pending versions cleared again; other ends are returned as they are.
   */
  async resume(id: string): Promise<RotationRecord> {
    const record = await this.#context.store.rotation(id);
    if (record === undefined) {
      throw new CofreError('COFRE_ROTATION_NOT_FOUND', `no rotation ${id}; see cofre rotate --status`);
    }
    switch (record.status) {
      case 'promoted':
      case 'rolled-back':
        return record;
      case 'failed':
        await clearPending(this.#context, record);
        return record;
      case 'tested':
        return promote(this.#context, record);
      case 'created':
        return this.#resumeCreated(record);
    }
  }

  async #resumeCreated(record: RotationRecord): Promise<RotationRecord> {
    if (record.secrets.some((s) => s.newVersion === undefined)) {
      return failRotation(
        this.#context,
        record,
        'it was interrupted before every pending version was written, and cofre keeps no copy of the new credentials: run cofre rotate again',
        'COFRE_ROTATION_INTERRUPTED',
      );
    }
    if (!(await pendingIntact(this.#context, record.secrets))) {
      return failRotation(
        this.#context,
        record,
        'the stage pointers changed since the rotation wrote its pending versions',
        'COFRE_ROTATION_INVALID',
      );
    }
    if (record.target.kind === 'secret') {
      return failRotation(
        this.#context,
        record,
        'it was interrupted before its test, and the generated value is not kept to test against: run cofre rotate again',
        'COFRE_ROTATION_INTERRUPTED',
      );
    }
    const planned = planAccountSecrets(this.#context.config, record.target.account);
    const same =
      planned.length === record.secrets.length &&
      planned.every((p, i) => {
        const secret = record.secrets[i];
        return p.backend === secret?.backend && p.path === secret.path;
      });
    if (!same) {
      return failRotation(
        this.#context,
        record,
        'the account references other secrets than when the rotation started',
        'COFRE_ROTATION_INVALID',
      );
    }
    return this.#testAccountAndPromote(record, record.target.account);
  }

  /** Checks every backend can stage versions, reads each secret's current version, and stores the new record. */
  async #begin(target: RotationRecord['target'], planned: readonly PlannedSecret[]): Promise<RotationRecord> {
    const secrets = [];
    for (const secret of planned) {
      const backend = this.#context.backend(secret.backend);
      if (!backend.capabilities.stages || !backend.capabilities.write) {
        throw new CofreError(
          'COFRE_ROTATION_INVALID',
          `backend "${secret.backend}" (${backend.type}) cannot stage versions, so ${secret.backend}:${secret.path} cannot be rotated without downtime`,
        );
      }
      const { stages } = await backend.describe(secret.path);
      secrets.push({
        backend: secret.backend,
        path: secret.path,
        oldVersion: stages.current,
        newVersion: undefined,
      });
    }
    const now = this.#context.now();
    const record: RotationRecord = {
      id: `rot_${randomBytes(9).toString('base64url')}`,
      target,
      status: 'created',
      secrets,
      by: this.#context.by,
      startedAt: now,
      updatedAt: now,
    };
    await this.#context.store.createRotation(record);
    await this.#context.onStep({ rotation: record.id, step: 'created', message: undefined });
    return record;
  }

  /**
   * Step 1; a failure part-way (backend down, audit log unwritable) ends the rotation as failed at once: the new
   * credentials are not kept, so it could not be resumed anyway.
   */
  async #writeOrFail(
    record: RotationRecord,
    valueFor: (index: number) => Promise<SecretValue>,
  ): Promise<RotationRecord> {
    try {
      return await writePending(this.#context, record, valueFor);
    } catch (err) {
      const reason = isCofreError(err) ? `${err.code}: ${err.message}` : 'writing a pending version failed';
      const latest = (await this.#context.store.rotation(record.id)) ?? record;
      return failRotation(this.#context, latest, reason, isCofreError(err) ? err.code : 'COFRE_INTERNAL');
    }
  }

  async #set(record: RotationRecord): Promise<void> {
    const why =
      record.target.kind === 'account'
        ? 'a venue key is made at the venue by the operator'
        : 'the secret is read where it is stored';
    await this.#context.onStep({
      rotation: record.id,
      step: 'set',
      message: `2/${STEP_COUNT} set: nothing for cofre to set (${why})`,
    });
  }

  async #testAccountAndPromote(start: RotationRecord, accountId: string): Promise<RotationRecord> {
    await this.#set(start);
    const references = accountReferences(this.#context, accountId);
    const record = await runTest(
      this.#context,
      start,
      'balance read and key scope checked with the pending credentials',
      () => testAccountCredentials(this.#context, accountId, references),
    );
    return promote(this.#context, record);
  }

  async #readVersion(secret: PlannedSecret, version: string | undefined): Promise<SecretValue | undefined> {
    if (version === undefined) return undefined;
    const wholeValue = [...secret.fields.values()].every((f) => f === undefined) && secret.fields.size > 0;
    if (wholeValue) return undefined;
    const record = await this.#context
      .backend(secret.backend)
      .read(secret.path, { kind: 'version', version });
    return record.value;
  }
}

/** The credential fields an account references: exactly the fields its new credentials must give. */
export function accountCredentialFields(
  context: Pick<RotationContext, 'config'>,
  accountId: string,
): CredentialField[] {
  const credentials = context.config.accounts[accountId]?.credentials;
  return CREDENTIAL_FIELDS.filter((f) => credentials?.[f] !== undefined);
}

function accountReferences(
  context: RotationContext,
  accountId: string,
): Partial<Record<CredentialField, SecretReference>> {
  const references: Partial<Record<CredentialField, SecretReference>> = {};
  const credentials = context.config.accounts[accountId]?.credentials;
  for (const field of CREDENTIAL_FIELDS) {
    const text = credentials?.[field];
    if (text !== undefined)
      references[field] = rotatableReference(text, `accounts.${accountId}.credentials.${field}`);
  }
  return references;
}
