import { createHash } from 'node:crypto';

import { CofreError } from '../errors.js';
import type { ResolvedTransaction } from '../policy/policy-types.js';
import type { VenueCallRecord } from '../venues/venue-account.js';
import type { EvmWallet, TransactionSigning, TypedDataSigning } from '../wallets/evm-wallet.js';
import type { Hex } from '../wallets/signer.js';
import type { WalletSendPayload, WalletService } from '../wallets/wallet-service.js';
import { chainOf } from './broker-audit.js';
import type { BrokerContext, Claimed } from './broker-types.js';
import { previewDecision } from './preview-decision.js';
import type { ResolvedAction } from './resolve-action.js';

/**
 * Issue 19, the send step of an allowed wallet action, after its intent is on record: `get_wallet` reads, a
 * preview simulates and reports the decision `send_transaction` would get, `send_transaction` takes the wallet's
 * next nonce, signs exactly the resolved payload and broadcasts it to the configured RPC only, `sign_typed_data`
 * signs. Sets `record.writeSent` once anything may have reached the chain.
 *
 * SECURITY: a transaction is signed only from the bound payload (what policy judged, what operators approved), and
 * broadcast only after a record of its hash and of the SHA-256 of its signed bytes is durable in the audit log: the
 * log proves what went out even when the answer is lost.
 */
export async function runWalletAction(
  ctx: BrokerContext,
  request: Claimed,
  input: unknown,
  resolved: ResolvedAction,
  record: VenueCallRecord,
): Promise<unknown> {
  const wallets = ctx.deps.wallets;
  const { wallet: name } = input as { wallet: string };
  if (wallets === undefined)
    throw new CofreError('COFRE_WALLET_UNKNOWN', `no wallet "${name}" is configured`);
  const wallet = wallets.wallet(name);
  if (request.action === 'get_wallet') {
    return {
      wallet: wallet.name,
      chain: wallet.chain.name,
      chainId: wallet.chainId,
      address: await wallet.address(),
      balances: await wallet.balances(),
    };
  }
  const payload = resolved.payload;
  if (payload?.kind !== 'wallet')
    throw new CofreError('COFRE_INTERNAL', 'a wallet action without its payload');
  if (request.action === 'preview_transaction') return preview(ctx, request, wallet, resolved, payload);
  if (request.action === 'sign_typed_data') {
    const signature = await wallet.signTypedData(typedDataOf(payload));
    return { transaction: transactionView(payload.transaction), signature };
  }
  if (request.action === 'send_transaction') {
    return sendTransaction(ctx, request, wallets, wallet, payload, record);
  }
  throw new CofreError('COFRE_INTERNAL', `${request.action} is not a wallet action`);
}

/** `preview_transaction`: simulated now, and the decision `send_transaction` would get; nothing reserved. */
async function preview(
  ctx: BrokerContext,
  request: Claimed,
  wallet: EvmWallet,
  resolved: ResolvedAction,
  payload: WalletSendPayload,
): Promise<unknown> {
  const simulation = await wallet.simulate(transactionOf(payload));
  const question = { ...resolved.question, action: 'send_transaction' as const };
  return {
    transaction: transactionView(payload.transaction),
    simulation,
    sent: false,
    decision: await previewDecision(ctx, request.agent, question),
  };
}

/** What one attempt under the wallet's nonce lease ended with. */
type Attempt =
  | { readonly kind: 'sent'; readonly hash: Hex; readonly nonce: number }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly hash: Hex; readonly nonce: number; readonly reason: string };

/**
 * `send_transaction`: simulated again (the chain may have moved since the request was resolved or approved), then,
 * under the wallet's nonce lease, signed, recorded (durable), broadcast. The receipt is waited for after the lease is
 * given back, up to the chain's `receiptTimeout` ("pending" after that).
 */
async function sendTransaction(
  ctx: BrokerContext,
  request: Claimed,
  wallets: WalletService,
  wallet: EvmWallet,
  payload: WalletSendPayload,
  record: VenueCallRecord,
): Promise<unknown> {
  const signing = transactionOf(payload);
  const simulation = await wallet.simulate(signing);
  if (!simulation.ok) {
    throw new CofreError(
      'COFRE_SIMULATION_FAILED',
      `the transaction would revert now, so it was not signed: ${simulation.error ?? 'no reason given'} (text from the chain, untrusted)`,
    );
  }
  const nonceKey = `${wallet.chainId}:${(await wallet.address()).toLowerCase()}`;
  const attempt = await ctx.halt.write(() =>
    wallets.nonces.withNextNonce<Attempt>(
      nonceKey,
      () => wallet.pendingCount(),
      async (nonce) => {
        let signed: { raw: Hex; hash: Hex };
        let sha256: string;
        try {
          signed = await wallet.signTransaction(signing, nonce);
          sha256 = createHash('sha256')
            .update(Buffer.from(signed.raw.slice(2), 'hex'))
            .digest('hex');
          // SECURITY: durable before the bytes leave: the log names every transaction that may reach the chain.
          await ctx.deps.audit.append(
            {
              kind: 'intent',
              requestId: request.requestId,
              agent: request.agent.id,
              ...chainOf(request.agent),
              action: request.action,
              detail: {
                signed: { wallet: wallet.name, chainId: wallet.chainId, nonce, hash: signed.hash, sha256 },
              },
            },
            { wait: 'durable' },
          );
        } catch (error) {
          return { outcome: 'not-sent', value: { kind: 'failed', error } };
        }
        record.sentSha256 = [...(record.sentSha256 ?? []), sha256];
        record.writeSent = true;
        const outcome = await wallet.broadcast(signed.raw, signed.hash);
        if (outcome.kind === 'broadcast') {
          return { outcome: 'broadcast', value: { kind: 'sent', hash: signed.hash, nonce } };
        }
        if (outcome.kind === 'refused') {
          return { outcome: 'not-sent', value: { kind: 'refused', reason: outcome.reason } };
        }
        return {
          outcome: 'unknown',
          value: { kind: 'unknown', hash: signed.hash, nonce, reason: outcome.reason },
        };
      },
    ),
  );
  switch (attempt.kind) {
    case 'failed':
      throw attempt.error;
    case 'refused':
      // Nothing reached the chain: the key and the reservation are given back (COFRE_VENUE_REJECTED, see keepsKey).
      throw new CofreError(
        'COFRE_VENUE_REJECTED',
        `the RPC refused the transaction and does not have it: ${attempt.reason} (text from the node, untrusted)`,
      );
    case 'unknown':
      // SECURITY: never retried: the same request may already be on its way to a block.
      throw new CofreError(
        'COFRE_VENUE_OUTCOME_UNKNOWN',
        `the transaction ${attempt.hash} (nonce ${attempt.nonce}) was handed to the RPC but no answer came (${attempt.reason}); look the hash up before sending anything again`,
      );
    case 'sent':
      break;
  }
  const receipt = await wallet.receipt(attempt.hash, wallet.chain.config.receiptTimeout);
  return {
    transaction: transactionView(payload.transaction),
    hash: attempt.hash,
    nonce: attempt.nonce,
    status: receipt?.status ?? 'pending',
    ...(receipt === undefined ? {} : { blockNumber: receipt.blockNumber }),
  };
}

function transactionOf(payload: WalletSendPayload): TransactionSigning {
  if (payload.signing.type !== 'transaction') throw new CofreError('COFRE_INTERNAL', 'not a transaction');
  return payload.signing;
}

function typedDataOf(payload: WalletSendPayload): TypedDataSigning {
  if (payload.signing.type !== 'typed-data') throw new CofreError('COFRE_INTERNAL', 'not typed data');
  return payload.signing;
}

/** A transaction as agents see it (wallet-results.ts `transactionView`): names, never addresses. */
export function transactionView(t: ResolvedTransaction): Record<string, unknown> {
  return {
    wallet: t.wallet,
    chain: t.chain,
    chainId: t.chainId,
    kind: t.kind,
    to: t.to,
    ...(t.contract === undefined ? {} : { contract: t.contract }),
    ...(t.function === undefined ? {} : { function: t.function }),
    moves: t.moves,
    ...(t.gas === undefined ? {} : { gas: t.gas }),
    ...(t.notional === undefined ? {} : { notional: t.notional }),
  };
}
