import { hash as oneShotHash } from 'node:crypto';

import { AUDIT_SCHEMA_VERSION } from './audit-format.js';
import type { VerifyFindingCode } from './verify-findings.js';

const HEAD_KEYS = ['v', 'seq', 'ts', 'prev', 'kind'] as const;
const KINDS = new Set([
  'intent',
  'outcome',
  'quota',
  'operator',
  'secret-access',
  'database',
  'identity',
  'genesis',
  'continue',
  'checkpoint',
]);
const HEX64 = /^[0-9a-f]{64}$/;

/** A record as parsed, its head checked. */
export interface ParsedRecord {
  readonly seq: number;
  readonly ts: string;
  readonly prev: string;
  readonly kind: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Why a line is not a record, and its seq when that much could be read. */
export interface UnparsedLine {
  readonly code: VerifyFindingCode;
  readonly message: string;
  readonly seq?: number;
}

/**
 * Parses one line as a format-v1 record and checks its head: JSON object, `v` first and equal to the schema version,
 * then `seq`, `ts`, `prev`, `kind` in that order and of their types. `expectedPrev` only saves the hex check when
 * `prev` is the expected hash (the common case). Pure.
 */
export function parseAuditRecord(
  bytes: Buffer,
  expectedPrev: string | undefined,
): ParsedRecord | UnparsedLine {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { code: 'malformed-line', message: 'not JSON: a torn, edited or foreign line' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { code: 'malformed-line', message: 'not a JSON object' };
  }
  const fields = value as Record<string, unknown>;
  const { seq, ts, prev, kind } = fields;
  const at = Number.isSafeInteger(seq) ? { seq: seq as number } : {};
  if (fields['v'] !== AUDIT_SCHEMA_VERSION) {
    return {
      code: 'schema-version',
      message: `schema version ${JSON.stringify(fields['v'])}; this cofre reads version ${AUDIT_SCHEMA_VERSION}`,
      ...at,
    };
  }
  const keys = Object.keys(fields).slice(0, HEAD_KEYS.length);
  if (
    keys.some((key, i) => key !== HEAD_KEYS[i]) ||
    keys.length < HEAD_KEYS.length ||
    !Number.isSafeInteger(seq) ||
    (seq as number) < 0 ||
    typeof ts !== 'string' ||
    typeof prev !== 'string' ||
    (prev !== expectedPrev && !HEX64.test(prev)) || // the regex only when the cheap comparison fails
    typeof kind !== 'string' ||
    !KINDS.has(kind)
  ) {
    return {
      code: 'head-fields',
      message: 'the record head (v, seq, ts, prev, kind, in order) is missing or malformed',
      ...at,
    };
  }
  return { seq: seq as number, ts, prev, kind, fields };
}

/**
 * `recordHash` of the contract, computed with Node's one-shot hash: the same SHA-256 hex, about twice as fast on
 * record-sized lines, which is most of the verifier's time. A test pins the two equal.
 */
export function lineHash(line: Buffer): string {
  return oneShotHash('sha256', line, 'hex');
}
