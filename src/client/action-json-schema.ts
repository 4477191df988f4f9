import { z } from 'zod';

import { actionResultSchemas } from '../broker/action-results.js';
import { actionInputSchemas } from '../broker/actions.js';
import type { ActionName } from './action-types.js';

/**
 * The JSON Schema (2020-12) of what a caller writes for an action, generated from cofre's own zod schema as the
 * server generates its OpenAPI request bodies (`io: 'input'`), so the tools a model sees match what cofre accepts.
 * Refinements JSON Schema cannot say (no control characters, a limit order needs a price) stay in the zod schema,
 * which the client checks before sending.
 */
export function actionInputJsonSchema(action: ActionName): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(actionInputSchemas[action], {
    io: 'input',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  return schema;
}

/** The JSON Schema of an action's `result` as the client types it (`io: 'output'`: as it travels). */
export function actionResultJsonSchema(action: ActionName): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(actionResultSchemas[action], {
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  return schema;
}
