/** What `cofre audit query` selects records by; every given field must match. */
export interface AuditRecordFilter {
  /** Inclusive lower bound on `ts`, in ms since the epoch. */
  readonly since?: number;
  /** Exclusive upper bound on `ts`, in ms since the epoch. */
  readonly until?: number;
  readonly agent?: string;
  readonly account?: string;
  readonly action?: string;
  readonly requestId?: string;
  readonly kind?: string;
}

/** True when `record` matches every field `filter` gives. Pure. */
export function auditRecordMatches(
  record: Readonly<Record<string, unknown>>,
  filter: AuditRecordFilter,
): boolean {
  if (filter.since !== undefined || filter.until !== undefined) {
    const ts = typeof record['ts'] === 'string' ? Date.parse(record['ts']) : NaN;
    if (Number.isNaN(ts)) return false;
    if (filter.since !== undefined && ts < filter.since) return false;
    if (filter.until !== undefined && ts >= filter.until) return false;
  }
  const equal: [keyof AuditRecordFilter, string][] = [
    ['agent', 'agent'],
    ['account', 'account'],
    ['action', 'action'],
    ['requestId', 'requestId'],
    ['kind', 'kind'],
  ];
  return equal.every(([key, field]) => filter[key] === undefined || record[field] === filter[key]);
}
