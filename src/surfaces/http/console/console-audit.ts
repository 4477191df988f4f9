import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

import type { AuditSink } from '../../../audit/audit-log.js';
import { randomId } from '../../../broker/random-id.js';

/** What the console records of its sessions. */
export type ConsoleAuditAction = 'console-login' | 'console-login-refused' | 'console-logout';

/**
 * The console's audit records: one of kind `operator` per login, refused login and logout, with the operator's id
 * (when known), the token's id and the client address. SECURITY: never the token, the cookie or the CSRF token; the
 * callers pass ids only.
 */
export class ConsoleAudit {
  readonly #audit: AuditSink | undefined;
  readonly #logger: Logger;

  constructor(audit: AuditSink | undefined, logger: Logger) {
    this.#audit = audit;
    this.#logger = logger;
  }

  /** Appends the record; rejects when the audit log cannot take it (a login then does not happen). */
  async record(
    action: ConsoleAuditAction,
    request: FastifyRequest,
    operator: string | undefined,
    detail: Readonly<Record<string, string>>,
  ): Promise<void> {
    await this.#audit?.append({
      kind: 'operator',
      requestId: `console_${randomId(9)}`,
      agent: '-',
      action,
      ...(operator === undefined ? {} : { operator }),
      detail: { address: request.socket.remoteAddress ?? 'unknown', ...detail },
    });
  }

  /**
   * Appends the record of something that stands whether or not it is recorded (a refusal, a logout: stopping is
   * always allowed); a failure is logged.
   */
  async recordAnyway(
    action: ConsoleAuditAction,
    request: FastifyRequest,
    operator: string | undefined,
    detail: Readonly<Record<string, string>>,
  ): Promise<void> {
    await this.record(action, request, operator, detail).catch((err: unknown) => {
      this.#logger.error({ err, action }, 'audit append of a console session record failed');
    });
  }
}
