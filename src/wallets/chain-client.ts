import {
  BaseError,
  createPublicClient,
  fallback,
  http,
  HttpRequestError,
  type PublicClient,
  TimeoutError,
  type Transport,
} from 'viem';

import type { ChainConfig } from '../config/wallets-config.js';
import { CofreError } from '../errors.js';
import type { WalletServiceDependencies } from './wallet-service.js';

/** How long one JSON-RPC call may take before the endpoint counts as unavailable. */
const RPC_TIMEOUT_MS = 10_000;

/**
 * The JSON-RPC client of one configured chain: viem's public client over the chain's `rpc` endpoints (a fallback
 * in the configured order), and nothing else — cofre never talks to an endpoint it was not given.
 *
 * - SECURITY: an endpoint read from a secret (it carries an API key) is read through the audited secrets once, when
 *   the chain is first used, and lives only inside viem's transport. No message this class produces names an
 *   endpoint: viem's own errors (which quote the URL) are never passed on, only {@link rpcFailure}'s words.
 * - SECURITY: before the first use, every endpoint is asked `eth_chainId`; one that reports another chain than the
 *   configured one refuses the whole chain with `COFRE_CHAIN_MISMATCH` (a misconfigured or hostile endpoint must not
 *   get transactions signed for the configured chain id, nor feed them state of another chain). Endpoints that do not
 *   answer then are left out for the life of the process (restart cofre to take one back); when none answers, the
 *   call fails with `COFRE_RPC_UNAVAILABLE` and the next use tries them all again.
 *
 * Safe to call concurrently: concurrent first uses share one check.
 */
export class ChainClient {
  readonly name: string;
  readonly config: ChainConfig;
  readonly #deps: WalletServiceDependencies;
  #ready: Promise<PublicClient> | undefined;

  constructor(name: string, config: ChainConfig, deps: WalletServiceDependencies) {
    this.name = name;
    this.config = config;
    this.#deps = deps;
  }

  /** The verified client; throws `COFRE_CHAIN_MISMATCH` or `COFRE_RPC_UNAVAILABLE`. */
  client(): Promise<PublicClient> {
    this.#ready ??= this.#connect().catch((err: unknown) => {
      this.#ready = undefined; // an unreachable endpoint may come back: try again next time
      throw err;
    });
    return this.#ready;
  }

  async #connect(): Promise<PublicClient> {
    const urls = await this.#urls();
    const verified: Transport[] = [];
    for (const [index, url] of urls.entries()) {
      const transport = http(url, { retryCount: 0, timeout: RPC_TIMEOUT_MS });
      let reported: number;
      try {
        reported = await createPublicClient({ transport }).getChainId();
      } catch (err) {
        this.#deps.logger.warn(
          { chain: this.name, endpoint: index, reason: rpcReason(err) },
          'an RPC endpoint did not answer eth_chainId; left out',
        );
        continue;
      }
      if (reported !== this.config.chainId) {
        throw new CofreError(
          'COFRE_CHAIN_MISMATCH',
          `chain ${this.name}: RPC endpoint ${index} reports chain id ${reported}, not the configured ${this.config.chainId}; nothing is signed or sent on this chain`,
        );
      }
      // Retries belong to the fallback (reads only): a broadcast asks for none (see EvmWallet.broadcast).
      verified.push(http(url, { retryCount: 0, timeout: RPC_TIMEOUT_MS }));
    }
    if (verified.length === 0) {
      throw new CofreError(
        'COFRE_RPC_UNAVAILABLE',
        `chain ${this.name}: no configured RPC endpoint answered; nothing was signed or sent`,
      );
    }
    return createPublicClient({ transport: fallback(verified, { retryCount: 1 }), pollingInterval: 250 });
  }

  /** The endpoints, in order; those given by secret reference are read (audited) and kept in memory only. */
  async #urls(): Promise<string[]> {
    const urls: string[] = [];
    for (const rpc of this.config.rpc) {
      if (typeof rpc === 'string') {
        urls.push(rpc);
        continue;
      }
      const value = await this.#deps.secrets.read(rpc.secret, { purpose: 'wallet-rpc' });
      try {
        const url = value.text().trim();
        if (!/^https?:\/\/\S+$/.test(url)) {
          throw new CofreError(
            'COFRE_CONFIG_INVALID',
            `chain ${this.name}: the secret ${rpc.secret} does not hold an http(s) URL`,
          );
        }
        urls.push(url);
      } finally {
        value.zero();
      }
    }
    return urls;
  }
}

/**
 * A failed RPC call as a cofre error that names no endpoint: `COFRE_RPC_UNAVAILABLE` (retryable) with `what` and a
 * short, URL-free reason. SECURITY: viem's message quotes the endpoint URL (which may carry an API key) and the
 * request; neither is kept, not even as `cause`.
 */
export function rpcFailure(chain: string, what: string, err: unknown): CofreError {
  if (err instanceof CofreError) return err;
  return new CofreError('COFRE_RPC_UNAVAILABLE', `chain ${chain}: ${what} failed: ${rpcReason(err)}`);
}

/** True when `err` is a failure of the transport (no answer, a timeout), not an answer of the node. */
export function isTransportFailure(err: unknown): boolean {
  if (!(err instanceof BaseError)) return !(err instanceof CofreError);
  return err.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null;
}

/** A short reason for a failed RPC call, without URLs or request bodies. */
export function rpcReason(err: unknown): string {
  if (err instanceof BaseError) {
    if (isTransportFailure(err))
      return err.walk((e) => e instanceof TimeoutError) === null ? 'no answer' : 'timed out';
    return untrustedText(innermostReason(err));
  }
  return 'unexpected error';
}

/** The words of the innermost viem error that has any (`details`, else `shortMessage`). */
export function innermostReason(err: BaseError): string {
  let reason = err.shortMessage || 'no reason given';
  err.walk((e) => {
    if (e instanceof BaseError) reason = e.details || e.shortMessage || reason;
    return false;
  });
  return reason;
}

/**
 * Text from a chain or node, made safe to show: one line, no URLs (an endpoint's key must not leak through its own
 * error text), at most 200 characters. It is still untrusted: a node can say anything.
 */
export function untrustedText(text: string): string {
  return text
    .replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>')
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, 200);
}
