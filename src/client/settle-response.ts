import type { ActionName, ActionResponse, ActionResult } from './action-types.js';
import { CofreDeniedError, CofrePendingApprovalError, CofreRequestError } from './client-errors.js';

/**
 * The typed methods' reading of an answer: the result when it was executed, else an error.
 *
 * Pending approval is thrown rather than returned: a method's value is always a result, so code that forgets the
 * approval case stops there instead of reading a pending order as a placed one (money is at stake). The error
 * carries the requestId and the approval ticket to wait on.
 */
export function settle<A extends ActionName>(response: ActionResponse<A>): ActionResult<A> {
  switch (response.status) {
    case 'executed':
      // An executed answer always carries its result (the server's contract, checked in test/e2e).
      return response.result as ActionResult<A>;
    case 'denied':
      throw new CofreDeniedError(response);
    case 'pending_approval':
      throw new CofrePendingApprovalError(response);
    case 'failed': {
      const error = response.error;
      throw new CofreRequestError(
        error?.code ?? 'COFRE_INTERNAL',
        error?.message ?? `request ${response.requestId} failed`,
        {
          requestId: response.requestId,
          retryable: error?.retryable ?? false,
          venueText: error?.venueText,
          response,
        },
      );
    }
  }
}
