import { describe, expect, it } from 'vitest';

import { resolveTypedData, type TypedDataJson } from './resolve-typed-data.js';
import { names, PERMIT2, PLAIN_TOKEN, ROUTER, USDC, WALLET } from './testdata/mainnet-names.js';

const PERMIT_TYPES = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
};

function permit(
  fields: { value?: string; owner?: string; spender?: string; chainId?: unknown; token?: string } = {},
): TypedDataJson {
  return {
    domain: {
      name: 'USD Coin',
      version: '2',
      chainId: fields.chainId ?? 1,
      verifyingContract: fields.token ?? USDC,
    },
    types: PERMIT_TYPES,
    primaryType: 'Permit',
    message: {
      owner: fields.owner ?? WALLET,
      spender: fields.spender ?? ROUTER,
      value: fields.value ?? '25000000',
      nonce: 0,
      deadline: '4102444800',
    },
  };
}

function permitSingle(amount: string): TypedDataJson {
  return {
    domain: { name: 'Permit2', chainId: 1, verifyingContract: PERMIT2 },
    types: {
      PermitSingle: [
        { name: 'details', type: 'PermitDetails' },
        { name: 'spender', type: 'address' },
        { name: 'sigDeadline', type: 'uint256' },
      ],
      PermitDetails: [
        { name: 'token', type: 'address' },
        { name: 'amount', type: 'uint160' },
        { name: 'expiration', type: 'uint48' },
        { name: 'nonce', type: 'uint48' },
      ],
    },
    primaryType: 'PermitSingle',
    message: { details: { token: USDC, amount, expiration: 1, nonce: 0 }, spender: ROUTER, sigDeadline: '1' },
  };
}

const failure = (typed: TypedDataJson): unknown => {
  try {
    resolveTypedData(names(), 1, WALLET, typed);
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('resolveTypedData', () => {
  it('judges an EIP-2612 Permit of a permit token as the approval it grants, and keeps it canonical', () => {
    const resolved = resolveTypedData(names(), 1, WALLET, permit());
    expect(resolved).toMatchObject({
      kind: 'permit',
      to: 'usdc',
      contract: 'usdc',
      function: 'permit',
      moves: [{ kind: 'approval', asset: 'USDC', amount: '25', to: 'router' }],
      recipients: ['router'],
      unlimitedApproval: false,
    });
    // integers as decimal strings, addresses checksummed: plain JSON, bound by approvals
    expect(resolved.typedData.message).toMatchObject({ nonce: '0', value: '25000000' });
  });

  it('flags an unlimited Permit', () => {
    const max = ((1n << 256n) - 1n).toString();
    expect(resolveTypedData(names(), 1, WALLET, permit({ value: max })).unlimitedApproval).toBe(true);
  });

  it('refuses another chain id or none (COFRE_CHAIN_MISMATCH), for every kind', () => {
    expect(failure(permit({ chainId: 137 }))).toMatchObject({ code: 'COFRE_CHAIN_MISMATCH' });
    expect(failure(permit({ chainId: '1x' }))).toMatchObject({ code: 'COFRE_CHAIN_MISMATCH' });
    const { chainId: _dropped, ...noChain } = permit().domain;
    expect(failure({ ...permit(), domain: noChain })).toMatchObject({ code: 'COFRE_CHAIN_MISMATCH' });
  });

  it('refuses a Permit whose owner is not the wallet, or whose spender or contract is not configured', () => {
    expect(failure(permit({ owner: ROUTER }))).toMatchObject({
      code: 'COFRE_INPUT_INVALID',
      message: expect.stringMatching(/owner/),
    });
    expect(failure(permit({ spender: '0x8888888888888888888888888888888888888888' }))).toMatchObject({
      code: 'COFRE_DESTINATION_UNKNOWN',
    });
    expect(failure(permit({ token: '0x8888888888888888888888888888888888888888' }))).toMatchObject({
      code: 'COFRE_DESTINATION_UNKNOWN',
    });
  });

  it('calls a Permit of a token without permit, and any other typed data, unknown (policy denies it)', () => {
    expect(resolveTypedData(names(), 1, WALLET, permit({ token: PLAIN_TOKEN })).kind).toBe(
      'typed-data-unknown',
    );
    const order: TypedDataJson = {
      domain: { name: 'Exchange', chainId: 1, verifyingContract: ROUTER },
      types: {
        Order: [
          { name: 'maker', type: 'address' },
          { name: 'amount', type: 'uint256' },
        ],
      },
      primaryType: 'Order',
      message: { maker: WALLET, amount: '1' },
    };
    expect(resolveTypedData(names(), 1, WALLET, order)).toMatchObject({
      kind: 'typed-data-unknown',
      to: 'router',
      moves: [],
    });
    // a Permit with one more field is not a Permit
    const widened = {
      ...permit(),
      types: { Permit: [...PERMIT_TYPES.Permit, { name: 'extra', type: 'uint256' }] },
    };
    expect(
      resolveTypedData(names(), 1, WALLET, { ...widened, message: { ...permit().message, extra: '1' } }).kind,
    ).toBe('typed-data-unknown');
  });

  it('judges Permit2 PermitSingle and PermitTransferFrom as approvals to their spender', () => {
    expect(resolveTypedData(names(), 1, WALLET, permitSingle('5000000'))).toMatchObject({
      kind: 'permit2',
      to: 'permit2',
      function: 'permit',
      moves: [{ kind: 'approval', asset: 'USDC', amount: '5', to: 'router' }],
      unlimitedApproval: false,
    });
    const maxUint160 = ((1n << 160n) - 1n).toString();
    expect(resolveTypedData(names(), 1, WALLET, permitSingle(maxUint160)).unlimitedApproval).toBe(true);
    const transferFrom: TypedDataJson = {
      domain: { name: 'Permit2', chainId: 1, verifyingContract: PERMIT2 },
      types: {
        PermitTransferFrom: [
          { name: 'permitted', type: 'TokenPermissions' },
          { name: 'spender', type: 'address' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
        TokenPermissions: [
          { name: 'token', type: 'address' },
          { name: 'amount', type: 'uint256' },
        ],
      },
      primaryType: 'PermitTransferFrom',
      message: { permitted: { token: USDC, amount: '7000000' }, spender: ROUTER, nonce: '1', deadline: '1' },
    };
    expect(resolveTypedData(names(), 1, WALLET, transferFrom)).toMatchObject({
      kind: 'permit2',
      moves: [{ kind: 'approval', asset: 'USDC', amount: '7', to: 'router' }],
    });
  });

  it('refuses malformed typed data with the field that is wrong', () => {
    expect(failure({ ...permit(), domain: { ...permit().domain, evil: 1 } })).toMatchObject({
      message: expect.stringMatching(/domain: unknown field evil/),
    });
    expect(
      failure({ ...permit(), types: { ...PERMIT_TYPES, EIP712Domain: [{ name: 'name', type: 'string' }] } }),
    ).toMatchObject({
      message: expect.stringMatching(/EIP712Domain does not match/),
    });
    expect(failure({ ...permit(), message: { ...permit().message, value: '-1' } })).toMatchObject({
      message: expect.stringMatching(/value: does not fit uint256/),
    });
    expect(failure({ ...permit(), message: { ...permit().message, spender: 'router' } })).toMatchObject({
      message: expect.stringMatching(/spender: an address/),
    });
    expect(failure({ ...permit(), primaryType: 'Nope' })).toMatchObject({
      message: expect.stringMatching(/primaryType "Nope" has no type/),
    });
  });
});
