import {
  type AbiFunction,
  decodeFunctionData,
  encodeFunctionData,
  parseAbi,
  toFunctionSelector,
  toFunctionSignature,
} from 'viem';

import type { ContractConfig } from '../config/wallets-config.js';
import { CofreError } from '../errors.js';
import type { ResolvedMove } from '../policy/policy-types.js';
import type { ChainNames } from './chain-names.js';
import { fromBaseUnits, parseUint, toBaseUnits } from './evm-units.js';
import type { Hex } from './signer.js';

/** An approval of at least this many base units is unlimited (2^255: `type(uint256).max` and its neighbours). */
export const UNLIMITED_APPROVAL = 1n << 255n;

/**
 * The ERC-20 functions an `erc20` contract knows. Their uint256 argument is an amount of the token, given by agents
 * in token units ("10.5") and encoded in base units with the token's decimals.
 */
const ERC20_ABI = parseAbi([
  'function transfer(address to, uint256 amount) returns (bool)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function transferFrom(address from, address to, uint256 amount) returns (bool)',
  'function increaseAllowance(address spender, uint256 addedValue) returns (bool)',
]);
const ERC20_SELECTORS: ReadonlySet<string> = new Set(ERC20_ABI.map((f) => toFunctionSelector(f)));

/** An agent's call of a contract, as the action input has it. */
export type CallInput =
  | { readonly function: string; readonly args?: Readonly<Record<string, unknown>> | undefined }
  | { readonly data: string };

/** A call resolved: the calldata to sign and what policy judges of it. */
export interface ResolvedCall {
  readonly data: Hex;
  readonly function: string | undefined;
  readonly selector: string;
  readonly raw: boolean;
  readonly moves: readonly ResolvedMove[];
  /** Labels (never `self`, never a contract passed as a plain argument) the call sends to or authorises. */
  readonly recipients: readonly string[];
  readonly unlimitedApproval: boolean;
}

/** The functions of a contract agents may call: the ERC-20 ones for a token, and its `abi`. */
export function knownFunctions(contract: ContractConfig): readonly AbiFunction[] {
  const own = contract.abi === undefined ? [] : parseAbi(contract.abi as string[]).filter(isFunction);
  const erc20 = contract.erc20 === undefined ? [] : ERC20_ABI;
  const seen = new Set<string>();
  const out: AbiFunction[] = [];
  for (const f of [...erc20, ...own]) {
    const selector = toFunctionSelector(f);
    if (seen.has(selector)) continue;
    seen.add(selector);
    out.push(f);
  }
  return out;
}

function isFunction(item: { type: string }): item is AbiFunction {
  return item.type === 'function';
}

/**
 * Resolves a call of the contract `contractName`: a known function with named arguments (names resolved to
 * addresses, ERC-20 amounts from token units), or raw calldata (decoded when its selector is a known function, so an
 * approval in raw form is judged as one). Throws `COFRE_INPUT_INVALID` for an unknown function or bad arguments and
 * `COFRE_DESTINATION_UNKNOWN` for an address argument that is no configured name.
 */
export function resolveCall(
  names: ChainNames,
  contractName: string,
  contract: ContractConfig,
  call: CallInput,
  self: Hex,
): ResolvedCall {
  const functions = knownFunctions(contract);
  if ('data' in call) {
    const data = call.data.toLowerCase() as Hex;
    const selector = data.slice(0, 10);
    const fn = functions.find((f) => toFunctionSelector(f) === selector);
    if (fn === undefined) {
      return {
        data,
        function: undefined,
        selector,
        raw: true,
        moves: [],
        recipients: [],
        unlimitedApproval: false,
      };
    }
    let args: readonly unknown[];
    try {
      args = decodeFunctionData({ abi: [fn], data }).args;
    } catch {
      throw new CofreError(
        'COFRE_INPUT_INVALID',
        `call.data: its selector is ${contractName}.${fn.name} but its arguments do not decode as ${toFunctionSignature(fn)}`,
      );
    }
    const named = (address: string): string => {
      if (address.toLowerCase() === self.toLowerCase()) return 'self';
      const name = names.nameOf(address);
      if (name === undefined) {
        throw new CofreError(
          'COFRE_DESTINATION_UNKNOWN',
          `call.data of ${contractName}.${fn.name} names an address that is no configured label or contract`,
        );
      }
      return name;
    };
    return { data, selector, raw: true, ...interpret(fn, args, contract, named, names) };
  }
  const candidates = functions.filter((f) => f.name === call.function);
  const given = Object.keys(call.args ?? {}).sort();
  const fn =
    candidates.length <= 1
      ? candidates[0]
      : candidates.find((f) =>
          sameNames(
            f.inputs.map((i) => i.name ?? ''),
            given,
          ),
        );
  if (fn === undefined) {
    const known = [...new Set(functions.map((f) => f.name))].join(', ') || 'none';
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `call.function: "${call.function}" is not a known function of ${contractName} (known: ${known})`,
    );
  }
  const givenNames = new Map<string, string>();
  const tokenAmounts = contract.erc20 !== undefined && ERC20_SELECTORS.has(toFunctionSelector(fn));
  const args = encodeArgs(fn, call.args ?? {}, {
    address: (name) => {
      const resolved = names.resolve(name, self);
      givenNames.set(resolved.address.toLowerCase(), name);
      return resolved.address;
    },
    tokenDecimals: tokenAmounts ? contract.erc20.decimals : undefined,
  });
  const data = encodeFunctionData({ abi: [fn], functionName: fn.name, args });
  const named = (address: string): string =>
    givenNames.get(address.toLowerCase()) ?? names.nameOf(address) ?? '?';
  return {
    data,
    selector: toFunctionSelector(fn),
    raw: false,
    ...interpret(fn, args, contract, named, names),
  };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

/** The named arguments of `fn` as viem values, in order. Every parameter is required; no others are allowed. */
function encodeArgs(
  fn: AbiFunction,
  args: Readonly<Record<string, unknown>>,
  how: { address: (name: string) => Hex; tokenDecimals: number | undefined },
): unknown[] {
  const params = fn.inputs;
  const expected = params.map((p) => p.name ?? '');
  if (expected.some((n) => n === '')) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `${fn.name} has unnamed parameters in the configured abi; the operator must name them`,
    );
  }
  const extra = Object.keys(args).filter((k) => !expected.includes(k));
  const missing = expected.filter((k) => !Object.hasOwn(args, k));
  if (extra.length > 0 || missing.length > 0) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `call.args of ${fn.name}: expected exactly ${expected.join(', ')}${missing.length > 0 ? `; missing ${missing.join(', ')}` : ''}${extra.length > 0 ? `; unknown ${extra.join(', ')}` : ''}`,
    );
  }
  return params.map((p) => {
    const path = `call.args.${p.name ?? ''}`;
    const value = args[p.name ?? ''];
    const token = how.tokenDecimals !== undefined && p.type === 'uint256' ? how.tokenDecimals : undefined;
    return encodeValue(p.type, value, path, how.address, token);
  });
}

function encodeValue(
  type: string,
  value: unknown,
  path: string,
  address: (name: string) => Hex,
  tokenDecimals: number | undefined,
): unknown {
  const array = /^(.*)\[\d*\]$/.exec(type);
  if (array !== null) {
    if (!Array.isArray(value)) throw new CofreError('COFRE_INPUT_INVALID', `${path}: a list for ${type}`);
    return value.map((v, i) => encodeValue(array[1] ?? '', v, `${path}[${i}]`, address, undefined));
  }
  if (type === 'bool') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new CofreError('COFRE_INPUT_INVALID', `${path}: true or false`);
  }
  if (typeof value !== 'string') throw new CofreError('COFRE_INPUT_INVALID', `${path}: a string for ${type}`);
  if (type === 'address') return address(value);
  const uint = /^uint(\d*)$/.exec(type);
  if (uint !== null) {
    if (tokenDecimals !== undefined) return toBaseUnits(value, tokenDecimals, path);
    return parseUint(value, Number(uint[1] || '256'), path);
  }
  const int = /^int(\d*)$/.exec(type);
  if (int !== null) {
    if (!/^-?\d{1,78}$/.test(value)) throw new CofreError('COFRE_INPUT_INVALID', `${path}: an integer`);
    const n = BigInt(value);
    const half = 1n << BigInt(Number(int[1] || '256') - 1);
    if (n >= half || n < -half) throw new CofreError('COFRE_INPUT_INVALID', `${path}: does not fit ${type}`);
    return n;
  }
  if (type === 'string') return value;
  const bytes = /^bytes(\d*)$/.exec(type);
  if (bytes !== null) {
    const size = bytes[1] === '' ? undefined : Number(bytes[1]);
    const ok = /^0x(?:[0-9a-fA-F]{2})*$/.test(value) && (size === undefined || value.length === 2 + size * 2);
    if (!ok) throw new CofreError('COFRE_INPUT_INVALID', `${path}: hex of ${size ?? 'any number of'} bytes`);
    return value;
  }
  throw new CofreError('COFRE_INPUT_INVALID', `${path}: arguments of type ${type} are not supported`);
}

/**
 * What a decoded call moves, to whom, by name. Only ERC-20 functions of a token are understood as moves; any other
 * function moves nothing cofre can count (policy judges it by contract and function).
 */
function interpret(
  fn: AbiFunction,
  args: readonly unknown[],
  contract: ContractConfig,
  named: (address: string) => string,
  names: ChainNames,
): Pick<ResolvedCall, 'function' | 'moves' | 'recipients' | 'unlimitedApproval'> {
  const recipients = new Set<string>();
  // Every label among the address arguments receives or is granted something in most calls: judged as recipients.
  fn.inputs.forEach((p, i) => {
    const values =
      p.type === 'address' ? [args[i]] : p.type.startsWith('address[') ? (args[i] as unknown[]) : [];
    for (const v of values) {
      if (typeof v !== 'string') continue;
      const name = named(v);
      if (name !== 'self' && isLabel(names, name)) recipients.add(name);
    }
  });
  const moves: ResolvedMove[] = [];
  let unlimitedApproval = false;
  const erc20 = contract.erc20;
  if (erc20 !== undefined && ERC20_SELECTORS.has(toFunctionSelector(fn))) {
    const [a, b, c] = args as [string, string | bigint, bigint | undefined];
    const transfer = fn.name === 'transfer' || fn.name === 'transferFrom';
    const to = fn.name === 'transferFrom' ? (b as string) : a;
    const amount = (fn.name === 'transferFrom' ? c : b) as bigint;
    const name = named(to);
    moves.push({
      kind: transfer ? 'transfer' : 'approval',
      asset: erc20.symbol,
      amount: fromBaseUnits(amount, erc20.decimals),
      to: name,
    });
    if (name !== 'self') recipients.add(name);
    if (!transfer && amount >= UNLIMITED_APPROVAL) unlimitedApproval = true;
  }
  return { function: fn.name, moves, recipients: [...recipients], unlimitedApproval };
}

function isLabel(names: ChainNames, name: string): boolean {
  try {
    return names.resolve(name).kind === 'label';
  } catch {
    return false;
  }
}
