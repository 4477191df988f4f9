import { isCofreError } from '../errors.js';
import type { PolicyDecision } from '../policy/policy-types.js';
import type { SecretValue } from '../secrets/secret-value.js';
import type { ReservationSettlement } from '../state/limit-ledger.js';
import type { VenueCallRecord } from '../venues/venue-account.js';
import { venueTextOf } from '../venues/venue-error.js';
import { chainOf } from './broker-audit.js';
import { keptAnswerOf } from './broker-encryption.js';
import type { ActionResponse, BrokerContext, Claimed } from './broker-types.js';
import { keepsKey } from './idempotency.js';
import { scrubValue } from './scrub.js';

/**
 * The last steps of every claimed request: scrub, record the outcome (giving the key back when nothing was
 * placed; ending the limit reservation with `settlement` in the same transaction), and audit it. Never throws: the agent gets its answer even when the state store or the audit log fails
 * at this point (logged loudly; a request whose outcome could not be recorded stays `executing` until
 * {@link Broker.reconcileInterrupted} settles it).
 */
export async function finish(
  ctx: BrokerContext,
  request: Claimed,
  response: ActionResponse,
  record: VenueCallRecord,
  settlement?: ReservationSettlement,
): Promise<ActionResponse> {
  const { requestId } = request;
  const { answer, text: scrubbedText } = scrubbed(ctx, response, record.held);
  // SECURITY (issue 19): an encryption action's result (plaintext, data key) goes to the agent only, never the row.
  const kept = keptAnswerOf(request.action, answer);
  const text = kept === answer ? scrubbedText : JSON.stringify(kept);
  const releaseKey = answer.status === 'denied' || !keepsKey(answer.error?.code, record.writeSent);
  try {
    const at = ctx.now();
    if (request.unstored !== undefined) {
      // Its one row, finished, written with the others that finish in this turn of the event loop.
      await ctx.deps.state.recordFinished({
        ...request.unstored,
        status: answer.status,
        response: text,
        updatedAt: at,
      });
    } else {
      await ctx.deps.state.finishRequest(requestId, {
        status: answer.status,
        response: text,
        at,
        releaseKey: request.idempotencyKey !== undefined && releaseKey,
        settlement,
      });
    }
  } catch (err) {
    ctx.deps.logger.error(
      { err, requestId },
      'could not record the outcome of a request; it stays executing until `cofre request reconcile` settles it',
    );
  }
  if (answer.status !== 'denied' && answer.status !== 'pending_approval') {
    // Written, not waited for to be durable: the intent before it is. A power failure within the next few
    // milliseconds can lose this line: the action stays on record by its intent, and if the state lost the outcome
    // too, the request is settled at the venue at the next start (restore-from-audit.ts, broker-reconcile.ts).
    await ctx.deps.audit
      .append(
        {
          kind: 'outcome',
          requestId,
          agent: request.agent.id,
          ...chainOf(request.agent),
          action: request.action,
          account: request.account,
          status: answer.status,
          detail: outcomeDetail(answer, record),
        },
        { wait: 'written' },
      )
      .catch((err: unknown) => {
        // The action already happened; the intent is on record. Losing the outcome line is logged loudly.
        ctx.deps.logger.error({ err, requestId }, 'audit append of an outcome failed');
      });
  }
  return answer;
}

/**
 * `response` with every credential the request's venue calls held removed, in every encoding, and its JSON text.
 * SECURITY: fails closed — if the response cannot be scrubbed and serialised (a held credential already zeroed, a
 * value JSON cannot hold), the agent gets a generic internal error, never the raw response.
 */
export function scrubbed(
  ctx: BrokerContext,
  response: ActionResponse,
  held: readonly SecretValue[],
): { readonly answer: ActionResponse; readonly text: string } {
  try {
    const answer = scrubValue(response, held);
    return { answer, text: JSON.stringify(answer) };
  } catch (err) {
    ctx.deps.logger.error(
      { err, requestId: response.requestId },
      'could not scrub a response; answered with a generic error instead',
    );
    const answer: ActionResponse = {
      requestId: response.requestId,
      status: 'failed',
      ...(response.rule === undefined ? {} : { rule: response.rule }),
      error: internalError(response.requestId),
    };
    return { answer, text: JSON.stringify(answer) };
  }
}

/** Domain errors pass through with their code; anything else is logged and shown generically. */
export function publicError(
  ctx: BrokerContext,
  err: unknown,
  requestId: string,
): NonNullable<ActionResponse['error']> {
  if (isCofreError(err, 'COFRE_CREDENTIALS_UNAVAILABLE')) {
    // The agent is told only that the account cannot be used now; the operator needs the reason.
    ctx.deps.logger.error({ err: err.cause, requestId }, 'the credentials of an account could not be read');
  }
  if (isCofreError(err) && err.code !== 'COFRE_INTERNAL') {
    const venueText = venueTextOf(err);
    return {
      code: err.code,
      message: err.message,
      retryable: err.retryable,
      ...(venueText === undefined ? {} : { venueText }),
    };
  }
  ctx.deps.logger.error({ err, requestId }, 'unexpected error while executing an action');
  return internalError(requestId);
}

/** What a caller sees of an unexpected error: the code and where to look, nothing of the error itself. */
function internalError(requestId: string): NonNullable<ActionResponse['error']> {
  return {
    code: 'COFRE_INTERNAL',
    message: `internal error; see the server log for request ${requestId}`,
    retryable: false,
  };
}

export function denied(requestId: string, decision: PolicyDecision): ActionResponse {
  return { requestId, status: 'denied', rule: decision.rule, reason: decision.reason };
}

/**
 * The outcome line's detail: the result's summary or the error code, and the SHA-256 of each write request that
 * left (`sentSha256`, see venues/sent-request-hash.ts), so the log proves what was sent — also when the answer was
 * lost.
 */
function outcomeDetail(answer: ActionResponse, record: VenueCallRecord): unknown {
  const detail = answer.error === undefined ? summarize(answer.result) : { error: answer.error.code };
  const sent = record.sentSha256;
  if (sent === undefined || sent.length === 0) return detail;
  return { ...(typeof detail === 'object' && detail !== null ? detail : {}), sentSha256: [...sent] };
}

/** A short, secret-free summary of a result for the audit outcome line. */
function summarize(result: unknown): unknown {
  if (typeof result !== 'object' || result === null) return undefined;
  const order = (result as { order?: { id?: string; clientOrderId?: string; status?: string } }).order;
  if (order !== undefined)
    return { orderId: order.id, clientOrderId: order.clientOrderId, orderStatus: order.status };
  return undefined;
}
