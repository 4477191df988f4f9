import { z } from 'zod';

import { cofreConfigSchema } from './config-schema.js';
import { deepFreeze } from './deep-freeze.js';

let cached: Readonly<Record<string, unknown>> | undefined;

/**
 * JSON Schema (draft 2020-12) of what may be written in `cofre.yaml`: the input side, with descriptions and
 * defaults, for editors (`cofre config schema`; e.g. a `# yaml-language-server: $schema=...` comment). Checks the
 * schema cannot express (literal credentials, cross-references, exactly one key source) are left to `cofre config
 * check`. Computed once; the result is frozen and safe to share.
 */
export function configJsonSchema(): Readonly<Record<string, unknown>> {
  cached ??= deepFreeze(
    z.toJSONSchema(cofreConfigSchema, {
      io: 'input',
      unrepresentable: 'any',
      target: 'draft-2020-12',
    }) as Record<string, unknown>,
  );
  return cached;
}
