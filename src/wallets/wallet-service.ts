import type { Logger } from 'pino';

import type { AuditedSecrets } from '../broker/audited-secrets.js';
import type { CofreConfig } from '../config/config-schema.js';
import { CofreError } from '../errors.js';
import type { ResolvedTransaction } from '../policy/policy-types.js';
import type { StateStore } from '../state/state-store.js';
import { ChainClient } from './chain-client.js';
import { ChainNames } from './chain-names.js';
import { EvmWallet, type TransactionSigning, type TypedDataSigning } from './evm-wallet.js';
import { createNonceManager, type NonceManager } from './nonce-manager.js';
import { openSigner, type TransactionSigner } from './signer.js';

/**
 * Issue 19: what the broker needs of the wallets. The chains, signers (AWS KMS, embedded), nonces, simulation and
 * broadcast live behind it in src/wallets; the broker calls it from its resolve step (src/broker/resolve-wallet.ts)
 * and its send step (src/broker/broker-wallet.ts).
 *
 * Safe to call concurrently.
 */
export interface WalletService {
  /** Configured wallet names. */
  readonly names: readonly string[];
  /** The wallet named `name`; throws `COFRE_WALLET_UNKNOWN`. Nothing is contacted until it is used. */
  wallet(name: string): EvmWallet;
  /** Nonces of every wallet (one send per wallet at a time, kept in the state store). */
  readonly nonces: NonceManager;
  /** Stops timers and closes RPC connections and KMS clients. */
  close(): Promise<void>;
}

/**
 * What a wallet write will sign, bound by an approval (its SHA-256 is what operators approve), so it must be plain
 * JSON: wei and base units as decimal strings, addresses as hex. The nonce is not in it: it is taken when sending.
 */
export interface WalletSendPayload {
  readonly kind: 'wallet';
  readonly wallet: string;
  /** What policy judged. */
  readonly transaction: ResolvedTransaction;
  /** The agent's clientTxId / clientSignId (empty for a preview). */
  readonly clientId: string;
  /** Exactly what is signed: for a transaction `to`, `value` (wei), `data`, gas and fees; for typed data, the typed data. */
  readonly signing: TransactionSigning | TypedDataSigning;
}

/** What opening the wallets needs. */
export interface WalletServiceDependencies {
  readonly state: StateStore;
  /** Audited secret reads: an embedded wallet key, an RPC URL with an API key. The caller zeroes each value. */
  readonly secrets: Pick<AuditedSecrets, 'read'>;
  readonly logger: Logger;
  /** The signer of a wallet key (default {@link openSigner}); tests may give another. */
  readonly openSigner?: typeof openSigner;
  /** The nonce manager (default one over `state`). */
  readonly nonces?: NonceManager;
}

/**
 * The wallets of `config`, or undefined when none is configured. Opens nothing remote: each chain's endpoints are
 * checked, and each key's address read, on first use.
 */
export function openWallets(config: CofreConfig, deps: WalletServiceDependencies): WalletService | undefined {
  if (Object.keys(config.wallets).length === 0) return undefined;
  const chains = new Map<string, { client: ChainClient; names: ChainNames }>();
  for (const [name, chain] of Object.entries(config.chains)) {
    chains.set(name, {
      client: new ChainClient(name, chain, deps),
      names: new ChainNames(name, chain, config.addressBook),
    });
  }
  const open = deps.openSigner ?? openSigner;
  const signers: TransactionSigner[] = [];
  const wallets = new Map<string, EvmWallet>();
  for (const [name, wallet] of Object.entries(config.wallets)) {
    const chain = chains.get(wallet.chain);
    // The config's cross-references guarantee the chain; a wallet without one is left out rather than crash here.
    if (chain === undefined) continue;
    const signer = open(wallet.key, deps);
    signers.push(signer);
    wallets.set(name, new EvmWallet(name, wallet, chain.client, chain.names, signer));
  }
  const nonces = deps.nonces ?? createNonceManager(deps.state);
  return {
    names: [...wallets.keys()],
    nonces,
    wallet(name: string): EvmWallet {
      const found = wallets.get(name);
      if (found === undefined) {
        // Not listing the others: an agent learns only of the wallets its policy names.
        throw new CofreError('COFRE_WALLET_UNKNOWN', `no wallet "${name}" is configured`);
      }
      return found;
    },
    async close(): Promise<void> {
      await Promise.allSettled(signers.map((s) => s.close()));
    },
  };
}
