import { formatGwei } from 'viem';

import { CofreError } from '../errors.js';
import type { ResolvedMove, ResolvedTransaction } from '../policy/policy-types.js';
import { rpcFailure } from './chain-client.js';
import type { ChainNames } from './chain-names.js';
import { fromBaseUnits, notionalOf, toBaseUnits } from './evm-units.js';
import type {
  EvmWallet,
  Simulation,
  TransactionInput,
  TransactionSigning,
  TypedDataSigning,
} from './evm-wallet.js';
import { resolveCall } from './resolve-call.js';
import { resolveTypedData, type TypedDataJson } from './resolve-typed-data.js';
import type { Hex } from './signer.js';

// Issue 19: what an agent asks of a wallet, resolved into exactly what would be signed and what policy judges of it.
// Nothing here signs or sends; the chain is asked for fees and a simulation only.

/**
 * The transaction `input` asks for, resolved: names to addresses, the call encoded, gas estimated at current
 * fees, value priced. With `requireSimulation`, a transaction that would revert throws `COFRE_SIMULATION_FAILED`
 * (a send); without, the simulation is returned (a preview).
 */
export async function resolveTransaction(
  wallet: EvmWallet,
  input: TransactionInput,
  requireSimulation: boolean,
): Promise<{ transaction: ResolvedTransaction; signing: TransactionSigning; simulation: Simulation }> {
  wallet.checkChainId(input.chainId);
  const chain = wallet.chain.config;
  const from = await wallet.address();
  const target = wallet.names.resolve(input.to);
  const value = input.value === undefined ? 0n : toBaseUnits(input.value, 18, 'value');
  const moves: ResolvedMove[] = [];
  const recipients = new Set<string>();
  if (value > 0n) {
    moves.push({
      kind: 'value',
      asset: chain.nativeAsset,
      amount: fromBaseUnits(value, 18),
      to: target.name,
    });
    recipients.add(target.name);
  }
  let call: ReturnType<typeof resolveCall> | undefined;
  if (target.kind === 'label') {
    if (input.call !== undefined) {
      throw new CofreError(
        'COFRE_INPUT_INVALID',
        `call: "${input.to}" is an address-book label; calls go to contracts`,
      );
    }
    if (value === 0n) throw new CofreError('COFRE_INPUT_INVALID', `value: nothing to send to "${input.to}"`);
  } else if (target.kind === 'contract') {
    if (input.call === undefined && value === 0n) {
      throw new CofreError(
        'COFRE_INPUT_INVALID',
        `call: give a function of ${input.to} to call, or a value to send`,
      );
    }
    if (input.call !== undefined)
      call = resolveCall(wallet.names, target.name, target.contract, input.call, from);
  }
  for (const move of call?.moves ?? []) moves.push(move);
  for (const r of call?.recipients ?? []) recipients.add(r);
  checkLabelAssets(wallet.names, moves);
  const data: Hex = call?.data ?? '0x';
  const client = await wallet.chain.client();
  const fees = await client.estimateFeesPerGas().catch((err: unknown) => {
    throw rpcFailure(wallet.chain.name, 'fee estimation', err);
  });
  const unsigned = {
    type: 'transaction' as const,
    chainId: wallet.chainId,
    from,
    to: target.address,
    value: value.toString(),
    data,
    maxFeePerGas: fees.maxFeePerGas.toString(),
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
  };
  const simulation = await wallet.simulate(unsigned);
  if (!simulation.ok && requireSimulation) {
    throw new CofreError(
      'COFRE_SIMULATION_FAILED',
      `the transaction would revert, so it was not signed: ${simulation.error ?? 'no reason given'} (text from the chain, untrusted)`,
    );
  }
  const gasLimit = simulation.gas === undefined ? undefined : gasWithMargin(simulation.gas, data);
  const signing: TransactionSigning = {
    ...unsigned,
    ...(gasLimit === undefined ? {} : { gas: String(gasLimit) }),
  };
  const transaction: ResolvedTransaction = {
    wallet: wallet.name,
    chain: wallet.chain.name,
    chainId: wallet.chainId,
    kind: 'transaction',
    to: target.name,
    contract: target.kind === 'contract' ? target.name : undefined,
    function: call?.function,
    selector: call?.selector,
    raw: call?.raw ?? false,
    moves,
    recipients: [...recipients],
    unlimitedApproval: call?.unlimitedApproval ?? false,
    gas:
      gasLimit === undefined
        ? undefined
        : { limit: gasLimit, maxFeePerGasGwei: formatGwei(fees.maxFeePerGas) },
    notional: notionalOf(moves, chain.quote, chain.prices),
  };
  return { transaction, signing, simulation };
}

/** Typed data resolved (see resolve-typed-data.ts) into what policy judges and what is signed. */
export async function resolveWalletTypedData(
  wallet: EvmWallet,

  typed: TypedDataJson,
): Promise<{ transaction: ResolvedTransaction; signing: TypedDataSigning }> {
  const resolved = resolveTypedData(wallet.names, wallet.chainId, await wallet.address(), typed);
  checkLabelAssets(wallet.names, resolved.moves);
  const chain = wallet.chain.config;
  return {
    transaction: {
      wallet: wallet.name,
      chain: wallet.chain.name,
      chainId: wallet.chainId,
      kind: resolved.kind,
      to: resolved.to,
      contract: resolved.contract,
      function: resolved.function,
      raw: false,
      moves: resolved.moves,
      recipients: resolved.recipients,
      unlimitedApproval: resolved.unlimitedApproval,
      notional: notionalOf(resolved.moves, chain.quote, chain.prices),
    },
    signing: { type: 'typed-data', typedData: resolved.typedData },
  };
}

/** A label receives only its asset (as for withdrawals): `COFRE_DESTINATION_UNKNOWN` otherwise. */
function checkLabelAssets(names: ChainNames, moves: readonly ResolvedMove[]): void {
  for (const move of moves) {
    const named = names.resolve(move.to, '0x0000000000000000000000000000000000000000');
    if (named.kind === 'label' && named.asset !== move.asset) {
      throw new CofreError(
        'COFRE_DESTINATION_UNKNOWN',
        `destination "${move.to}" receives ${named.asset}, not ${move.asset}`,
      );
    }
  }
}

/** The estimate, plus 20% for a contract call (state can change between estimate and inclusion). */
function gasWithMargin(estimate: number, data: Hex): number {
  return data === '0x' ? estimate : Math.ceil(estimate * 1.2);
}
