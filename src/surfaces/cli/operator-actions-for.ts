import type { Logger } from 'pino';

import type { BrokerControl } from '../../broker/broker-control.js';
import type { BrokerRuntime } from '../../broker/broker-runtime.js';
import { OperatorActions } from '../../broker/operator-actions.js';
import type { CofreConfig } from '../../config/config-schema.js';

/**
 * The operator actions of a serving broker: one instance behind both the operator API on the agent port (bearer
 * operator tokens) and the operator console on its own listener (issue 18: session cookies), so the two cannot
 * drift. It runs in the broker's own process, so a halt through it waits for this broker's writes.
 */
export function operatorActionsFor(
  _config: CofreConfig,
  runtime: BrokerRuntime,
  options: {
    readonly logger: Logger;
    readonly now?: (() => Date) | undefined;
    readonly operatorBroker?: ((broker: BrokerControl) => BrokerControl) | undefined;
  },
): OperatorActions {
  return new OperatorActions({
    store: runtime.state,
    broker: options.operatorBroker?.(runtime.broker) ?? runtime.broker,
    audit: runtime.audit,
    logger: options.logger,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}
