import type { Logger } from 'pino';

import type { AuditedSecrets } from '../broker/audited-secrets.js';
import type { CofreConfig } from '../config/config-schema.js';
import type { ResolvedTransaction } from '../policy/policy-types.js';
import type { StateStore } from '../state/state-store.js';

/**
 * Issue 19: what the broker needs of the wallets. The chains, signers (AWS KMS, embedded), nonces, simulation and
 * broadcast live behind it in src/wallets; the broker calls it from its resolve step (src/broker/resolve-wallet.ts)
 * and its send step (src/broker/broker-wallet.ts).
 *
 * CONTRACT (h-evm implements and may extend; keep the names).
 */
export interface WalletService {
  /** Configured wallet names. */
  readonly names: readonly string[];
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
  /** The agent's clientTxId / clientSignId. */
  readonly clientId: string;
  /** Exactly what is signed: for a transaction `to`, `value` (wei), `data`, gas and fees; for typed data, the typed data. */
  readonly signing: Readonly<Record<string, unknown>>;
}

/** What opening the wallets needs. */
export interface WalletServiceDependencies {
  readonly state: StateStore;
  /** Audited secret reads: an embedded wallet key, an RPC URL with an API key. The caller zeroes each value. */
  readonly secrets: Pick<AuditedSecrets, 'read'>;
  readonly logger: Logger;
}

/**
 * The wallets of `config`, or undefined when none is configured.
 *
 * CONTRACT STUB (h-evm implements).
 */
export function openWallets(
  config: CofreConfig,
  _deps: WalletServiceDependencies,
): WalletService | undefined {
  if (Object.keys(config.wallets).length === 0) return undefined;
  throw new Error('wallets: not implemented yet (issue 19, h-evm)');
}
