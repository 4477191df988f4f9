import { encodeFunctionData, erc20Abi, maxUint256 } from 'viem';
import { describe, expect, it } from 'vitest';

import { resolveCall } from './resolve-call.js';
import { CHAIN, COLD, names, PERMIT2, WALLET } from './testdata/mainnet-names.js';

const usdc = CHAIN.contracts['usdc']!;
const router = CHAIN.contracts['router']!;

describe('resolveCall: known functions with named arguments', () => {
  it('encodes an ERC-20 transfer in base units and judges it as a transfer to the label', () => {
    const call = resolveCall(
      names(),
      'usdc',
      usdc,
      { function: 'transfer', args: { to: 'cold', amount: '10.5' } },
      WALLET,
    );
    expect(call.data).toBe(
      encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [COLD, 10_500_000n] }),
    );
    expect(call).toMatchObject({
      function: 'transfer',
      selector: '0xa9059cbb',
      raw: false,
      moves: [{ kind: 'transfer', asset: 'USDC', amount: '10.5', to: 'cold' }],
      recipients: ['cold'],
      unlimitedApproval: false,
    });
  });

  it('flags an approval of 2^255 base units or more as unlimited', () => {
    const max = resolveCall(
      names(),
      'usdc',
      usdc,
      {
        function: 'approve',
        args: {
          spender: 'router',
          amount: '115792089237316195423570985008687907853269984665640564039457584007913129.639935',
        },
      },
      WALLET,
    );
    expect(max).toMatchObject({ function: 'approve', unlimitedApproval: true, recipients: ['router'] });
    expect(max.moves[0]).toMatchObject({ kind: 'approval', asset: 'USDC', to: 'router' });
    const small = resolveCall(
      names(),
      'usdc',
      usdc,
      { function: 'approve', args: { spender: 'router', amount: '100' } },
      WALLET,
    );
    expect(small.unlimitedApproval).toBe(false);
  });

  it('counts labels among address arguments as recipients, never self or a contract passed as data', () => {
    const call = resolveCall(
      names(),
      'router',
      router,
      {
        function: 'swapExactTokensForTokens',
        args: { amountIn: '1000', amountOutMin: '1', path: ['usdc', 'router'], to: 'self', deadline: '1' },
      },
      WALLET,
    );
    expect(call).toMatchObject({ function: 'swapExactTokensForTokens', moves: [], recipients: [] });
    const toLabel = resolveCall(
      names(),
      'router',
      router,
      {
        function: 'swapExactTokensForTokens',
        args: { amountIn: '1', amountOutMin: '1', path: ['usdc'], to: 'alice', deadline: '1' },
      },
      WALLET,
    );
    expect(toLabel.recipients).toEqual(['alice']);
  });

  it('refuses an unknown function, missing or unknown arguments, bad values and unknown names', () => {
    const bad = (call: Parameters<typeof resolveCall>[3], contract = usdc, name = 'usdc'): unknown => {
      try {
        resolveCall(names(), name, contract, call, WALLET);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(bad({ function: 'mint', args: {} })).toMatchObject({
      code: 'COFRE_INPUT_INVALID',
      message: expect.stringMatching(/known: transfer, approve/),
    });
    expect(bad({ function: 'transfer', args: { to: 'cold' } })).toMatchObject({
      code: 'COFRE_INPUT_INVALID',
      message: expect.stringMatching(/missing amount/),
    });
    expect(bad({ function: 'transfer', args: { to: 'cold', amount: '1', memo: 'x' } })).toMatchObject({
      message: expect.stringMatching(/unknown memo/),
    });
    expect(bad({ function: 'transfer', args: { to: 'cold', amount: '0.0000001' } })).toMatchObject({
      message: expect.stringMatching(/6 decimal places/),
    });
    expect(bad({ function: 'transfer', args: { to: 'nobody', amount: '1' } })).toMatchObject({
      code: 'COFRE_DESTINATION_UNKNOWN',
    });
    expect(bad({ function: 'transfer', args: { to: 'elsewhere', amount: '1' } })).toMatchObject({
      code: 'COFRE_DESTINATION_UNKNOWN',
    });
    expect(bad({ function: 'transfer', args: { to: COLD, amount: '1' } })).toMatchObject({
      code: 'COFRE_DESTINATION_UNKNOWN',
    });
    expect(
      bad(
        {
          function: 'swapExactTokensForTokens',
          args: { amountIn: '1.5', amountOutMin: '1', path: [], to: 'self', deadline: '1' },
        },
        router,
        'router',
      ),
    ).toMatchObject({
      message: expect.stringMatching(/amountIn.*not an integer/),
    });
  });
});

describe('resolveCall: raw calldata', () => {
  it('decodes a known selector, so an unlimited approve in raw form is judged as one', () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [PERMIT2, maxUint256] });
    expect(resolveCall(names(), 'usdc', usdc, { data }, WALLET)).toMatchObject({
      raw: true,
      function: 'approve',
      selector: '0x095ea7b3',
      unlimitedApproval: true,
      moves: [{ kind: 'approval', asset: 'USDC', to: 'permit2' }],
    });
  });

  it('leaves an unknown selector undecoded (only a rule naming it can allow it)', () => {
    expect(resolveCall(names(), 'usdc', usdc, { data: '0xdeadbeef00' }, WALLET)).toEqual({
      data: '0xdeadbeef00',
      function: undefined,
      selector: '0xdeadbeef',
      raw: true,
      moves: [],
      recipients: [],
      unlimitedApproval: false,
    });
  });

  it('refuses calldata naming an address that is not configured, or whose arguments do not decode', () => {
    const data = encodeFunctionData({
      abi: erc20Abi,
      functionName: 'transfer',
      args: ['0x8888888888888888888888888888888888888888', 1n],
    });
    expect(() => resolveCall(names(), 'usdc', usdc, { data }, WALLET)).toThrow(
      /no configured label or contract/,
    );
    expect(() => resolveCall(names(), 'usdc', usdc, { data: '0xa9059cbb00' }, WALLET)).toThrow(
      /do not decode/,
    );
  });
});
