import { z } from 'zod';

// Issue 19: the results of the wallet actions, as agents and clients see them. Addresses appear only as the
// wallet's own (`address`) and in the chain's records (`hash`); destinations are named by label, never by address.

const move = z.object({
  kind: z.enum(['value', 'transfer', 'approval']),
  asset: z.string(),
  amount: z.string().describe('In units of the asset, e.g. "10.5".'),
  to: z.string().describe('The label or contract name that receives it or may spend it.'),
});

/** What a transaction or typed data is, decoded: shown before it is signed and with its outcome. */
export const transactionView = z
  .object({
    wallet: z.string(),
    chain: z.string(),
    chainId: z.number(),
    kind: z.enum(['transaction', 'permit', 'permit2', 'typed-data-unknown']),
    to: z.string(),
    contract: z.string().optional(),
    function: z.string().optional(),
    moves: z.array(move),
    gas: z.object({ limit: z.number(), maxFeePerGasGwei: z.string() }).optional(),
    notional: z.object({ quote: z.string(), amount: z.string() }).optional(),
  })
  .describe('The transaction as it would be signed: call decoded, moves valued, recipients by name.');

const decisionView = z.object({
  decision: z.enum(['allow', 'deny', 'approval', 'confirm']),
  rule: z.string(),
  reason: z.string(),
  limits: z.array(z.object({ limit: z.string(), cap: z.string(), used: z.string(), needs: z.string() })),
});

export const getWalletResult = z.object({
  wallet: z.string(),
  chain: z.string(),
  chainId: z.number(),
  address: z.string().describe("The wallet's own address (fund it here)."),
  balances: z.array(z.object({ asset: z.string(), amount: z.string() })),
});

export const previewTransactionResult = z.object({
  transaction: transactionView,
  simulation: z.object({
    ok: z.boolean(),
    gas: z.number().optional(),
    error: z.string().optional().describe('Why it would revert: untrusted text from the chain.'),
  }),
  sent: z.literal(false),
  decision: decisionView,
});

export const sendTransactionResult = z.object({
  transaction: transactionView,
  hash: z.string().describe('The transaction hash.'),
  nonce: z.number(),
  status: z
    .enum(['mined', 'reverted', 'pending'])
    .describe('"pending" when no receipt came within the chain\'s receiptTimeout.'),
  blockNumber: z.number().optional(),
});

export const signTypedDataResult = z.object({
  transaction: transactionView,
  signature: z.string().describe('The 65-byte signature, hex.'),
});
