/**
 * Fault injection for the data plane: rules in the order added, each used up after `times` matching requests.
 * Only requests that carry an `Authorization` header match, so the SDK's unauthenticated challenge request (the
 * first of each client) is never the one that fails and counts in tests stay predictable.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { sendJson } from './http-io.js';
import type { StandInFault, StandInFaultRule } from './index.js';
import { kvErrors } from './key-vault-errors.js';

interface ActiveRule {
  readonly rule: StandInFaultRule;
  remaining: number;
}

export class FaultQueue {
  private rules: ActiveRule[] = [];

  add(rule: StandInFaultRule): void {
    const times = rule.times ?? 1;
    if (!Number.isInteger(times) || times < 1)
      throw new Error('key-vault stand-in: fault times must be a positive integer');
    this.rules.push({ rule, remaining: times });
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault for this request, using up one of its rule's times; `undefined` when none matches. */
  take(method: string, path: string): StandInFault | undefined {
    const active = this.rules.find(
      ({ rule }) =>
        (rule.method === undefined || rule.method.toUpperCase() === method) &&
        (rule.pathPrefix === undefined || path.startsWith(rule.pathPrefix)),
    );
    if (active === undefined) return undefined;
    active.remaining -= 1;
    if (active.remaining === 0) this.rules = this.rules.filter((r) => r !== active);
    return active.rule.fault;
  }
}

/**
 * Applies a fault. Returns `'answered'` when the fault was the answer (throttle, 5xx, drop), `'continue'` when the
 * request should still be served (after a `slow` delay).
 */
export async function applyFault(
  fault: StandInFault,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<'answered' | 'continue'> {
  switch (fault.kind) {
    case 'throttle': {
      const e = kvErrors.throttled(fault.retryAfterSeconds);
      sendJson(res, e.status, e.body, e.headers);
      return 'answered';
    }
    case 'status': {
      const e = kvErrors.serverError(fault.status);
      sendJson(res, e.status, e.body);
      return 'answered';
    }
    case 'slow':
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      return 'continue';
    case 'drop':
      req.socket.destroy();
      return 'answered';
  }
}
