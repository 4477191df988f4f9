import { getAddress, getTypesForEIP712Domain, hashTypedData, isAddress } from 'viem';

import { CofreError } from '../errors.js';
import type { ResolvedMove } from '../policy/policy-types.js';
import type { ChainNames } from './chain-names.js';
import { fromBaseUnits } from './evm-units.js';
import { UNLIMITED_APPROVAL } from './resolve-call.js';
import type { Hex } from './signer.js';

/** EIP-712 typed data as agents give it and as it is signed (plain JSON: integers as decimal strings). */
export interface TypedDataJson {
  readonly domain: Readonly<Record<string, unknown>>;
  readonly types: Readonly<Record<string, readonly { readonly name: string; readonly type: string }[]>>;
  readonly primaryType: string;
  readonly message: Readonly<Record<string, unknown>>;
}

/** Typed data resolved: what policy judges and the canonical typed data that is signed. */
export interface ResolvedTypedData {
  readonly kind: 'permit' | 'permit2' | 'typed-data-unknown';
  readonly to: string;
  readonly contract: string | undefined;
  readonly function: string | undefined;
  readonly moves: readonly ResolvedMove[];
  readonly recipients: readonly string[];
  readonly unlimitedApproval: boolean;
  readonly typedData: TypedDataJson;
}

type Fields = readonly { readonly name: string; readonly type: string }[];

/** The kinds cofre understands, by their exact types (EIP-2612; Uniswap Permit2's AllowanceTransfer and SignatureTransfer). */
const KNOWN: readonly { readonly primaryType: string; readonly types: Readonly<Record<string, Fields>> }[] = [
  {
    // https://eips.ethereum.org/EIPS/eip-2612
    primaryType: 'Permit',
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
  },
  {
    // https://github.com/Uniswap/permit2 (src/libraries/PermitHash.sol)
    primaryType: 'PermitSingle',
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
  },
  {
    primaryType: 'PermitTransferFrom',
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
  },
];

const DOMAIN_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'version',
  'chainId',
  'verifyingContract',
  'salt',
]);

/**
 * Resolves typed data a wallet is asked to sign. Every kind must be for the wallet's chain (`domain.chainId`, else
 * `COFRE_CHAIN_MISMATCH`: a signature for another chain is a way around the chain allowlist). Known kinds — an
 * EIP-2612 Permit of an `erc20` contract with `permit: true` (its `owner` must be the wallet), Permit2 PermitSingle
 * and PermitTransferFrom of a contract with `permit2: true` — are judged as the approval they grant; every address in
 * them must be a configured name (`COFRE_DESTINATION_UNKNOWN`). Anything else is `typed-data-unknown`, which policy
 * always denies. Throws `COFRE_INPUT_INVALID` for malformed typed data.
 */
export function resolveTypedData(
  names: ChainNames,
  chainId: number,
  wallet: Hex,
  input: TypedDataJson,
): ResolvedTypedData {
  const domain = canonicalDomain(input.domain, chainId);
  const { EIP712Domain, ...types } = input.types;
  if (EIP712Domain !== undefined && !sameFields(EIP712Domain, getTypesForEIP712Domain({ domain }))) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      'typedData.types.EIP712Domain does not match typedData.domain',
    );
  }
  if (!Object.hasOwn(types, input.primaryType)) {
    throw new CofreError('COFRE_INPUT_INVALID', `typedData.primaryType "${input.primaryType}" has no type`);
  }
  const message = canonicalStruct(types, input.primaryType, input.message, 'typedData.message');
  const typedData: TypedDataJson = { domain, types, primaryType: input.primaryType, message };
  try {
    hashTypedData(withBigInts(typedData) as Parameters<typeof hashTypedData>[0]);
  } catch {
    throw new CofreError('COFRE_INPUT_INVALID', 'typedData does not encode as EIP-712 typed data');
  }
  const verifying = typeof domain['verifyingContract'] === 'string' ? domain['verifyingContract'] : undefined;
  const contractName = verifying === undefined ? undefined : names.nameOf(verifying);
  const known = KNOWN.find((k) => k.primaryType === input.primaryType && sameTypes(types, k.types));
  const contract = contractName === undefined ? undefined : contractOf(names, contractName);
  const unknown: ResolvedTypedData = {
    kind: 'typed-data-unknown',
    to: contractName ?? 'unknown',
    contract: contract === undefined ? undefined : contractName,
    function: undefined,
    moves: [],
    recipients: [],
    unlimitedApproval: false,
    typedData,
  };
  if (known === undefined) return unknown;
  if (contractName === undefined) {
    throw new CofreError(
      'COFRE_DESTINATION_UNKNOWN',
      `typedData.domain.verifyingContract is no configured contract on this chain; cofre signs ${input.primaryType} only for configured contracts`,
    );
  }
  const named = (address: unknown, path: string): string => {
    const name = typeof address === 'string' ? names.nameOf(address) : undefined;
    if (name === undefined) {
      throw new CofreError(
        'COFRE_DESTINATION_UNKNOWN',
        `${path} is no configured label or contract on this chain`,
      );
    }
    return name;
  };
  if (input.primaryType === 'Permit') {
    const erc20 = contract?.erc20;
    if (erc20?.permit !== true) return unknown;
    if (String(message['owner']).toLowerCase() !== wallet.toLowerCase()) {
      throw new CofreError('COFRE_INPUT_INVALID', 'typedData.message.owner must be the wallet itself');
    }
    const spender = named(message['spender'], 'typedData.message.spender');
    const value = BigInt(message['value'] as string);
    return {
      ...permitOf('permit', contractName, spender),
      moves: [
        { kind: 'approval', asset: erc20.symbol, amount: fromBaseUnits(value, erc20.decimals), to: spender },
      ],
      unlimitedApproval: value >= UNLIMITED_APPROVAL,
      typedData,
    };
  }
  if (contract?.permit2 !== true) return unknown;
  const single = input.primaryType === 'PermitSingle';
  const inner = (single ? message['details'] : message['permitted']) as Record<string, unknown>;
  const tokenName = named(inner['token'], `typedData.message.${single ? 'details' : 'permitted'}.token`);
  const token = contractOf(names, tokenName)?.erc20;
  if (token === undefined) {
    throw new CofreError(
      'COFRE_DESTINATION_UNKNOWN',
      `typedData: token "${tokenName}" is not a configured ERC-20 token`,
    );
  }
  const spender = named(message['spender'], 'typedData.message.spender');
  const amount = BigInt(inner['amount'] as string);
  // Permit2 allowances are uint160: its maximum means unlimited, and so does anything in its top half.
  const unlimited = single ? amount >= 1n << 159n : amount >= UNLIMITED_APPROVAL;
  return {
    ...permitOf('permit2', contractName, spender),
    moves: [
      { kind: 'approval', asset: token.symbol, amount: fromBaseUnits(amount, token.decimals), to: spender },
    ],
    unlimitedApproval: unlimited,
    typedData,
  };
}

function permitOf(
  kind: 'permit' | 'permit2',
  contract: string,
  spender: string,
): Pick<ResolvedTypedData, 'kind' | 'to' | 'contract' | 'function' | 'recipients'> {
  return { kind, to: contract, contract, function: 'permit', recipients: [spender] };
}

function contractOf(
  names: ChainNames,
  name: string,
): ReturnType<ChainNames['contract']>['contract'] | undefined {
  return names.contracts().get(name)?.contract;
}

/** The domain with only EIP-712's fields, checked: `chainId` must be the wallet's chain. */
function canonicalDomain(
  domain: Readonly<Record<string, unknown>>,
  chainId: number,
): Record<string, unknown> {
  const extra = Object.keys(domain).filter((k) => !DOMAIN_FIELDS.has(k));
  if (extra.length > 0) {
    throw new CofreError('COFRE_INPUT_INVALID', `typedData.domain: unknown field ${extra.join(', ')}`);
  }
  const given = domain['chainId'];
  const id =
    typeof given === 'number' || (typeof given === 'string' && /^\d{1,20}$/.test(given))
      ? Number(given)
      : NaN;
  if (id !== chainId) {
    throw new CofreError(
      'COFRE_CHAIN_MISMATCH',
      `typedData.domain.chainId must be ${chainId}, the wallet's chain; a signature for another chain (or none) is refused`,
    );
  }
  const out: Record<string, unknown> = { chainId };
  for (const key of ['name', 'version'] as const) {
    const v = domain[key];
    if (v === undefined) continue;
    if (typeof v !== 'string')
      throw new CofreError('COFRE_INPUT_INVALID', `typedData.domain.${key}: a string`);
    out[key] = v;
  }
  const verifying = domain['verifyingContract'];
  if (verifying !== undefined) {
    if (typeof verifying !== 'string' || !isAddress(verifying, { strict: false })) {
      throw new CofreError('COFRE_INPUT_INVALID', 'typedData.domain.verifyingContract: an address');
    }
    out['verifyingContract'] = getAddress(verifying);
  }
  const salt = domain['salt'];
  if (salt !== undefined) {
    if (typeof salt !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(salt)) {
      throw new CofreError('COFRE_INPUT_INVALID', 'typedData.domain.salt: 32 bytes hex');
    }
    out['salt'] = salt.toLowerCase();
  }
  return out;
}

/** A struct of `type` with exactly its fields, integers as decimal strings and addresses checksummed. */
function canonicalStruct(
  types: TypedDataJson['types'],
  type: string,
  value: unknown,
  path: string,
  depth = 0,
): Record<string, unknown> {
  const fields = types[type];
  if (fields === undefined || depth > 8)
    throw new CofreError('COFRE_INPUT_INVALID', `${path}: unknown type ${type}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CofreError('COFRE_INPUT_INVALID', `${path}: an object of type ${type}`);
  }
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const v = (value as Record<string, unknown>)[field.name];
    if (v === undefined) throw new CofreError('COFRE_INPUT_INVALID', `${path}.${field.name}: missing`);
    out[field.name] = canonicalValue(types, field.type, v, `${path}.${field.name}`, depth);
  }
  return out;
}

function canonicalValue(
  types: TypedDataJson['types'],
  type: string,
  value: unknown,
  path: string,
  depth: number,
): unknown {
  const array = /^(.*)\[(\d*)\]$/.exec(type);
  if (array !== null) {
    if (!Array.isArray(value) || value.length > 64)
      throw new CofreError('COFRE_INPUT_INVALID', `${path}: a list`);
    return value.map((v, i) => canonicalValue(types, array[1] ?? '', v, `${path}[${i}]`, depth + 1));
  }
  if (Object.hasOwn(types, type)) return canonicalStruct(types, type, value, path, depth + 1);
  if (/^u?int\d*$/.test(type)) {
    const ok =
      (typeof value === 'number' && Number.isSafeInteger(value)) ||
      (typeof value === 'string' && /^(-?\d{1,78}|0x[0-9a-fA-F]{1,64})$/.test(value));
    if (!ok) throw new CofreError('COFRE_INPUT_INVALID', `${path}: an integer`);
    const n = BigInt(value);
    if (type.startsWith('u') && (n < 0n || n >= 1n << BigInt(Number(type.slice(4) || '256')))) {
      throw new CofreError('COFRE_INPUT_INVALID', `${path}: does not fit ${type}`);
    }
    return n.toString();
  }
  if (type === 'address') {
    if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
      throw new CofreError('COFRE_INPUT_INVALID', `${path}: an address`);
    }
    return getAddress(value);
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw new CofreError('COFRE_INPUT_INVALID', `${path}: true or false`);
    return value;
  }
  if (type === 'string' || /^bytes\d*$/.test(type)) {
    if (typeof value !== 'string') throw new CofreError('COFRE_INPUT_INVALID', `${path}: a string`);
    return value;
  }
  throw new CofreError('COFRE_INPUT_INVALID', `${path}: unsupported type ${type}`);
}

/** Typed data as viem signs it: the decimal strings of integer fields as bigints. */
export function withBigInts(typed: TypedDataJson): unknown {
  const convert = (type: string, value: unknown): unknown => {
    const array = /^(.*)\[(\d*)\]$/.exec(type);
    if (array !== null) return (value as unknown[]).map((v) => convert(array[1] ?? '', v));
    const fields = typed.types[type];
    if (fields !== undefined) {
      const struct = value as Record<string, unknown>;
      return Object.fromEntries(fields.map((f) => [f.name, convert(f.type, struct[f.name])]));
    }
    return /^u?int\d*$/.test(type) ? BigInt(value as string) : value;
  };
  return {
    domain: {
      ...typed.domain,
      ...(typed.domain['chainId'] === undefined ? {} : { chainId: Number(typed.domain['chainId']) }),
    },
    types: typed.types,
    primaryType: typed.primaryType,
    message: convert(typed.primaryType, typed.message),
  };
}

function sameFields(a: Fields, b: Fields): boolean {
  const text = (fields: Fields): string => fields.map((f) => `${f.name} ${f.type}`).join(',');
  return text(a) === text(b);
}

function sameTypes(a: TypedDataJson['types'], b: Readonly<Record<string, Fields>>): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((k) => {
      const fields = b[k];
      const given = a[k];
      return fields !== undefined && given !== undefined && sameFields(given, fields);
    })
  );
}
