import { createLogger } from '../../audit/create-logger.js';
import { openBrokerRuntime, SIGNED_REQUEST_WINDOW_MS } from '../../broker/broker-runtime.js';
import { CofreError } from '../../errors.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { promptHidden } from './read-secret-input.js';

/**
 * `cofre request reconcile`: settles requests left `executing` by a cofre that stopped, asking the venue about each
 * order by its clientOrderId (`cofre serve` does the same at start). Only requests older than the venue's
 * signed-request window are touched, so none can still arrive at the venue. Fails (exit 1) while any remains.
 */
export async function requestReconcile(io: CliIo, global: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(io, global);
  const logger = createLogger({ level: 'warn' });
  const runtime = await openBrokerRuntime(config, { logger, promptPassphrase: (q) => promptHidden(io, q) });
  try {
    const report = await runtime.broker.reconcileInterrupted(new Date(Date.now() - SIGNED_REQUEST_WINDOW_MS));
    for (const r of report.resolved) println(io.stdout, `${r.requestId}: settled as ${r.status}`);
    for (const r of report.unresolved) println(io.stdout, `${r.requestId}: not settled: ${r.reason}`);
    if (report.resolved.length === 0 && report.unresolved.length === 0) {
      println(io.stdout, 'nothing to settle');
    }
    if (report.unresolved.length > 0) {
      throw new CofreError(
        'COFRE_VENUE_UNAVAILABLE',
        `${report.unresolved.length} request(s) could not be settled; run this again when the venue answers`,
      );
    }
  } finally {
    await runtime.close();
  }
}
