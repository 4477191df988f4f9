import type { FastifyRequest } from 'fastify';

import { type AuthenticatedOperator, authenticateOperator } from '../../broker/operator-tokens.js';
import { CofreError } from '../../errors.js';
import type { ControlStore } from '../../state/control-store.js';
import { bearerToken } from './bearer-token.js';

/** Bearer authentication for the operator routes, the twin of `AgentAuth`. */
export interface OperatorAuth {
  /**
   * An `onRequest` hook, before the body is read. SECURITY: only operator tokens pass; an agent token gets
   * `COFRE_OPERATOR_TOKEN_REQUIRED` (403), anything else `COFRE_UNAUTHENTICATED` (401).
   */
  readonly authenticate: (request: FastifyRequest) => Promise<void>;
  /** The operator {@link OperatorAuth.authenticate} found for this request; throws if the route has no such hook. */
  readonly operatorOf: (request: FastifyRequest) => AuthenticatedOperator;
}

/** Builds {@link OperatorAuth} over the store's operators. Safe to use for concurrent requests. */
export function createOperatorAuth(store: ControlStore, now: () => Date): OperatorAuth {
  const operators = new WeakMap<FastifyRequest, AuthenticatedOperator>();
  return {
    authenticate: async (request) => {
      operators.set(
        request,
        await authenticateOperator(store, bearerToken(request.headers.authorization), now()),
      );
    },
    operatorOf: (request) => {
      const operator = operators.get(request);
      if (operator === undefined)
        throw new CofreError('COFRE_INTERNAL', 'route is missing its authentication hook');
      return operator;
    },
  };
}
