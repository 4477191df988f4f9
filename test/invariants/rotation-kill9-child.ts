// The child of rotation-kill9.test.ts: runs `cofre rotate <account>` as the CLI does (openRotationContext over the
// config's embedded store, state file and audit log, the paper exchange through ccxt) and SIGKILLs itself right
// after the rotation's `crashAfter`-th progress point: no cleanup, no flush, as a kill -9 would leave it.
// Usage: node --import tsx rotation-kill9-child.ts <config> <account> <crashAfter> (new credentials JSON on stdin)
import { text } from 'node:stream/consumers';

import { loadConfig } from '../../src/config/load-config.js';
import { parseNewCredentials } from '../../src/rotation/new-credentials.js';
import { accountCredentialFields, RotationEngine } from '../../src/rotation/rotation-engine.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { openRotationContext } from '../../src/surfaces/cli/rotate.js';

const [configPath = '', account = '', crashAfter = '0'] = process.argv.slice(2);
const config = await loadConfig(configPath);
const input = SecretValue.fromText(await text(process.stdin));
const credentials = parseNewCredentials(input, accountCredentialFields({ config }, account));
let points = 0;
const opened = await openRotationContext(config, {
  onStep: (progress) => {
    points++;
    process.stdout.write(`${progress.step}\n`);
    if (points === Number(crashAfter)) process.kill(process.pid, 'SIGKILL');
  },
  onWarning: () => undefined,
});
try {
  await new RotationEngine(opened.context).rotateAccount(account, credentials);
} catch (err) {
  process.stdout.write(`ended: ${(err as Error).message}\n`);
} finally {
  await opened.close();
}
process.stdout.write(`points ${points}\n`);
