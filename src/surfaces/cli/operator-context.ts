import { userInfo } from 'node:os';

import { createLogger } from '../../audit/create-logger.js';
import { openBrokerRuntime } from '../../broker/broker-runtime.js';
import { OperatorActions } from '../../broker/operator-actions.js';
import type { CofreConfig } from '../../config/config-schema.js';
import { openCliAudit } from './cli-audit.js';
import { CliBrokerControl } from './cli-broker-control.js';
import type { CliIo } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { promptHidden } from './read-secret-input.js';

/** What an operator command works with; close it when done. */
export interface OperatorCli {
  readonly config: CofreConfig;
  readonly actions: OperatorActions;
  /** The operator this command acts as: `local:<os user>`. */
  readonly operator: string;
  close(): Promise<void>;
}

/**
 * Opens the state file and audit log of the config for `cofre approval|halt|resume`, which run on the host without
 * a token: whoever can write the state file is an operator already. Decisions are recorded as `local:<os user>`.
 * The broker (backends, venues) opens only if a command must reach a venue.
 */
export async function openOperatorCli(io: CliIo, global: GlobalOptions): Promise<OperatorCli> {
  const config = await loadCliConfig(io, global);
  const logger = createLogger({ level: 'warn' });
  const { state: store, close: closeState } = await openCliState(io, config);
  // Opened on the first decision only: listing and showing write nothing.
  const audit = openCliAudit(config, { promptPassphrase: (q) => promptHidden(io, q), state: store });
  const broker = new CliBrokerControl(() =>
    openBrokerRuntime(config, { logger, promptPassphrase: (q) => promptHidden(io, q) }),
  );
  return {
    config,
    actions: new OperatorActions({ store, broker, audit, logger }),
    operator: `local:${userInfo().username}`,
    async close() {
      await broker.close();
      await audit.close();
      await closeState();
    },
  };
}
