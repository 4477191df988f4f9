import { open } from 'node:fs/promises';

import type { PgDb } from '../state/postgres/pg-db.js';
import { auditFileLabel, listAuditFiles } from './audit-files.js';
import { readAuditLines } from './audit-line-reader.js';
import { readFirstLine } from './audit-tail.js';
import { verifyPostgresAudit } from './postgres-audit-verify.js';
import { parseLine, type ScannedRecord } from './scan-audit-records.js';
import { verifyAuditLog, type VerifyOptions, type VerifyReport } from './verify-chain.js';

/**
 * Lines a request's story reads at most, from where its window starts. A story scan reads the log from about the
 * request's creation on; the cap keeps one operator click from reading an unbounded log (a request whose records lie
 * further on, say an approval decided days later in a busy log, shows only what lies within the cap).
 */
export const STORY_SCAN_LINES = 500_000;

/** Records a story keeps at most: a request has a handful (intent, votes, outcome, secret reads). */
export const STORY_MAX_RECORDS = 1_000;

/** How far back of the request's creation a story starts: the intent may carry an earlier replica's clock. */
const STORY_SLACK_MS = 60_000;

/** Bytes of the end of the current file read to find the last checkpoint (one is written every few records). */
const TAIL_BYTES = 4 * 1024 * 1024;

/** A record's place in the chain and its time. */
export interface ChainPoint {
  readonly seq: number;
  readonly at: string;
}

/**
 * Reads an audit chain for the operator API (issue 18) wherever the config keeps it: the JSONL files of
 * `audit.path`, or the `audit_records` table of PostgreSQL state (issue 16). Reads only, in bounded memory; verifies
 * only in {@link AuditReader.verify}. Safe to call concurrently.
 */
export interface AuditReader {
  readonly store: 'file' | 'postgres';
  /**
   * The records naming `requestId` (its `requestId` field), oldest first, from shortly before `from` on, reading at
   * most {@link STORY_SCAN_LINES} records and keeping at most {@link STORY_MAX_RECORDS}.
   */
  recordsOf(requestId: string, from: Date): Promise<readonly ScannedRecord[]>;
  /** The last record written and the last checkpoint near the end (unverified), when there are any. */
  ends(): Promise<{ readonly head: ChainPoint | null; readonly lastCheckpoint: ChainPoint | null }>;
  /** Records in the chain now (as far as retention kept them), when it can tell cheaply. */
  count(): Promise<number | null>;
  /** The whole chain's verification (see `verifyAuditLog`), telling `onProgress` the records checked so far. */
  verify(onProgress: (records: number) => void): Promise<VerifyReport>;
}

/** What the verifier checks besides the chain: as `cofre audit verify` with the config's witnesses. */
export type AuditChecks = Omit<VerifyOptions, 'path' | 'onProgress'>;

/** Thrown inside a line handler to stop reading a file early (the reader closes it). */
class StopScan extends Error {}

/** The bytes `"requestId":"<id>"` as a record holds them: lines without them are skipped unparsed. */
function needleOf(requestId: string): string {
  return `"requestId":${JSON.stringify(requestId)}`;
}

function pointOf(record: Readonly<Record<string, unknown>> | undefined): ChainPoint | null {
  const seq = record?.['seq'];
  const at = record?.['ts'];
  return typeof seq === 'number' && typeof at === 'string' ? { seq, at } : null;
}

/** The time at the head of a line (`{"v":1,"seq":N,"ts":"…"`), read without parsing the whole line. */
function lineTime(line: Buffer): number {
  const match = /"ts":"([^"]+)"/.exec(line.subarray(0, 120).toString('utf8'));
  return match?.[1] === undefined ? NaN : Date.parse(match[1]);
}

/** The audit log in the files of `path` (`audit.path` and its rotated files). */
export function fileAuditReader(path: string, checks: AuditChecks): AuditReader {
  return {
    store: 'file',
    async recordsOf(requestId, from) {
      const needle = Buffer.from(needleOf(requestId));
      const since = from.getTime() - STORY_SLACK_MS;
      const files = (await listAuditFiles(path)).filter((f) => f.size !== undefined);
      // Skip the files that end before the window: a file ends where the next one starts.
      const starts = await Promise.all(files.map((f) => firstTime(f.path)));
      const first = Math.max(
        0,
        starts.findLastIndex((start, i) => i === 0 || (!Number.isNaN(start) && start <= since)),
      );
      const found: ScannedRecord[] = [];
      let lines = 0;
      try {
        for (const file of files.slice(first)) {
          const label = auditFileLabel(file);
          await readAuditLines(file.path, {
            line: (bytes, line, complete) => {
              if (++lines > STORY_SCAN_LINES || found.length >= STORY_MAX_RECORDS) throw new StopScan();
              if (!complete || bytes.indexOf(needle) === -1) return;
              const scanned = parseLine(label, line, bytes);
              if (scanned?.record['requestId'] === requestId) found.push(scanned);
            },
            tooLong: () => undefined,
          });
        }
      } catch (err) {
        if (!(err instanceof StopScan)) throw err;
      }
      return found;
    },
    async ends() {
      const file = await open(path, 'r').catch(() => undefined);
      if (file === undefined) return { head: null, lastCheckpoint: null };
      try {
        const { size } = await file.stat();
        const from = Math.max(0, size - TAIL_BYTES);
        const buf = Buffer.alloc(size - from);
        await file.read(buf, 0, buf.length, from);
        // The first line may be cut (we started mid-file) and the last torn: both are skipped by parsing.
        const lines = buf.toString('utf8').split('\n');
        let head: ChainPoint | null = null;
        let lastCheckpoint: ChainPoint | null = null;
        for (let i = lines.length - 1; i >= 0 && lastCheckpoint === null; i--) {
          const record = parseLine(path, i, lines[i] ?? '')?.record;
          if (record === undefined) continue;
          head ??= pointOf(record);
          if (record['kind'] === 'checkpoint') lastCheckpoint = pointOf(record);
        }
        return { head, lastCheckpoint };
      } finally {
        await file.close();
      }
    },
    async count() {
      const files = (await listAuditFiles(path)).filter((f) => f.size !== undefined);
      const oldest = files[0];
      if (oldest === undefined) return 0;
      const first = await firstRecord(oldest.path);
      const { head } = await this.ends();
      const firstSeq = pointOf(first)?.seq;
      return head === null || firstSeq === undefined ? null : head.seq - firstSeq + 1;
    },
    verify(onProgress) {
      return verifyAuditLog({
        path,
        ...checks,
        onProgress: (p) => {
          onProgress(p.records);
        },
      });
    },
  };
}

async function firstRecord(path: string): Promise<Readonly<Record<string, unknown>> | undefined> {
  const file = await open(path, 'r').catch(() => undefined);
  if (file === undefined) return undefined;
  try {
    const line = await readFirstLine(file);
    return line === undefined ? undefined : parseLine(path, 1, line)?.record;
  } finally {
    await file.close();
  }
}

async function firstTime(path: string): Promise<number> {
  const at = (await firstRecord(path))?.['ts'];
  return typeof at === 'string' ? Date.parse(at) : NaN;
}

/** The audit chain every replica writes into the PostgreSQL state database (table `audit_records`). */
export function postgresAuditReader(db: PgDb, checks: AuditChecks): AuditReader {
  const rowTime = async (seq: number): Promise<number> => {
    const { rows } = await db.query<{ line: string }>(
      'SELECT line FROM audit_records WHERE seq >= $1 ORDER BY seq LIMIT 1',
      [seq],
    );
    return rows[0] === undefined ? NaN : lineTime(Buffer.from(rows[0].line.slice(0, 120)));
  };
  return {
    store: 'postgres',
    async recordsOf(requestId, from) {
      const since = from.getTime() - STORY_SLACK_MS;
      const { rows: bounds } = await db.query<{ lo: string | null; hi: string | null }>(
        'SELECT min(seq) AS lo, max(seq) AS hi FROM audit_records',
      );
      if (bounds[0]?.lo == null || bounds[0].hi == null) return [];
      // Binary search for the first record of the window: records are in time order (one writer at a time holds the
      // head), so about 25 point lookups find it in any chain.
      let lo = Number(bounds[0].lo);
      let hi = Number(bounds[0].hi);
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const at = await rowTime(mid);
        if (Number.isNaN(at) || at < since) lo = mid + 1;
        else hi = mid;
      }
      // The database filters: only the window's rows are read, and only those naming the request come back.
      const { rows } = await db.query<{ seq: string; line: string }>(
        `SELECT seq, line FROM audit_records WHERE seq >= $1 AND seq < $2 AND strpos(line, $3) > 0
         ORDER BY seq LIMIT $4`,
        [lo, lo + STORY_SCAN_LINES, needleOf(requestId), STORY_MAX_RECORDS],
      );
      return rows.flatMap((r) => {
        const scanned = parseLine('audit_records', Number(r.seq), r.line);
        return scanned?.record['requestId'] === requestId ? [scanned] : [];
      });
    },
    async ends() {
      const { rows: last } = await db.query<{ line: string }>(
        'SELECT line FROM audit_records ORDER BY seq DESC LIMIT 1',
      );
      const { rows: checkpoint } = await db.query<{ line: string }>(
        `SELECT line FROM audit_records WHERE strpos(line, '"kind":"checkpoint"') > 0
           AND seq > (SELECT coalesce(max(seq), 0) - 100000 FROM audit_records)
         ORDER BY seq DESC LIMIT 1`,
      );
      const point = (line: string | undefined): ChainPoint | null =>
        line === undefined ? null : pointOf(parseLine('audit_records', 0, line)?.record);
      return { head: point(last[0]?.line), lastCheckpoint: point(checkpoint[0]?.line) };
    },
    async count() {
      // The head row holds the next record's seq: the chain's length, without counting rows.
      const { rows } = await db.query<{ seq: string }>('SELECT seq FROM audit_head WHERE only_row');
      return rows[0] === undefined ? null : Number(rows[0].seq);
    },
    verify(onProgress) {
      return verifyPostgresAudit(db, { ...checks, onProgress });
    },
  };
}
