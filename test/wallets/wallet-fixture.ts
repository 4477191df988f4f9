// A served cofre with wallets (test/e2e/served-broker.ts: `cofre serve`'s own wiring) on a local ganache chain, with
// one wallet key in moto's KMS (ECC_SECG_P256K1, created here with the KMS SDK) and one embedded key in the store.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import { type CofreClient, createCofreClient } from '../../src/client/index.js';
import { type ServedFixture, startServedBroker } from '../e2e/served-broker.js';
import type { GanachePeer } from '../peers/ganache.js';
import type { MotoPeer } from '../peers/peers.js';
import { deployTestToken } from './test-token.js';

/** Addresses of contracts configured on the chain without code there (only the token is deployed). */
export const ROGUE_ADDRESS = '0x000000000000000000000000000000000000BAD0';
export const PERMIT2_ADDRESS = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
/** EIP-2612's Permit type (https://eips.ethereum.org/EIPS/eip-2612), as a token's typed data declares it. */
export const EIP2612_PERMIT = [
  { name: 'owner', type: 'address' },
  { name: 'spender', type: 'address' },
  { name: 'value', type: 'uint256' },
  { name: 'nonce', type: 'uint256' },
  { name: 'deadline', type: 'uint256' },
];

export interface WalletFixture {
  readonly fx: ServedFixture;
  /** The KMS key of wallet `kms` (absent without moto: then only wallet `dev` exists). */
  readonly kmsKeyId: string | undefined;
  /** The deployed TestToken (`tok`, ERC-20 + EIP-2612); ganache's first account holds its supply. */
  readonly token: `0x${string}`;
  /** The embedded wallet's key (the canary of the leak test) and its address. */
  readonly embeddedKey: `0x${string}`;
  readonly embeddedAddress: `0x${string}`;
  clientFor(agent: string, policy?: string): Promise<CofreClient>;
  close(): Promise<void>;
}

/**
 * Policy `bot`: reads and previews on both wallets; sends ETH to `treasury` (at most 1 ETH each; from 1 to 3 ETH
 * after an operator's approval); approves and
 * permits the token `tok` up to 100 TOK (approvals must name the function); transfers `tok` to `desk`. Nothing may
 * call `rogue`. `limits` are config lines added under the policy (e.g. a rolling cap).
 */
export async function startWalletFixture(
  ganache: GanachePeer,
  moto: MotoPeer | undefined,
  options: {
    readonly limits?: readonly string[];
    /** The chain's `rpc:` list as YAML (default: the ganache proxy's URL). */
    readonly rpc?: string;
    readonly receiptTimeout?: string;
    /** More entries of the embedded store (e.g. an RPC URL with an API key). */
    readonly secrets?: Readonly<Record<string, string>>;
  } = {},
): Promise<WalletFixture> {
  const kmsKeyId = moto === undefined ? undefined : await createKmsKey(moto);
  const names = kmsKeyId === undefined ? 'dev' : 'kms, dev';
  const token = await deployTestToken(ganache, 10n ** 24n);
  const embeddedKey = generatePrivateKey();
  const [, treasury, desk] = ganache.accounts;
  const fx = await startServedBroker(
    () => [
      'chains:',
      '  local:',
      `    chainId: ${ganache.chainId}`,
      `    rpc: [${options.rpc ?? `"${ganache.url}"`}]`,
      '    quote: USD',
      '    prices: { ETH: "2000", TOK: "1" }',
      `    receiptTimeout: ${options.receiptTimeout ?? '10s'}`,
      '    contracts:',
      `      tok: { address: "${token}", erc20: { symbol: TOK, decimals: 18, permit: true } }`,
      `      rogue: { address: "${ROGUE_ADDRESS}", abi: ["function drain(address to)"] }`,
      `      permit2: { address: "${PERMIT2_ADDRESS}", permit2: true }`,
      'wallets:',
      ...(kmsKeyId === undefined
        ? []
        : [
            `  kms: { chain: local, key: { type: aws-kms, keyId: "${kmsKeyId}", region: us-east-1, endpoint: "${moto?.endpoint ?? ''}" } }`,
          ]),
      '  dev: { chain: local, key: { type: embedded, secret: "local:wallets/dev" } }',
      'addressBook:',
      `  treasury: { asset: ETH, network: local, address: "${treasury ?? ''}" }`,
      `  desk: { asset: TOK, network: local, address: "${desk ?? ''}" }`,
      'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000 } }',
      'policies:',
      '  bot:',
      '    rules:',
      '      - allow: [get_wallet, preview_transaction]',
      `        wallets: [${names}]`,
      '      - name: eth-out',
      '        allow: [send_transaction]',
      `        wallets: [${names}]`,
      '        destinations: [treasury]',
      '        assets: [ETH]',
      '        maxAmount: 1',
      '      - name: eth-out-large',
      '        approve: [send_transaction]',
      `        wallets: [${names}]`,
      '        destinations: [treasury]',
      '        assets: [ETH]',
      '        minAmount: 1',
      '        maxAmount: 3',
      '      - name: token-approvals',
      '        allow: [send_transaction, sign_typed_data]',
      `        wallets: [${names}]`,
      '        contracts: [tok]',
      '        functions: [approve, permit]',
      '        maxAmount: 100',
      '      - name: token-out',
      '        allow: [send_transaction]',
      `        wallets: [${names}]`,
      '        contracts: [tok]',
      '        functions: [transfer]',
      '        destinations: [desk]',
      ...(options.limits ?? []),
    ],
    {},
    { secrets: { 'wallets/dev': embeddedKey, ...options.secrets } },
  );
  return {
    fx,
    kmsKeyId,
    token,
    embeddedKey,
    embeddedAddress: privateKeyToAccount(embeddedKey).address,
    async clientFor(agent, policy = 'bot') {
      return createCofreClient({ baseUrl: fx.url, token: await fx.agentToken(agent, policy) });
    },
    close: () => fx.close(),
  };
}

/** A secp256k1 signing key in moto's KMS, made with the KMS SDK as an operator would. */
async function createKmsKey(moto: MotoPeer): Promise<string> {
  const admin = new KMSClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const created = await admin.send(
      new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' }),
    );
    const keyId = created.KeyMetadata?.KeyId;
    if (keyId === undefined) throw new Error('moto created no key');
    return keyId;
  } finally {
    admin.destroy();
  }
}
