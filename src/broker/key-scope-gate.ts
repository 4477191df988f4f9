import { AsyncResource } from 'node:async_hooks';

import type { Logger } from 'pino';

import type { CofreConfig } from '../config/config-schema.js';
import { CofreError, isCofreError } from '../errors.js';
import { type KeyScopeCheck, leastPrivilegeRequired } from '../venues/check-key-scope.js';
import type { KeyScope } from '../venues/venue-account.js';

/** How often a judged account's key is read again (on use, in the background), and a failed read retried. */
export const KEY_SCOPE_RECHECK_MS = 60_000;

/** What cofre knows of one account's key scope. */
export interface KeyScopeStatus {
  readonly account: string;
  /**
   * `allowed`: judged, served (problems, if any, are warnings); `refused`: judged, problems, least privilege
   * required; `unknown`: the venue could not be asked (served, with a warning) or cannot tell; `unchecked`: not
   * asked yet.
   */
  readonly state: 'allowed' | 'refused' | 'unknown' | 'unchecked';
  readonly required: boolean;
  readonly problems: readonly string[];
  /** What the venue reported, when it did. */
  readonly scope: KeyScope | undefined;
  /** The error code of the last failed read, while no judgement is known. */
  readonly error: string | undefined;
}

interface Entry {
  judged: { readonly check: KeyScopeCheck; readonly at: number } | undefined;
  failed: { readonly code: string; readonly at: number } | undefined;
  /** The check running now, and the key generation it reads. */
  inflight: { readonly generation: number; readonly done: Promise<void> } | undefined;
  /** Bumped by `invalidate`: a check started before it reads the old key, and its result is dropped. */
  generation: number;
}

/**
 * Issue 12, least privilege while serving: which accounts cofre refuses because their key can do more than the
 * policies need. Holds one judgement per account, from `check` (`checkKeyScope` through the runtime's venue).
 *
 * - At start, {@link checkAll} reads every account's key scope and logs a warning per problem.
 * - {@link admit} runs before every action on an account (broker-resolve.ts, and run-action.ts for the paths that
 *   skip resolution: approved requests, a halt's cancels; not reconciliation, which settles what was already sent
 *   and must go on reading the venue for it). It refuses (`COFRE_ACCOUNT_REFUSED`) an account whose judgement refuses. An account
 *   that requires least privilege and was never judged is judged first (the action waits for it). An account that
 *   does not require it is never held up nor asked about on use: its problems are warnings, logged at start.
 * - A venue that cannot be asked is no refusal: a warning, the account is served, and the read is tried again on the
 *   next use after {@link KEY_SCOPE_RECHECK_MS} (one request per minute at most, not one per action, during an
 *   outage). A judgement older than that is refreshed in the background on use while the old one stands, so a key
 *   narrowed at the venue is served again within about a minute, and one widened is refused as soon.
 *
 * Checks run outside any request's context (their own deadline and priority, secret reads recorded under no
 * request), one at a time per account. Safe to call concurrently.
 */
export class KeyScopeGate {
  readonly #config: Pick<CofreConfig, 'accounts'>;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #recheckMs: number;
  readonly #entries = new Map<string, Entry>();
  /** `check`, bound to the context the gate was made in: no request's deadline, priority or identity. */
  readonly #check: (accountId: string) => Promise<KeyScopeCheck>;

  constructor(deps: {
    readonly config: Pick<CofreConfig, 'accounts'>;
    readonly check: (accountId: string) => Promise<KeyScopeCheck>;
    readonly logger: Logger;
    readonly now?: () => number;
    readonly recheckMs?: number;
  }) {
    this.#config = deps.config;
    this.#logger = deps.logger;
    this.#now = deps.now ?? Date.now;
    this.#recheckMs = deps.recheckMs ?? KEY_SCOPE_RECHECK_MS;
    this.#check = AsyncResource.bind((accountId: string) => deps.check(accountId));
  }

  /** Reads and judges every configured account's key scope now; resolves when all are done (never rejects). */
  async checkAll(): Promise<readonly KeyScopeStatus[]> {
    const ids = Object.keys(this.#config.accounts);
    await Promise.all(ids.map((id) => this.#refresh(id)));
    return ids.map((id) => this.status(id));
  }

  /** What is known of `accountId` now, without asking the venue. */
  status(accountId: string): KeyScopeStatus {
    const entry = this.#entries.get(accountId);
    const required = leastPrivilegeRequired(this.#config, accountId);
    const check = entry?.judged?.check;
    const base = { account: accountId, required, problems: check?.judgement.problems ?? [] };
    if (check !== undefined) {
      const state = check.judgement.refuse ? 'refused' : check.scope === undefined ? 'unknown' : 'allowed';
      return { ...base, state, scope: check.scope, error: undefined };
    }
    const state = entry?.failed === undefined ? 'unchecked' : 'unknown';
    return { ...base, state, scope: undefined, error: entry?.failed?.code };
  }

  /** `COFRE_ACCOUNT_REFUSED` when the account is judged refused; undefined otherwise. Asks nothing. */
  refusal(accountId: string): CofreError | undefined {
    const status = this.status(accountId);
    return status.state === 'refused' ? refusedError(accountId, status.problems) : undefined;
  }

  /**
   * Throws `COFRE_ACCOUNT_REFUSED` unless the account may be served. For an account that requires least privilege:
   * judges it first when it was never judged (or a failed read is a minute old), and refreshes a judgement older
   * than a minute in the background. Other accounts, and unconfigured ones (the caller reports those), pass at once
   * and ask the venue nothing.
   */
  async admit(accountId: string): Promise<void> {
    // Unconfigured accounts are the caller's to report; an account that does not require least privilege is never
    // refused, so it is not asked about on use either (its warnings come from the start's check).
    if (!leastPrivilegeRequired(this.#config, accountId)) return;
    const entry = this.#entry(accountId);
    const now = this.#now();
    if (entry.judged === undefined) {
      if (entry.failed === undefined || now - entry.failed.at >= this.#recheckMs)
        await this.#refresh(accountId);
    } else if (now - entry.judged.at >= this.#recheckMs) {
      void this.#refresh(accountId);
    }
    const refused = this.refusal(accountId);
    if (refused !== undefined) throw refused;
  }

  /**
   * Forgets what is known of the account's key (after a rotation promoted another key): an account that requires
   * least privilege is judged again before its next action. A check already running may have read the old key:
   * its result is dropped.
   */
  invalidate(accountId: string): void {
    const entry = this.#entries.get(accountId);
    if (entry === undefined) return;
    entry.generation++;
    entry.judged = undefined;
    entry.failed = undefined;
  }

  #entry(accountId: string): Entry {
    let entry = this.#entries.get(accountId);
    if (entry === undefined) {
      entry = { judged: undefined, failed: undefined, inflight: undefined, generation: 0 };
      this.#entries.set(accountId, entry);
    }
    return entry;
  }

  /** One read and judgement of the account's key scope at a time; never rejects (failures are logged). */
  #refresh(accountId: string): Promise<void> {
    const entry = this.#entry(accountId);
    const generation = entry.generation;
    if (entry.inflight?.generation === generation) return entry.inflight.done;
    const current = (): boolean => entry.generation === generation;
    const done: Promise<void> = this.#check(accountId)
      .then(
        (check) => {
          if (!current()) return;
          this.#report(accountId, entry.judged?.check, check);
          entry.judged = { check, at: this.#now() };
          entry.failed = undefined;
        },
        (err: unknown) => {
          if (!current()) return;
          const code = isCofreError(err) ? err.code : 'COFRE_INTERNAL';
          entry.failed = { code, at: this.#now() };
          this.#logger.warn(
            { account: accountId, code, ...(isCofreError(err) ? {} : { err }) },
            `could not read the key permissions of account "${accountId}" (${code}); it is served meanwhile, and checked again on use`,
          );
        },
      )
      .finally(() => {
        if (entry.inflight?.done === done) entry.inflight = undefined;
      });
    entry.inflight = { generation, done };
    return done;
  }

  /** Logs a judgement when it differs from the last one: a warning per problem, and the refusal. */
  #report(accountId: string, last: KeyScopeCheck | undefined, next: KeyScopeCheck): void {
    const same =
      last !== undefined &&
      last.judgement.refuse === next.judgement.refuse &&
      last.judgement.problems.join('\n') === next.judgement.problems.join('\n');
    if (same) return;
    for (const problem of next.judgement.problems) {
      this.#logger.warn({ account: accountId, problem }, `least privilege: ${problem}`);
    }
    if (next.judgement.refuse) {
      this.#logger.error(
        { account: accountId, code: 'COFRE_ACCOUNT_REFUSED' },
        `refusing to serve account "${accountId}": ${fixAdvice(accountId)}`,
      );
    } else if (last?.judgement.refuse === true) {
      this.#logger.warn({ account: accountId }, `account "${accountId}" is served again: its key now fits`);
    }
  }
}

function fixAdvice(accountId: string): string {
  return `narrow the key at the venue (disable withdrawals, restrict it to this server's IP addresses; cofre reads it again within a minute), or set accounts.${accountId}.requireLeastPrivilege: false`;
}

/** The error of every action on a refused account: what the key can do too much, and how to fix it. */
export function refusedError(accountId: string, problems: readonly string[]): CofreError {
  return new CofreError(
    'COFRE_ACCOUNT_REFUSED',
    `cofre refuses to serve account "${accountId}" because its key can do more than cofre's policies need: ${problems.join('; ')}. Nothing was sent. To fix it, ${fixAdvice(accountId)}`,
    { details: { account: accountId, problems: [...problems] } },
  );
}
