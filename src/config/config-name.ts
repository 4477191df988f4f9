import { z } from 'zod';

/** Names of backends, accounts and policies: they appear in references, CLI arguments, URLs and audit lines. */
export const CONFIG_NAME_PATTERN = /^[a-z][a-z0-9_-]*$/;

/** A record key naming a backend, account or policy; `kind` goes into the message. */
export function configNameSchema(kind: string) {
  return z
    .string()
    .max(64, { error: `a ${kind} name is at most 64 characters` })
    .regex(CONFIG_NAME_PATTERN, {
      error: `invalid ${kind} name; use lowercase letters, digits, "_" and "-", starting with a letter`,
    });
}
