// What ccxt itself costs per request, in CPU, in a process that does nothing else: the floor under cofre's CPU per
// request in the overhead section (cofre's process runs ccxt too). See bench/README.md.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { startExchangeProcess } from './broker-latency.js';
import { firstLine, spawnTracked, stopChild } from './child-process.js';

const CONCURRENCY = [1, 16] as const;

/** Prints ccxt's own CPU per request for orders (place, cancel) and balance reads. */
export async function ccxtAloneBench(): Promise<void> {
  const apiKey = randomBytes(32).toString('hex');
  const secret = randomBytes(32).toString('hex');
  const exchange = await startExchangeProcess(apiKey, secret);
  const script = fileURLToPath(new URL('./ccxt-alone-process.ts', import.meta.url));
  console.log(
    '\n## ccxt alone: CPU per request in a process of its own\n\n' +
      '| in flight | orders/s (place, cancel) | CPU ms per order request | reads/s | CPU ms per read |\n' +
      '| ---: | ---: | ---: | ---: | ---: |',
  );
  try {
    for (const concurrency of CONCURRENCY) {
      const child = spawnTracked(process.execPath, [...process.execArgv, script], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      try {
        child.stdin?.write(
          `${JSON.stringify({ url: exchange.url, apiKey, secret, concurrency, pairs: 1500, reads: 3000 })}\n`,
        );
        const result = JSON.parse(await firstLine(child, 'the ccxt process', 120_000)) as Record<
          'orders' | 'reads',
          { perSecond: number; cpuMsPerRequest: number }
        >;
        console.log(
          `| ${concurrency} | ${result.orders.perSecond.toFixed(0)} | ${result.orders.cpuMsPerRequest.toFixed(3)} | ` +
            `${result.reads.perSecond.toFixed(0)} | ${result.reads.cpuMsPerRequest.toFixed(3)} |`,
        );
      } finally {
        await stopChild(child);
      }
    }
  } finally {
    await exchange.stop();
  }
}
