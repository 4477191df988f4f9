import { createPublicClient, http } from 'viem';

import type { ChainConfig } from '../../config/wallets-config.js';
import { isCofreError } from '../../errors.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';
import { walletEntries, walletKeyStatus } from './wallet-key-status.js';

const RPC_TIMEOUT_MS = 10_000;

/**
 * Issue 19: each wallet's key is reachable and of the right kind (AWS KMS: GetPublicKey answers a key of spec
 * `ECC_SECG_P256K1` and usage `SIGN_VERIFY`; embedded: the secret holds a private key), and each RPC endpoint of
 * each chain a wallet uses reports the configured chain id (`eth_chainId` only: nothing is signed or sent).
 *
 * SECURITY: an RPC URL may carry an API key (that is why it can be a secret reference), so findings name an
 * endpoint by its position (`chains.main.rpc[1]`), never by its URL.
 */
export const walletDoctorCheck: DoctorCheck = async (ctx) => {
  const findings: DoctorFinding[] = [];
  const chainsInUse = new Set<string>();
  for (const [name, wallet] of walletEntries(ctx.config)) {
    chainsInUse.add(wallet.chain);
    const status = await walletKeyStatus(wallet.key, ctx.resolver);
    findings.push(
      status.ok
        ? {
            check: 'wallets',
            subject: `wallets.${name}`,
            status: 'ok',
            message: `key ${status.source} signs for ${status.address}`,
            details: { address: status.address },
          }
        : {
            check: 'wallets',
            subject: `wallets.${name}`,
            status: 'fail',
            message: `${status.code}: ${status.message}`,
            details: { code: status.code },
          },
    );
  }
  for (const chain of chainsInUse) {
    const config = ctx.config.chains[chain];
    if (config !== undefined) findings.push(...(await rpcFindings(chain, config, ctx.resolver)));
  }
  return findings;
};

async function rpcFindings(
  name: string,
  chain: ChainConfig,
  resolver: SecretResolver,
): Promise<DoctorFinding[]> {
  const findings: DoctorFinding[] = [];
  for (const [i, endpoint] of chain.rpc.entries()) {
    const subject = `chains.${name}.rpc[${i}]`;
    let url: string;
    if (typeof endpoint === 'string') url = endpoint;
    else {
      try {
        const value = await resolver.resolve(endpoint.secret);
        url = value.text();
        value.zero();
      } catch (err) {
        findings.push({
          check: 'wallets',
          subject,
          status: 'fail',
          message: `its URL ${endpoint.secret} could not be read: ${describe(err)}`,
        });
        continue;
      }
    }
    let reported: number;
    try {
      const client = createPublicClient({ transport: http(url, { retryCount: 0, timeout: RPC_TIMEOUT_MS }) });
      reported = await client.getChainId();
    } catch (err) {
      // SECURITY: viem's errors quote the URL; only the error's name is kept.
      findings.push({
        check: 'wallets',
        subject,
        status: 'fail',
        message: `no answer to eth_chainId (${err instanceof Error ? err.name : 'error'})`,
      });
      continue;
    }
    findings.push(
      reported === chain.chainId
        ? { check: 'wallets', subject, status: 'ok', message: `reports chain id ${reported}` }
        : {
            check: 'wallets',
            subject,
            status: 'fail',
            message: `reports chain id ${reported}, but the config says ${chain.chainId}: cofre refuses to send through it`,
            details: { reported, configured: chain.chainId },
          },
    );
  }
  return findings;
}

function describe(err: unknown): string {
  // A cofre error names the reference, never the value; anything else is reduced to its name.
  return isCofreError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? err.name : 'error';
}
