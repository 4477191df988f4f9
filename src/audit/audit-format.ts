/**
 * The audit log's format, version 1 (issue 10), shared by the writer and the verifier. docs/audit.md documents it
 * for auditors; this module is its single source of truth in code.
 *
 * A log is a sequence of files: the current one (`audit.path`, e.g. `cofre-audit.jsonl`) and rotated ones beside it,
 * `<path>.<n>` with n = 000001, 000002, … (six digits or more; lower is older). Each file holds UTF-8 JSON lines,
 * one record per line, each line ending in `\n`. Every record is an object whose first five keys are, in order:
 *
 *   v     1 (this schema version)
 *   seq   its position in the whole chain: 0 for the first record ever, then +1 for each record, across files
 *   ts    ISO 8601 time of writing
 *   prev  the hash (see {@link recordHash}) of the record at seq − 1, or {@link GENESIS_PREV} for seq 0
 *   kind  what the record is (see {@link AuditRecordKind})
 *
 * followed by the kind's fields. The hash of a record is the SHA-256 of its line's exact bytes without the final
 * `\n`, so the verifier needs no canonical form: any change to a line changes its hash.
 *
 * Special kinds:
 * - `genesis` (seq 0 only): `logId` (random, 128-bit hex) names the log; `publicKey` the checkpoint key's public key
 *   (SPKI PEM), when the log has one.
 * - `continue`: the first record of each new file after a rotation: `file` (the number the previous file was rotated
 *   to), `prevFileSize` (its size in bytes), and `logId` again, so a log whose oldest files retention removed still
 *   names itself (checkpoints sign it).
 * - `checkpoint`: signs the chain up to and including the record before it: `head` (= its own `prev`), `count`
 *   (= its own seq, the number of records before it), `keyId` (see {@link keyIdOf}) and `signature` (Ed25519 over
 *   {@link checkpointMessage}, base64), or `unsigned: true` when no signing key is configured. Written every
 *   `audit.checkpoint.every` records or `interval`, and at shutdown; each checkpoint line is also copied, byte for
 *   byte, to every witness.
 */
import { createHash } from 'node:crypto';

/** The schema version this code writes and reads. */
export const AUDIT_SCHEMA_VERSION = 1;

/** `prev` of the record at seq 0. */
export const GENESIS_PREV = '0'.repeat(64);

/**
 * What a record is. `intent`, `outcome`, `quota` and `operator` come from the broker as before; `secret-access`
 * records each secret read (reference HMAC'd); `identity` a workload identity exchange, issued or refused (issue 17); `genesis`, `continue` and `checkpoint` belong to the chain itself.
 */
export type AuditRecordKind =
  | 'intent'
  | 'outcome'
  | 'quota'
  | 'operator'
  | 'secret-access'
  | 'database'
  | 'identity'
  | 'genesis'
  | 'continue'
  | 'checkpoint';

/** The fields every record starts with, in this order. */
export interface AuditRecordHead {
  readonly v: typeof AUDIT_SCHEMA_VERSION;
  readonly seq: number;
  readonly ts: string;
  readonly prev: string;
  readonly kind: AuditRecordKind;
}

/** A checkpoint record's own fields. */
export interface CheckpointFields {
  readonly head: string;
  readonly count: number;
  readonly keyId?: string;
  readonly signature?: string;
  readonly unsigned?: true;
}

/** SHA-256 (hex) of a record's line, given without its final `\n`. */
export function recordHash(line: string | Buffer): string {
  return createHash('sha256').update(line).digest('hex');
}

/**
 * The bytes a checkpoint signs: the log, the position and the head it vouches for, and when. Binding `logId` keeps a
 * checkpoint from one log from vouching for another signed with the same key.
 */
export function checkpointMessage(c: {
  readonly logId: string;
  readonly seq: number;
  readonly head: string;
  readonly ts: string;
}): Buffer {
  return Buffer.from(
    `cofre-audit-checkpoint\nv${AUDIT_SCHEMA_VERSION}\n${c.logId}\n${c.seq}\n${c.head}\n${c.ts}`,
    'utf8',
  );
}

/** The id of a checkpoint key: the first 16 hex digits of the SHA-256 of its public key in DER (SPKI). */
export function keyIdOf(publicKeyDer: Buffer): string {
  return createHash('sha256').update(publicKeyDer).digest('hex').slice(0, 16);
}

/**
 * One record's line: the head fields first, in order, then the kind's fields (`undefined` ones left out). The
 * writer must produce lines only through this function, so that the head is always first and in order.
 */
export function recordLine(head: AuditRecordHead, fields: Readonly<Record<string, unknown>>): string {
  const body: Record<string, unknown> = { ...head };
  for (const [key, value] of Object.entries(fields)) {
    if (key in body) continue; // a field can never overwrite the chain's own
    if (value !== undefined) body[key] = value;
  }
  return JSON.stringify(body);
}

/** The path of rotated file number `n` of the log at `path`. */
export function rotatedPath(path: string, n: number): string {
  return `${path}.${String(n).padStart(6, '0')}`;
}
