import type { DelegationConfig } from '../config/identity-config.js';
import { isCofreError } from '../errors.js';
import { mintDelegation, type MintedDelegation } from '../identity/delegation.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { chainOf } from './broker-audit.js';
import type { BrokerContext } from './broker-types.js';
import { DELEGATION_RULE } from './delegation-gate.js';
import { randomId } from './random-id.js';

/** `agents.delegation` when the broker is given none (unit tests): the config's defaults. */
export const DEFAULT_DELEGATION: DelegationConfig = { maxDepth: 3, maxTtl: 3_600_000 };

/** What a delegation is recorded as: an `intent` of action `delegate` by the parent (never restored or replayed). */
export const DELEGATE_ACTION = 'delegate';

/**
 * Mints a child token for `parent` and puts it on record: an `intent` record (action `delegate`, the parent as
 * agent with its own chain, the child's id, grant and expiry in `detail`; never the token), `allow` for a mint and
 * `deny` with the reason for a refusal. SECURITY: fails closed — a mint whose record cannot be made durable is
 * revoked before the error is thrown, so no token exists that the log does not show.
 */
export async function delegateAudited(
  ctx: BrokerContext,
  parent: AuthenticatedAgent,
  input: unknown,
): Promise<MintedDelegation> {
  const { state, policy, audit } = ctx.deps;
  const now = ctx.now();
  const requestId = `dlg_${randomId(12)}`;
  const record = {
    kind: 'intent' as const,
    requestId,
    agent: parent.id,
    ...chainOf(parent),
    action: DELEGATE_ACTION,
    rule: DELEGATION_RULE,
  };
  let minted: MintedDelegation;
  try {
    minted = await mintDelegation(
      { state, policy, config: ctx.deps.delegation ?? DEFAULT_DELEGATION, now },
      parent,
      input,
    );
  } catch (err) {
    if (isCofreError(err) && err.code === 'COFRE_DELEGATION_REFUSED') {
      const child = (err.details as { agent?: unknown } | undefined)?.agent;
      await audit
        .append({ ...record, decision: 'deny', detail: { child, reason: err.message } }, { wait: 'written' })
        .catch((cause: unknown) => {
          ctx.deps.logger.error({ err: cause, requestId }, 'audit append of a refused delegation failed');
        });
    }
    throw err;
  }
  try {
    await audit.append({
      ...record,
      decision: 'allow',
      detail: { child: minted.agent, grant: minted.grant, expiresAt: minted.expiresAt.toISOString() },
    });
  } catch (err) {
    try {
      await state.revokeAgentSession(minted.grant.tokenId, ctx.now());
    } catch (cause) {
      ctx.deps.logger.error(
        { err: cause, requestId },
        'could not revoke a delegated token whose mint was not recorded',
      );
    }
    throw err;
  }
  return minted;
}
