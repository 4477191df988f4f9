/**
 * Child process for the multi-process tests: opens an embedded store with a key file and writes
 * `<prefix>/<from>`, `<prefix>/<from+1>`, … with {@link valueFor} values, one at a time.
 *
 * argv[2]: JSON `{ store, keyFile, prefix, from, count, lockTimeoutMs, waitForGo }`; `count` -1 writes until killed.
 * Prints `ready` once the store is open (then waits for a line on stdin when `waitForGo`), `started` after the first
 * completed write, and `done` at the end.
 */
import { SecretValue } from '../../secret-value.js';
import { EmbeddedBackend } from '../embedded-backend.js';
import { valueFor } from './values.js';

interface WriterConfig {
  readonly store: string;
  readonly keyFile: string;
  readonly prefix: string;
  readonly from: number;
  readonly count: number;
  readonly lockTimeoutMs: number;
  readonly waitForGo: boolean;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WriterConfig;
const backend = await EmbeddedBackend.open(
  config.store,
  { kind: 'key-file', path: config.keyFile },
  { lockTimeoutMs: config.lockTimeoutMs },
);
process.stdout.write('ready\n');
if (config.waitForGo) {
  await new Promise<void>((resolve) => {
    process.stdin.once('data', () => {
      resolve();
    });
  });
}
for (let i = config.from; config.count < 0 || i < config.from + config.count; i++) {
  await backend.write(`${config.prefix}/${i}`, SecretValue.adopt(valueFor(config.prefix, i)));
  if (i === config.from) process.stdout.write('started\n');
}
await backend.close();
process.stdout.write('done\n');
process.stdin.destroy();
