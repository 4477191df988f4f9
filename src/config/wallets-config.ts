import { z } from 'zod';

import { configNameSchema } from './config-name.js';
import type { DeepReadonly } from './deep-freeze.js';
import { durationSchema } from './duration.js';
import { decimalSchema } from './policy-config.js';
import { secretRefSchema } from './secret-ref-schema.js';

// Issue 19: EVM chains and the wallets that sign on them. A wallet's key never leaves its key source: AWS KMS signs
// a digest (`ECC_SECG_P256K1`, non-exportable), or, for development, cofre reads a key from a secret backend and
// signs in process. The agent names a wallet, a destination label and, for a contract, one of its known functions.

const assetSchema = z
  .string()
  .regex(/^[A-Z0-9]{1,20}$/, { error: 'invalid asset; use the ticker in capitals, e.g. ETH' });

/** A 20-byte EVM address, hex with 0x (checksummed or not; compared case-insensitively). */
export const evmAddressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, { error: 'an EVM address: 0x and 40 hex digits' });

const awsRegionSchema = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, { error: 'an AWS region such as "us-east-1" or "eu-central-2"' });

/**
 * AWS KMS, as a key source for wallets and for encryption keys. SECURITY: no field for access keys; credentials come
 * from the SDK's default chain (IAM role, SSO, profile, environment).
 */
export const awsKmsShape = {
  keyId: z
    .string()
    .regex(/^[A-Za-z0-9:/_-]{1,2048}$/, { error: 'a KMS key id, key ARN, alias name (alias/…) or alias ARN' })
    .describe('The KMS key: its id, ARN, `alias/<name>` or alias ARN.'),
  region: awsRegionSchema
    .optional()
    .describe('AWS region of the key. Default: what the AWS SDK resolves (`AWS_REGION`, the profile).'),
  endpoint: z
    .url({ protocol: /^https?$/, error: 'invalid endpoint; expected an http(s) URL' })
    .optional()
    .describe(
      'Endpoint URL instead of the public regional one (a VPC endpoint, or a test server). The SDK also honours `AWS_ENDPOINT_URL_KMS`.',
    ),
  profile: z
    .string()
    .regex(/^[A-Za-z0-9_.+=,@-]{1,128}$/, { error: 'a profile name from ~/.aws/config' })
    .optional()
    .describe('Named profile in `~/.aws/config` for the default credential chain.'),
};

const walletKeySchema = z
  .discriminatedUnion('type', [
    z
      .strictObject({ type: z.literal('aws-kms').describe('Key source: `aws-kms`.'), ...awsKmsShape })
      .describe(
        'An asymmetric KMS key of spec `ECC_SECG_P256K1` and usage `SIGN_VERIFY`. cofre needs `kms:GetPublicKey` and `kms:Sign` on it, nothing else.',
      ),
    z
      .strictObject({
        type: z.literal('embedded').describe('Key source: `embedded`.'),
        secret: secretRefSchema.describe(
          'Secret reference to the 32-byte private key (64 hex digits, 0x optional). For development: the key is read into cofre to sign.',
        ),
      })
      .describe(
        'A private key kept in a secret backend (development; `cofre wallet create-key` writes one).',
      ),
  ])
  .describe('Where the wallet key lives; it never leaves it (KMS) or never leaves cofre (embedded).');

const rpcSchema = z
  .union([
    z
      .url({ protocol: /^https?$/, error: 'an http(s) URL' })
      .describe('An RPC URL that carries no credential.'),
    z
      .strictObject({
        secret: secretRefSchema.describe('Secret reference to an RPC URL that carries an API key.'),
      })
      .describe('An RPC URL read from a secret backend (when it carries an API key).'),
  ])
  .describe('A JSON-RPC endpoint. Transactions are broadcast only to these.');

const contractSchema = z
  .strictObject({
    address: evmAddressSchema.describe('The contract address. Agents name the contract, never the address.'),
    erc20: z
      .strictObject({
        symbol: assetSchema.describe('The token symbol, as policy `assets` and limits name it.'),
        decimals: z.int().min(0).max(36).describe('The token decimals (6 for USDC, 18 for most).'),
        permit: z
          .boolean()
          .default(false)
          .describe('The token supports EIP-2612 `permit` (typed-data approvals).'),
      })
      .optional()
      .describe('An ERC-20 token: `transfer` and `approve` are known, amounts in token units.'),
    permit2: z
      .literal(true)
      .optional()
      .describe("Uniswap's Permit2 contract: its typed data (PermitSingle, PermitTransferFrom) is known."),
    abi: z
      .array(z.string().regex(/^function [A-Za-z_$][A-Za-z0-9_$]*\(.*\)/, { error: 'a function signature' }))
      .min(1)
      .optional()
      .describe(
        'Further functions agents may call, human-readable, e.g. `function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline)`.',
      ),
  })
  .describe('A contract agents may name: its known functions are the ERC-20 ones, Permit2, and `abi`.');

const chainSchema = z
  .strictObject({
    chainId: z.int().min(1).describe('The EIP-155 chain id; cofre refuses an RPC that reports another.'),
    rpc: z.array(rpcSchema).min(1).describe('JSON-RPC endpoints, tried in order.'),
    nativeAsset: assetSchema.default('ETH').describe('The native asset (18 decimals), e.g. ETH, POL.'),
    quote: assetSchema
      .optional()
      .describe('The asset `prices` are in; transaction values then count toward `notional` limits in it.'),
    prices: z
      .record(assetSchema, decimalSchema)
      .optional()
      .describe('Prices per unit, in `quote`, of the native asset and tokens (operator-set, for caps).'),
    contracts: z
      .record(configNameSchema('contract'), contractSchema)
      .prefault({})
      .describe('Contracts agents may name, by name.'),
    receiptTimeout: durationSchema({ min: 0 })
      .prefault('30s')
      .describe('How long `send_transaction` waits for the receipt before answering with status `pending`.'),
  })
  .describe('An EVM chain: its id, RPC endpoints and the contracts agents may call.');

const walletSchema = z
  .strictObject({
    chain: configNameSchema('chain').describe('The chain, by its name in `chains`.'),
    key: walletKeySchema,
  })
  .describe('A wallet: one key on one chain. Agents name the wallet; they never hold its key.');

export const chainsSchema = z
  .record(configNameSchema('chain'), chainSchema)
  .prefault({})
  .describe('Issue 19: EVM chains by name.');

export const walletsSchema = z
  .record(configNameSchema('wallet'), walletSchema)
  .prefault({})
  .describe('Issue 19: wallets by name; an agent names one in `get_wallet`, `send_transaction`, …');

/**
 * Cross-references the schema alone cannot check: a wallet's chain is configured; an address-book label used on a
 * chain holds an EVM address. Reads defensively: runs when other parts failed too.
 */
export function checkWalletReferences(root: Record<string, unknown> | undefined, ctx: z.RefinementCtx): void {
  const chains = asRecord(root?.['chains']) ?? {};
  for (const [name, wallet] of Object.entries(asRecord(root?.['wallets']) ?? {})) {
    const chain = asRecord(wallet)?.['chain'];
    if (typeof chain !== 'string' || Object.hasOwn(chains, chain)) continue;
    const known = Object.keys(chains);
    ctx.addIssue({
      code: 'custom',
      path: ['wallets', name, 'chain'],
      message: `chain "${chain}" is not configured`,
      params: {
        hint: known.length === 0 ? 'add it under `chains:`' : `configured chains: ${known.join(', ')}`,
      },
    });
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export type ChainConfig = DeepReadonly<z.output<typeof chainSchema>>;
export type ContractConfig = DeepReadonly<z.output<typeof contractSchema>>;
export type WalletConfig = DeepReadonly<z.output<typeof walletSchema>>;
export type WalletKeyConfig = DeepReadonly<z.output<typeof walletKeySchema>>;
