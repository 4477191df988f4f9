import type { Awaitable } from '../state/awaitable.js';
/**
 * Issue 12, the contract of key rotation: the record a rotation keeps in the state file, so each step is idempotent
 * and a rotation interrupted at any point (a crash, kill -9) is resumed by its id to a valid end:
 * either the old version current and no pending one (`failed`, `rolled-back`), or the new version current and the
 * old one previous (`promoted`).
 *
 * The protocol follows AWS Secrets Manager's four steps: create a `pending` version, set it where needed (a venue
 * key is set by a person on the venue's site before `cofre rotate`; cofre sets nothing there), test it (for an
 * account: an authenticated read with the pending key, plus the key-scope check), promote it to `current` (the old
 * one becomes `previous`). A version that fails its test is never promoted; it is removed from `pending`.
 */

/** Where a rotation is. `created`/`tested` are in progress; the rest are ends. */
export type RotationStatus =
  /** The pending version is written (or being written) to every secret. */
  | 'created'
  /** The pending version passed its test; promotion is next. */
  | 'tested'
  /** The new version is current, the old one previous. */
  | 'promoted'
  /** The test failed or the operator cancelled: the pending version was removed; the old version stays current. */
  | 'failed'
  /** `--rollback`: `current` moved back to the version that was current before. */
  | 'rolled-back';

/** One secret a rotation changes (an account's credentials may live in one secret with fields, or in several). */
export interface RotationSecret {
  /** Backend name, as in references (`local`, `vault`, `aws`). */
  readonly backend: string;
  readonly path: string;
  /** The version current when the rotation started; the rollback target. */
  readonly oldVersion: string | undefined;
  /** The version written as `pending`, once written. */
  readonly newVersion: string | undefined;
}

/** A rotation as the state file keeps it. Holds no secret value. */
export interface RotationRecord {
  /** `rot_` + random; given to `cofre rotate --resume` and shown by `--status`. */
  readonly id: string;
  /** What is rotated: an account id (`account`), or a secret reference (`secret`, e.g. a generated one). */
  readonly target:
    | { readonly kind: 'account'; readonly account: string }
    | { readonly kind: 'secret'; readonly reference: string };
  readonly status: RotationStatus;
  readonly secrets: readonly RotationSecret[];
  /** Who started it (`local:<os user>`). */
  readonly by: string;
  readonly startedAt: Date;
  readonly updatedAt: Date;
  /** Why the rotation failed, for `failed` (never a value). */
  readonly error?: string;
  /** When the new version became current, for `promoted`. */
  readonly promotedAt?: Date;
}

/** The rotations of one state file (part of the StateStore). */
export interface RotationStore {
  /** Stores a new rotation; throws `COFRE_ROTATION_IN_PROGRESS` when one of the same target is not ended. */
  createRotation(record: RotationRecord): Awaitable<void>;
  /** Replaces a rotation's record (same id). */
  updateRotation(record: RotationRecord): Awaitable<void>;
  rotation(id: string): Awaitable<RotationRecord | undefined>;
  /** Every rotation, newest first; with `active`, only those not ended. */
  rotations(options?: { readonly active?: boolean }): Awaitable<readonly RotationRecord[]>;
}
