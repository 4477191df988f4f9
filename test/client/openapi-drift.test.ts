// The client cannot drift from the server: against the LIVE /v1/openapi.json of a served cofre, every action's
// request body is the JSON Schema of the client's input type, every executed result is the JSON Schema of the
// client's result type, and the client has a method for every action the document lists. A schema changed on one
// side only fails here.
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';

import { ACTION_NAMES } from '../../src/broker/actions.js';
import { actionInputJsonSchema, actionResultJsonSchema } from '../../src/client/action-json-schema.js';
import {
  type ActionInput,
  type ActionName,
  type ActionResult,
  type CofreClient,
  methodName,
} from '../../src/client/index.js';
import { ENCRYPTION_ACTIONS, WALLET_ACTIONS } from '../../src/config/policy-config.js';
import type { ServedFixture } from '../e2e/served-broker.js';
import { clientFor, startClientFixture } from './served-client.js';

interface OpenApi {
  paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: unknown }> } } }>;
  components: { schemas: Record<string, unknown> };
}

let fx: ServedFixture;
let trader: CofreClient;
let reader: CofreClient;
let documents: { label: string; doc: OpenApi }[];

beforeAll(async () => {
  fx = await startClientFixture();
  trader = await clientFor(fx, 'drift-trader', 'trader');
  reader = await clientFor(fx, 'drift-reader', 'reader');
  const fetchDoc = async (token: string | undefined): Promise<OpenApi> => {
    const answer = await fx.call('GET', '/v1/openapi.json', token);
    expect(answer.status).toBe(200);
    return answer.body as unknown as OpenApi;
  };
  documents = [
    { label: 'public', doc: await fetchDoc(undefined) },
    { label: 'trader', doc: await fetchDoc(await fx.agentToken('drift-doc', 'trader')) },
  ];
});

afterAll(async () => {
  await fx.close();
});

/** `/v1/actions/<name>` paths of a document: the actions it offers. */
function actionsOf(doc: OpenApi): string[] {
  return Object.keys(doc.paths)
    .filter((p) => p.startsWith('/v1/actions/'))
    .map((p) => p.slice('/v1/actions/'.length));
}

const pascal = (name: string): string =>
  name.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());

describe('the live OpenAPI document and the client agree', () => {
  it('lists every action the client knows, and the client has a method for each', () => {
    const [all] = documents;
    expect(actionsOf(all!.doc).sort()).toEqual([...ACTION_NAMES].sort());
    for (const { doc } of documents) {
      for (const action of actionsOf(doc)) {
        expect(ACTION_NAMES).toContain(action);
        expect(typeof (trader as unknown as Record<string, unknown>)[methodName(action as ActionName)]).toBe(
          'function',
        );
      }
    }
  });

  it('has, for every action, the request body schema of the client’s input type', () => {
    for (const { label, doc } of documents) {
      for (const action of actionsOf(doc) as ActionName[]) {
        const body =
          doc.paths[`/v1/actions/${action}`]?.post?.requestBody?.content['application/json']?.schema;
        expect({ label, action, body }).toEqual({ label, action, body: actionInputJsonSchema(action) });
      }
    }
  });

  it('has, for every action, the result schema of the client’s result type', () => {
    for (const { label, doc } of documents) {
      for (const action of actionsOf(doc) as ActionName[]) {
        const result = doc.components.schemas[`${pascal(action)}Result`];
        expect({ label, action, result }).toEqual({ label, action, result: actionResultJsonSchema(action) });
      }
    }
  });

  it('gives each agent only its own actions (what its tools are built from)', async () => {
    expect(await reader.listActions()).toEqual(['get_balance', 'get_ticker', 'get_request']);
    // The fixture's trader has no wallet or encryption key (issue 19): every other action is its.
    const unconfigured: ReadonlySet<string> = new Set([...WALLET_ACTIONS, ...ENCRYPTION_ACTIONS]);
    expect(await trader.listActions()).toEqual(ACTION_NAMES.filter((name) => !unconfigured.has(name)));
  });

  it('types inputs as the caller writes them and results as they travel', () => {
    expectTypeOf<ActionInput<'place_order'>['amount']>().toEqualTypeOf<string | number>();
    expectTypeOf<ActionInput<'place_order'>['side']>().toEqualTypeOf<'buy' | 'sell'>();
    expectTypeOf<ActionResult<'get_ticker'>['ticker']['last']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<ReturnType<CofreClient['placeOrder']>>().toEqualTypeOf<
      Promise<ActionResult<'place_order'>>
    >();
  });
});
