import type { StateStore } from '../src/state/state-store.js';

/**
 * What the broker's state store does for every write: claim a request with an idempotency key, then finish it. The
 * benches that compare against it (`orders`, `limits`) share this one definition.
 */
export async function claimAndFinish(store: StateStore, requestId: string): Promise<void> {
  const now = new Date();
  await store.claimRequest({
    requestId,
    agentId: 'bench-agent',
    action: 'place_order',
    account: 'paper',
    idempotencyKey: `bench-agent:paper:${requestId}`,
    input: '{}',
    status: 'executing',
    response: undefined,
    createdAt: now,
    updatedAt: now,
  });
  await store.finishRequest(requestId, {
    status: 'executed',
    response: JSON.stringify({ requestId, status: 'executed' }),
    at: now,
    releaseKey: false,
  });
}
