import type { ScannedRecord } from '../../audit/scan-audit-records.js';

const HEAD = new Set(['v', 'seq', 'ts', 'prev', 'kind']);
const MAX_VALUE_CHARS = 120;

/**
 * One record as a line for people: time, seq, kind, then its fields as `key=value` (objects as compact JSON, long
 * values shortened). `--json` prints the line as written instead.
 */
export function auditRecordText({ record }: ScannedRecord): string {
  const fields = Object.entries(record)
    .filter(([key]) => !HEAD.has(key))
    .map(([key, value]) => `${key}=${shorten(typeof value === 'string' ? value : JSON.stringify(value))}`);
  return [String(record['ts']), `#${String(record['seq'])}`, String(record['kind']), ...fields].join(' ');
}

function shorten(text: string): string {
  return text.length <= MAX_VALUE_CHARS ? text : `${text.slice(0, MAX_VALUE_CHARS - 1)}…`;
}
