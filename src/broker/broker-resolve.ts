import type { Decimal, VenueAccount } from '../venues/venue-account.js';
import type { ActionName } from './actions.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import type { BrokerContext } from './broker-types.js';
import { grantRefusalFor } from './delegation-gate.js';
import { plainQuestion, resolveAction, type ResolvedAction } from './resolve-action.js';
import { openAccount } from './run-action.js';

/**
 * The resolve step: what the action would send (resolve-action.ts). An action the agent's policy can never allow on
 * that account is not resolved at all: policy denies it from its plain question, without the venue being asked
 * anything, so a denied agent cannot make cofre call a venue.
 */
export async function resolveStep(
  ctx: BrokerContext,
  agent: AuthenticatedAgent,
  name: ActionName,
  input: unknown,
): Promise<ResolvedAction> {
  const plain = plainQuestion(agent, name, input);
  const { policy, accounts } = ctx.deps;
  const reachable =
    policy.actionsFor(agent.policy).has(plain.action) &&
    (plain.account === undefined ||
      policy.accountsFor(agent.policy).includes(plain.account) ||
      accounts[plain.account] === undefined) &&
    // Issue 19: nor a wallet the policy never permits: no RPC or key is asked anything for it.
    (plain.wallet === undefined || policy.walletsFor(agent.policy).includes(plain.wallet)) &&
    // Issue 17: nor is a delegated agent's request outside its grants (the decision then says why).
    grantRefusalFor(agent, plain) === undefined;
  if (!reachable) return { question: plain, payload: undefined };
  // Least privilege (issue 12): an account whose key can do too much is refused here, before the venue is asked,
  // anything is recorded or its credentials are read. After the reachability check, so an agent without access to
  // the account learns nothing of its key.
  if (plain.account !== undefined && accounts[plain.account] !== undefined) {
    await ctx.deps.keyScope?.admit(plain.account);
  }
  return resolveAction(
    {
      venue: (id) => openAccount(ctx.deps, id),
      addressBook: ctx.deps.addressBook ?? {},
      referencePrice: ctx.deps.referencePrice ?? tickerPrice,
      wallets: ctx.deps.wallets,
    },
    agent,
    name,
    input,
  );
}

/** The reference price without a cache: the venue's last price, asked every time. */
async function tickerPrice(
  _account: string,
  venue: VenueAccount,
  symbol: string,
): Promise<Decimal | undefined> {
  return (await venue.fetchTicker(symbol)).last;
}
