import { openResolver } from '../../secrets/open-backend.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { promptHidden } from './read-secret-input.js';
import { printTable } from './secret-list.js';
import { walletEntries, walletKeyStatus } from './wallet-key-status.js';

/**
 * `cofre wallet list`: one line per configured wallet — name, chain, address, key source. The address comes from
 * the key source (KMS GetPublicKey; an embedded key read once and zeroed); a key that cannot be read shows its
 * error code instead, and the command still lists the others.
 */
export async function walletList(io: CliIo, global: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(io, global);
  const wallets = walletEntries(config);
  if (wallets.length === 0) {
    println(io.stderr, 'No wallets configured (add them under `wallets:` in the config).');
    return;
  }
  const resolver = await openResolver(config, { promptPassphrase: (q) => promptHidden(io, q) });
  try {
    const rows: string[][] = [];
    for (const [name, wallet] of wallets) {
      const status = await walletKeyStatus(wallet.key, resolver);
      rows.push([name, wallet.chain, status.ok ? status.address : `- (${status.code})`, status.source]);
    }
    printTable(io, ['NAME', 'CHAIN', 'ADDRESS', 'KEY'], rows);
  } finally {
    await resolver.close();
  }
}
