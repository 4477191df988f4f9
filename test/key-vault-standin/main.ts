/**
 * Runs a Key Vault stand-in by hand, next to `cofre serve`: `npx tsx test/key-vault-standin/main.ts
 * [--vault-port N] [--authority-port N] [--identity-port N]` (free ports where not given).
 * Prints the URLs, identities and the environment a client needs, then serves until Ctrl-C.
 * The client process must trust the certificate: start it with `NODE_EXTRA_CA_CERTS=<caFile>` (printed).
 */
import { parseArgs } from 'node:util';

import { startKeyVaultStandIn } from './index.js';

const { values } = parseArgs({
  options: {
    'vault-port': { type: 'string' },
    'authority-port': { type: 'string' },
    'identity-port': { type: 'string' },
  },
});

function port(flag: keyof typeof values): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65_535)
    throw new Error(`--${flag} must be a port number (1-65535)`);
  return n;
}

const vault = port('vault-port');
const authority = port('authority-port');
const identity = port('identity-port');
const standIn = await startKeyVaultStandIn({
  ports: {
    ...(vault !== undefined ? { vault } : {}),
    ...(authority !== undefined ? { authority } : {}),
    ...(identity !== undefined ? { identity } : {}),
  },
});
const lines = [
  'Key Vault stand-in (a test peer; tokens and secrets live in memory)',
  `  vaultUrl:               ${standIn.vaultUrl}`,
  `  authorityHost:          ${standIn.authorityHost}`,
  `  tenantId:               ${standIn.tenantId}`,
  `  system-assigned client: ${standIn.systemAssignedClientId} (secrets-officer)`,
  '',
  'Client environment:',
  `  NODE_EXTRA_CA_CERTS=${standIn.caFile}`,
  `  AZURE_POD_IDENTITY_AUTHORITY_HOST=${standIn.imdsHost}    # managed identity, IMDS route`,
  `  IDENTITY_ENDPOINT=${standIn.appService.endpoint} IDENTITY_HEADER=${standIn.appService.header}    # App Service route`,
  'SecretClient needs disableChallengeResourceVerification (cofre: verifyChallengeResource: false).',
  'Ctrl-C stops it.',
];
process.stdout.write(`${lines.join('\n')}\n`);

const stop = (): void => {
  void standIn.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
