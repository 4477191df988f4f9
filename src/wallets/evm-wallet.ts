import {
  BaseError,
  decodeErrorResult,
  erc20Abi,
  hashTypedData,
  type Hex as ViemHex,
  keccak256,
  parseAbi,
  recoverAddress,
  serializeSignature,
  serializeTransaction,
  TransactionNotFoundError,
  type TransactionSerializableEIP1559,
} from 'viem';

import type { WalletConfig } from '../config/wallets-config.js';
import { CofreError } from '../errors.js';
import type { ResolvedTransaction } from '../policy/policy-types.js';
import {
  type ChainClient,
  innermostReason,
  isTransportFailure,
  rpcFailure,
  untrustedText,
} from './chain-client.js';
import type { ChainNames } from './chain-names.js';
import { fromBaseUnits } from './evm-units.js';
import type { CallInput } from './resolve-call.js';
import { resolveTransaction, resolveWalletTypedData } from './resolve-transaction.js';
import { type TypedDataJson, withBigInts } from './resolve-typed-data.js';
import type { Hex, TransactionSigner } from './signer.js';

/** What a wallet signs for a transaction: plain JSON (wei and gas as decimal strings), bound by approvals. */
export type TransactionSigning = {
  readonly type: 'transaction';
  readonly chainId: number;
  /** The wallet's address: the simulation's sender; the signature must recover to it. */
  readonly from: Hex;
  readonly to: Hex;
  /** Wei. */
  readonly value: string;
  readonly data: Hex;
  /** Gas limit; absent only in a preview whose estimation failed (nothing is sent then). */
  readonly gas?: string | undefined;
  readonly maxFeePerGas: string;
  readonly maxPriorityFeePerGas: string;
};

/** What a wallet signs for typed data: the canonical typed data. */
export type TypedDataSigning = { readonly type: 'typed-data'; readonly typedData: TypedDataJson };

/** The agent's transaction, as the action input has it (validated by its schema). */
export interface TransactionInput {
  readonly to: string;
  readonly value?: string | undefined;
  readonly call?: CallInput | undefined;
  readonly chainId?: number | undefined;
}

/** The outcome of a simulation (`eth_call`, then gas estimation). Advisory: the chain can change before a send. */
export interface Simulation {
  readonly ok: boolean;
  readonly gas?: number | undefined;
  /** Why it would revert: untrusted text from the chain, URL-free, at most 200 characters. */
  readonly error?: string | undefined;
}

/** How `eth_sendRawTransaction` ended. */
export type BroadcastOutcome =
  | { readonly kind: 'broadcast' }
  /** The node refused it and does not have it: nothing reached the chain. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** No answer, and the node does not show it either: it may still reach the chain. */
  | { readonly kind: 'unknown'; readonly reason: string };

const BALANCE_OF = parseAbi(['function balanceOf(address owner) view returns (uint256)']);

/**
 * One configured wallet: one key (behind a {@link TransactionSigner}) on one chain. Resolves what agents ask into
 * exactly what would be signed, simulates, signs, broadcasts to the chain's configured endpoints, and reads balances.
 * It holds no policy, nonce or audit logic (the broker's send step, broker-wallet.ts, sequences those).
 *
 * Safe to call concurrently.
 */
export class EvmWallet {
  readonly name: string;
  readonly config: WalletConfig;
  readonly chain: ChainClient;
  readonly names: ChainNames;
  readonly signer: TransactionSigner;

  constructor(
    name: string,
    config: WalletConfig,
    chain: ChainClient,
    names: ChainNames,
    signer: TransactionSigner,
  ) {
    this.name = name;
    this.config = config;
    this.chain = chain;
    this.names = names;
    this.signer = signer;
  }

  get chainId(): number {
    return this.chain.config.chainId;
  }

  /** The wallet's address, from its key. */
  address(): Promise<Hex> {
    return this.signer.address();
  }

  /** `COFRE_CHAIN_MISMATCH` when the agent expects another chain than the wallet's. */
  checkChainId(expected: number | undefined): void {
    if (expected !== undefined && expected !== this.chainId) {
      throw new CofreError(
        'COFRE_CHAIN_MISMATCH',
        `wallet ${this.name} is on chain ${this.chain.name} (chain id ${this.chainId}), not chain id ${expected}; nothing was signed or sent`,
      );
    }
  }

  /**
   * The transaction `input` asks for, resolved (see resolve-transaction.ts). With `requireSimulation`, a transaction
   * that would revert throws `COFRE_SIMULATION_FAILED` (a send); without, the simulation is returned (a preview).
   */
  resolveTransaction(
    input: TransactionInput,
    requireSimulation: boolean,
  ): Promise<{ transaction: ResolvedTransaction; signing: TransactionSigning; simulation: Simulation }> {
    return resolveTransaction(this, input, requireSimulation);
  }

  /** Typed data resolved (see resolve-typed-data.ts) into what policy judges and what is signed. */
  resolveTypedData(
    typed: TypedDataJson,
  ): Promise<{ transaction: ResolvedTransaction; signing: TypedDataSigning }> {
    return resolveWalletTypedData(this, typed);
  }

  /**
   * Simulates `signing` as it stands now: `eth_call` from the wallet (the revert reason), then gas estimation.
   * Throws `COFRE_RPC_UNAVAILABLE` when no endpoint answers; a revert is `{ ok: false, error }`.
   */
  async simulate(signing: Omit<TransactionSigning, 'gas'>): Promise<Simulation> {
    const client = await this.chain.client();
    const request = {
      account: signing.from,
      to: signing.to,
      value: BigInt(signing.value),
      data: signing.data,
    };
    try {
      await client.call(request);
      const gas = await client.estimateGas(request);
      return { ok: true, gas: Number(gas) };
    } catch (err) {
      if (isTransportFailure(err)) throw rpcFailure(this.chain.name, 'simulation', err);
      return { ok: false, error: revertReason(err) };
    }
  }

  /**
   * Signs `signing` with `nonce`: EIP-1559, serialized and hashed by viem, the digest signed by the key. The
   * signature is checked to recover to the wallet's address before anything goes out (a signer that signs with
   * another key, or a wrong recovery bit, fails here with `COFRE_SIGNER_KEY_INVALID`).
   */
  async signTransaction(signing: TransactionSigning, nonce: number): Promise<{ raw: Hex; hash: Hex }> {
    if (signing.gas === undefined)
      throw new CofreError('COFRE_INTERNAL', 'a transaction without a gas limit');
    const tx: TransactionSerializableEIP1559 = {
      type: 'eip1559',
      chainId: signing.chainId,
      nonce,
      to: signing.to,
      value: BigInt(signing.value),
      data: signing.data,
      gas: BigInt(signing.gas),
      maxFeePerGas: BigInt(signing.maxFeePerGas),
      maxPriorityFeePerGas: BigInt(signing.maxPriorityFeePerGas),
    };
    const digest = keccak256(serializeTransaction(tx));
    const signature = await this.#signDigest(digest);
    const raw = serializeTransaction(tx, signature);
    return { raw, hash: keccak256(raw) };
  }

  /** An EIP-712 signature (65 bytes, hex) of `signing`'s typed data. */
  async signTypedData(signing: TypedDataSigning): Promise<Hex> {
    const digest = hashTypedData(withBigInts(signing.typedData) as Parameters<typeof hashTypedData>[0]);
    return serializeSignature(await this.#signDigest(digest));
  }

  async #signDigest(digest: ViemHex): Promise<{ r: ViemHex; s: ViemHex; yParity: 0 | 1 }> {
    const signature = await this.signer.signDigest(hexBytes(digest));
    const recovered = await recoverAddress({ hash: digest, signature });
    if (recovered.toLowerCase() !== (await this.address()).toLowerCase()) {
      throw new CofreError(
        'COFRE_SIGNER_KEY_INVALID',
        `wallet ${this.name}: the signature does not recover to the wallet's address; nothing was sent`,
      );
    }
    return { r: signature.r, s: signature.s, yParity: signature.yParity };
  }

  /**
   * Hands `raw` to the chain's configured endpoints (`eth_sendRawTransaction`). A failure is checked against the
   * node (`eth_getTransactionByHash`): a transaction the node has is broadcast whatever the answer was.
   */
  async broadcast(raw: Hex, hash: Hex): Promise<BroadcastOutcome> {
    const client = await this.chain.client();
    try {
      // Once per endpoint, no automatic retry: whether it arrived is asked by its hash below, never guessed (and a
      // node may include the same bytes twice when they come again: ganache 7.9.2 does).
      await client.request({ method: 'eth_sendRawTransaction', params: [raw] }, { retryCount: 0 });
      return { kind: 'broadcast' };
    } catch (err) {
      const reason = untrustedText(shortReason(err));
      // A node that has it has it, whatever it answered; a look-up that fails too leaves the outcome unknown.
      const lookup = await client.getTransaction({ hash }).then(
        () => 'found' as const,
        (e: unknown) => (e instanceof TransactionNotFoundError ? ('absent' as const) : ('failed' as const)),
      );
      if (lookup === 'found') return { kind: 'broadcast' };
      if (lookup === 'failed' || isTransportFailure(err)) return { kind: 'unknown', reason };
      return { kind: 'refused', reason };
    }
  }

  /** The receipt of `hash`, polled until `timeoutMs` passes; undefined when none came in time. */
  async receipt(
    hash: Hex,
    timeoutMs: number,
  ): Promise<{ status: 'mined' | 'reverted'; blockNumber: number } | undefined> {
    const client = await this.chain.client();
    const deadline = Date.now() + timeoutMs;
    let interval = 100;
    for (;;) {
      const receipt = await client.getTransactionReceipt({ hash }).catch(() => undefined);
      if (receipt !== undefined) {
        return {
          status: receipt.status === 'success' ? 'mined' : 'reverted',
          blockNumber: Number(receipt.blockNumber),
        };
      }
      if (Date.now() + interval > deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, interval));
      interval = Math.min(interval * 2, 1000);
    }
  }

  /** The chain's count of the wallet's transactions including pending ones (the next nonce it expects). */
  async pendingCount(): Promise<number> {
    const client = await this.chain.client();
    return client
      .getTransactionCount({ address: await this.address(), blockTag: 'pending' })
      .catch((err: unknown) => {
        throw rpcFailure(this.chain.name, 'the nonce look-up', err);
      });
  }

  /**
   * The native balance and each configured ERC-20 token's, in units. As the RPC reports them: a hostile endpoint can
   * lie about balances (they decide nothing in cofre).
   */
  async balances(): Promise<{ asset: string; amount: string }[]> {
    const client = await this.chain.client();
    const address = await this.address();
    try {
      const native = await client.getBalance({ address });
      const out = [{ asset: this.chain.config.nativeAsset, amount: fromBaseUnits(native, 18) }];
      for (const [, { address: token, contract }] of this.names.contracts()) {
        if (contract.erc20 === undefined) continue;
        const balance = await client.readContract({
          address: token,
          abi: BALANCE_OF,
          functionName: 'balanceOf',
          args: [address],
        });
        out.push({ asset: contract.erc20.symbol, amount: fromBaseUnits(balance, contract.erc20.decimals) });
      }
      return out;
    } catch (err) {
      throw rpcFailure(this.chain.name, 'the balance look-up', err);
    }
  }
}

function hexBytes(hex: ViemHex): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));
}

/** Why a call reverted: a decoded `Error(string)` / `Panic(uint256)`, else the node's words; untrusted, URL-free. */
function revertReason(err: unknown): string {
  if (!(err instanceof BaseError)) return 'unexpected error';
  const withData = err.walk((e) => typeof (e as { data?: unknown }).data === 'string') as {
    data?: string;
  } | null;
  const data = withData?.data;
  if (typeof data === 'string' && /^0x[0-9a-fA-F]{8,}$/.test(data)) {
    try {
      const decoded = decodeErrorResult({ abi: erc20Abi, data: data as ViemHex });
      return untrustedText(`${decoded.errorName}(${decoded.args.map(String).join(', ')})`);
    } catch {
      // not a standard error: fall back to the node's words
    }
  }
  return untrustedText(shortReason(err));
}

function shortReason(err: unknown): string {
  return err instanceof BaseError ? innermostReason(err) : 'unexpected error';
}
