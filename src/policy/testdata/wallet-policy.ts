import type { CofreConfig } from '../../config/config-schema.js';
import { parseConfig } from '../../config/load-config.js';
import type { PolicyQuestion, ResolvedMove, ResolvedTransaction } from '../policy-types.js';
import { RulePolicy } from '../rule-policy.js';

/** Accounts, an address book, two chains (one priced in USDC) and three wallets, for wallet policy tests. */
export const WALLET_BASE = `backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
accounts:
  paper: { venue: binance, mode: paper, baseUrl: 'http://127.0.0.1:1', credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
addressBook:
  cold: { asset: USDC, network: mainnet, address: '0x1111111111111111111111111111111111111111' }
  alice: { asset: ETH, network: mainnet, address: '0x2222222222222222222222222222222222222222' }
  bob: { asset: ETH, network: mainnet, address: '0x3333333333333333333333333333333333333333' }
chains:
  mainnet:
    chainId: 1
    rpc: ['http://127.0.0.1:8545']
    quote: USDC
    prices: { ETH: 3000, USDC: 1 }
    contracts:
      usdc: { address: '0x4444444444444444444444444444444444444444', erc20: { symbol: USDC, decimals: 6, permit: true } }
      router: { address: '0x5555555555555555555555555555555555555555', abi: ['function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline)'] }
      permit2: { address: '0x000000000022D473030F116dDEE9F6B43aC78BA3', permit2: true }
  base:
    chainId: 8453
    rpc: ['http://127.0.0.1:8546']
    contracts:
      vault: { address: '0x6666666666666666666666666666666666666666' }
wallets:
  hot: { chain: mainnet, key: { type: embedded, secret: 'local:w#hot' } }
  treasury: { chain: mainnet, key: { type: embedded, secret: 'local:w#treasury' } }
  l2: { chain: base, key: { type: embedded, secret: 'local:w#l2' } }
`;

export function walletConfig(policies: string): CofreConfig {
  return parseConfig(`${WALLET_BASE}policies:\n${policies}`, { sourcePath: 'c.yaml' });
}

export function walletEngine(policies: string, now = new Date('2026-06-01T11:00:00Z')): RulePolicy {
  const config = walletConfig(policies);
  return new RulePolicy({
    policies: config.policies,
    accounts: config.accounts,
    addressBook: config.addressBook,
    wallets: config.wallets,
    now: () => now,
  });
}

/** A native transfer of `amount` ETH from `hot` to `to`, priced at 3000 USDC. */
export function ethTransfer(
  amount: string,
  to = 'alice',
  fields: Partial<ResolvedTransaction> = {},
): ResolvedTransaction {
  return transaction([{ kind: 'value', asset: 'ETH', amount, to }], { to, ...fields });
}

/** An ERC-20 `transfer` of `amount` USDC to `to`. */
export function usdcTransfer(
  amount: string,
  to = 'cold',
  fields: Partial<ResolvedTransaction> = {},
): ResolvedTransaction {
  return transaction([{ kind: 'transfer', asset: 'USDC', amount, to }], {
    to: 'usdc',
    contract: 'usdc',
    function: 'transfer',
    selector: '0xa9059cbb',
    ...fields,
  });
}

/** An ERC-20 `approve` of `amount` USDC to `spender`. */
export function usdcApprove(
  amount: string,
  spender = 'router',
  fields: Partial<ResolvedTransaction> = {},
): ResolvedTransaction {
  return transaction([{ kind: 'approval', asset: 'USDC', amount, to: spender }], {
    to: 'usdc',
    contract: 'usdc',
    function: 'approve',
    selector: '0x095ea7b3',
    ...fields,
  });
}

const PRICES: Readonly<Record<string, string>> = { ETH: '3000', USDC: '1' };

/** A transaction from `hot` on mainnet with `moves`; recipients and notional worked out from them. */
export function transaction(
  moves: readonly ResolvedMove[],
  fields: Partial<ResolvedTransaction> = {},
): ResolvedTransaction {
  let notional = 0n;
  for (const m of moves) notional += (scaled(m.amount) * scaled(PRICES[m.asset] ?? '0')) / 10n ** 18n;
  return {
    wallet: 'hot',
    chain: 'mainnet',
    chainId: 1,
    kind: 'transaction',
    to: moves[0]?.to ?? 'alice',
    raw: false,
    moves,
    recipients: [...new Set(moves.map((m) => m.to))],
    unlimitedApproval: false,
    gas: { limit: 60_000, maxFeePerGasGwei: '20' },
    notional: { quote: 'USDC', amount: unscaled(notional) },
    ...fields,
  };
}

function scaled(text: string): bigint {
  const [whole = '0', fraction = ''] = text.split('.');
  return BigInt(whole) * 10n ** 18n + BigInt(fraction.padEnd(18, '0'));
}

function unscaled(value: bigint): string {
  const fraction = (value % 10n ** 18n).toString().padStart(18, '0').replace(/0+$/, '');
  return fraction === '' ? (value / 10n ** 18n).toString() : `${value / 10n ** 18n}.${fraction}`;
}

/** The question `send_transaction` asks for `tx` (its wallet), by agent `bot` under policy `p`. */
export function sendQuestion(tx: ResolvedTransaction, fields: Partial<PolicyQuestion> = {}): PolicyQuestion {
  return {
    agentId: 'bot',
    policy: 'p',
    action: 'send_transaction',
    account: undefined,
    wallet: tx.wallet,
    transaction: tx,
    ...fields,
  };
}
