import type { AddressBookEntry } from '../../broker/resolve-action.js';
import type { ChainConfig } from '../../config/wallets-config.js';
import { ChainNames } from '../chain-names.js';
import type { Hex } from '../signer.js';

/** The wallet the pure tests resolve for. */
export const WALLET: Hex = '0x9999999999999999999999999999999999999999';
export const USDC: Hex = '0x4444444444444444444444444444444444444444';
export const ROUTER: Hex = '0x5555555555555555555555555555555555555555';
export const PERMIT2: Hex = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
export const COLD: Hex = '0x1111111111111111111111111111111111111111';
export const PLAIN_TOKEN: Hex = '0x7777777777777777777777777777777777777777';

/** Mainnet with USDC (permit), a router, Permit2 and a token without permit; labels on mainnet and elsewhere. */
export const CHAIN: ChainConfig = {
  chainId: 1,
  rpc: ['http://127.0.0.1:1'],
  nativeAsset: 'ETH',
  quote: 'USDC',
  prices: { ETH: '3000' },
  receiptTimeout: 30_000,
  contracts: {
    usdc: { address: USDC, erc20: { symbol: 'USDC', decimals: 6, permit: true } },
    plain: { address: PLAIN_TOKEN, erc20: { symbol: 'PLN', decimals: 18, permit: false } },
    router: {
      address: ROUTER,
      abi: [
        'function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline)',
        'function poke()',
      ],
    },
    permit2: { address: PERMIT2, permit2: true },
  },
};

export const BOOK: Readonly<Record<string, AddressBookEntry>> = {
  cold: { asset: 'USDC', network: 'mainnet', address: COLD },
  alice: { asset: 'ETH', network: 'mainnet', address: '0x2222222222222222222222222222222222222222' },
  elsewhere: { asset: 'ETH', network: 'base', address: '0x3333333333333333333333333333333333333333' },
};

export function names(): ChainNames {
  return new ChainNames('mainnet', CHAIN, BOOK);
}
