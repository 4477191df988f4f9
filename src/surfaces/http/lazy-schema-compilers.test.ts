import { createRequire } from 'node:module';

import fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';

import { lazySchemaCompilers } from './lazy-schema-compilers.js';

const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A fastify instance with the lazy compilers, whose loader records what it loaded. */
function lazyApp(): { app: FastifyInstance; loaded: string[] } {
  const loaded: string[] = [];
  const instance = fastify({
    schemaController: {
      compilersFactory: lazySchemaCompilers((name) => {
        loaded.push(name);
        return fromFastify(name);
      }),
    },
  });
  app = instance;
  return { app: instance, loaded };
}

describe('lazySchemaCompilers', () => {
  it('loads neither compiler for routes that validate with their own compiler and declare no response schema', async () => {
    const { app, loaded } = lazyApp();
    app.setValidatorCompiler(() => (data) => ({ value: data }));
    app.post('/echo', { schema: { body: { type: 'object' } } }, (request) => request.body);
    const answer = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
    expect(answer.json()).toEqual({ a: 1 });
    expect(loaded).toEqual([]);
  });

  it('gives a route that needs them the compilers fastify would have used, loaded once', async () => {
    const { app, loaded } = lazyApp();
    const schema = {
      body: { type: 'object', required: ['a'], properties: { a: { type: 'integer' } } },
      response: { 200: { type: 'object', properties: { a: { type: 'integer' } } } },
    };
    app.post('/one', { schema }, (request) => ({ ...(request.body as object), extra: 'dropped' }));
    app.post('/two', { schema }, (request) => request.body);
    // ajv refuses a body without `a`; fast-json-stringify writes only the fields the response schema names.
    expect((await app.inject({ method: 'POST', url: '/one', payload: { b: 1 } })).statusCode).toBe(400);
    const ok = await app.inject({ method: 'POST', url: '/one', payload: { a: 1 } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('{"a":1}');
    expect((await app.inject({ method: 'POST', url: '/two', payload: { a: 2 } })).body).toBe('{"a":2}');
    expect([...loaded].sort()).toEqual(['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler']);
  });
});
