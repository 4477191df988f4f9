import { randomBytes } from 'node:crypto';

import type { Logger } from 'pino';

import type { AuditSink } from '../audit/audit-log.js';
import type { AuditReader } from '../audit/audit-reader.js';
import { findingText } from '../audit/verify-findings.js';
import type { AuditStatusJson, AuditVerificationJson } from '../surfaces/http/operator-api-types.js';

/** Findings an answer carries at most (the verifier keeps 1000; a page needs the first few). */
const MAX_FINDINGS = 100;

/** What {@link AuditVerifications} works on. */
export interface AuditVerificationsDependencies {
  readonly reader: AuditReader;
  /** Where each verification is recorded (kind `operator`, action `audit-verify`: who asked, the outcome). */
  readonly audit: AuditSink;
  readonly logger?: Logger | undefined;
  readonly now: () => Date;
}

/**
 * "Verify now" of the operator console (issue 18): runs the chain verifier (`cofre audit verify`'s, on the file log
 * or the PostgreSQL chain) in the background, one run at a time per process: asking while one runs returns that
 * one. Its progress (records checked, the chain's length when it started) is readable while it runs; the latest
 * run is kept until the next one. Each run is an audit record when it ends: who asked, and the outcome.
 *
 * Safe to call concurrently.
 */
export class AuditVerifications {
  readonly #deps: AuditVerificationsDependencies;
  #latest: AuditVerificationJson | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: AuditVerificationsDependencies) {
    this.#deps = deps;
  }

  /** The running or latest verification of this process, if any. */
  latest(): AuditVerificationJson | null {
    return this.#latest ?? null;
  }

  /** The chain's ends (head, last checkpoint near the end) and the latest verification. */
  async status(): Promise<AuditStatusJson> {
    const { head, lastCheckpoint } = await this.#deps.reader.ends();
    return { store: this.#deps.reader.store, head, lastCheckpoint, verification: this.latest() };
  }

  /** Starts a verification for operator `by`, or returns the one running. */
  start(by: string): AuditVerificationJson {
    if (this.#running !== undefined && this.#latest !== undefined) return this.#latest;
    const job: AuditVerificationJson = {
      id: `verify_${randomBytes(9).toString('base64url')}`,
      state: 'running',
      by,
      startedAt: this.#deps.now().toISOString(),
      finishedAt: null,
      records: 0,
      total: null,
      findings: [],
      lastCheckpoint: null,
    };
    this.#latest = job;
    this.#running = this.#run(job).finally(() => {
      this.#running = undefined;
    });
    return job;
  }

  /** Resolves when the running verification (if any) has ended; for tests and a clean close. */
  async settled(): Promise<void> {
    await this.#running;
  }

  async #run(job: AuditVerificationJson): Promise<void> {
    const update = (changes: Partial<AuditVerificationJson>): void => {
      if (this.#latest?.id === job.id) this.#latest = { ...this.#latest, ...changes };
    };
    let outcome: Partial<AuditVerificationJson>;
    try {
      update({ total: await this.#deps.reader.count().catch(() => null) });
      const report = await this.#deps.reader.verify((records) => {
        update({ records });
      });
      const errors = report.findings.filter((f) => f.severity === 'error');
      const last = report.lastVerifiedCheckpoint;
      outcome = {
        state: report.verdict === 'verified' ? 'passed' : 'failed',
        records: report.records,
        // The wire says: no findings when it passed (warnings, like an unpinned key, are `cofre audit verify`'s).
        findings: report.verdict === 'verified' ? [] : errors.slice(0, MAX_FINDINGS).map(findingText),
        lastCheckpoint: last === undefined ? null : { seq: last.seq, at: last.ts },
      };
    } catch (err) {
      this.#deps.logger?.error({ err }, 'audit verification could not run');
      outcome = {
        state: 'failed',
        findings: [`the audit log could not be read: ${err instanceof Error ? err.message : String(err)}`],
      };
    }
    update({ ...outcome, finishedAt: this.#deps.now().toISOString() });
    try {
      await this.#deps.audit.append({
        kind: 'operator',
        requestId: `audit-verify_${job.id.slice('verify_'.length)}`,
        agent: '-',
        action: 'audit-verify',
        operator: job.by,
        detail: {
          verification: job.id,
          outcome: outcome.state,
          records: this.#latest?.records,
          findings: outcome.findings?.length ?? 0,
        },
      });
    } catch (err) {
      this.#deps.logger?.error({ err }, 'audit append of a verification failed');
    }
  }
}
