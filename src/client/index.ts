/**
 * `cofre/client`: a typed client for agents written in TypeScript. Inputs are typed from cofre's own zod schemas,
 * so they cannot drift from what the server accepts. Fetch-based; no dependency beyond zod.
 * Adapters for agent frameworks: `cofre/client/ai-sdk` (Vercel AI SDK), `cofre/client/openai-agents`.
 */
export type {
  ActionInput,
  ActionName,
  ActionResponse,
  ActionResult,
  ApprovalTicket,
  ClientErrorCode,
  ErrorDetail,
  MethodName,
} from './action-types.js';
export { methodName } from './action-types.js';
export type { AgentCredential, SubjectTokenSource } from './agent-credential.js';
export {
  CofreApprovalTimeoutError,
  CofreClientError,
  CofreDeniedError,
  CofrePendingApprovalError,
  CofreRequestError,
} from './client-errors.js';
export {
  type CallOptions,
  CofreClient,
  type CofreClientOptions,
  createCofreClient,
  type Delegation,
  type DelegationRequest,
  type MethodOptions,
} from './cofre-client.js';
export type { WaitOptions } from './wait-for-request.js';
