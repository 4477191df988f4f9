import { createRequire } from 'node:module';

import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;

/**
 * fastify's default schema compilers (`@fastify/ajv-compiler` for validation, `@fastify/fast-json-stringify-compiler`
 * for response serialisation), required only when a route first needs one, for fastify's `schemaController` option.
 *
 * fastify requires both when an instance is created, and with them ajv and fast-json-stringify: about 250 modules,
 * ~8 MiB of RSS and tens of ms of start-up (bench/README.md, "Memory and start-up"). cofre validates bodies with
 * zod (`setValidatorCompiler`) and declares no response schemas, so neither is needed today; a route that does need
 * one (a response schema, a JSON Schema body without cofre's validator) gets exactly the compiler fastify would have
 * used, built on first use. They are required from fastify's own location, as fastify itself would.
 *
 * `load` requires a compiler package by name (default: from fastify's location); tests pass one that records what
 * was loaded.
 */
export function lazySchemaCompilers(load: (name: string) => unknown = requireFromFastify): CompilersFactory {
  let validator: BuildValidator | undefined;
  let serializer: BuildSerializer | undefined;
  const buildValidator: BuildValidator = (externalSchemas, options) => {
    validator ??= (load('@fastify/ajv-compiler') as () => BuildValidator)();
    return validator(externalSchemas, options);
  };
  const buildSerializer: BuildSerializer = (externalSchemas, options) => {
    serializer ??= (load('@fastify/fast-json-stringify-compiler') as () => BuildSerializer)();
    return serializer(externalSchemas, options);
  };
  return { buildValidator, buildSerializer };
}

/** `require` from fastify's own folder: the compilers are fastify's dependencies, not cofre's. */
function requireFromFastify(name: string): unknown {
  return createRequire(createRequire(import.meta.url).resolve('fastify'))(name);
}
