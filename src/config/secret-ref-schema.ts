import { z } from 'zod';

import { isCofreError } from '../errors.js';
import { looksLikeLiteralSecret, parseSecretReference } from '../secrets/secret-reference.js';

/** Issue parameters the config loader reads back: a catalogue code and a hint shown after the message. */
export interface ConfigIssueParams {
  readonly code?: 'COFRE_CONFIG_LITERAL_SECRET' | 'COFRE_REFERENCE_INVALID' | 'COFRE_BACKEND_UNKNOWN';
  readonly hint?: string;
  /** 1-based column inside the string value that the message points at. */
  readonly column?: number;
}

/**
 * Message for a literal credential found where a reference belongs.
 *
 * SECURITY: constant text. The value is never interpolated, so the error, its details and any log of them cannot
 * carry the credential (test: "literal secret message does not contain the literal").
 */
export const LITERAL_SECRET_MESSAGE =
  'looks like a literal credential; the config holds secret references only, never values';

/** How to fix {@link LITERAL_SECRET_MESSAGE}. */
export const LITERAL_SECRET_HINT =
  'store the value with `cofre secret put <name>` (it reads the value from stdin or a prompt), then write `<backend>:<name>#<field>` here';

/**
 * A secret reference field (`<backend>:<path>[#<field>][@<version>|@stage=<label>]`). The output is the reference
 * text as written; that its backend exists is checked by the config schema, which knows the backends.
 *
 * SECURITY: a value that looks like a credential is rejected *before* it reaches the reference parser, whose
 * messages quote their input; the literal check's message quotes nothing.
 */
export const secretRefSchema = z
  .string()
  .superRefine((value, ctx) => {
    if (looksLikeLiteralSecret(value)) {
      const params: ConfigIssueParams = { code: 'COFRE_CONFIG_LITERAL_SECRET', hint: LITERAL_SECRET_HINT };
      ctx.addIssue({ code: 'custom', message: LITERAL_SECRET_MESSAGE, params });
      return;
    }
    try {
      parseSecretReference(value);
    } catch (err) {
      if (!isCofreError(err, 'COFRE_REFERENCE_INVALID')) throw err;
      const column = err.details?.['column'];
      const params: ConfigIssueParams = {
        code: 'COFRE_REFERENCE_INVALID',
        hint: 'write <backend>:<path>[#<field>], e.g. local:exchanges/binance#apiKey',
        ...(typeof column === 'number' ? { column } : {}),
      };
      ctx.addIssue({ code: 'custom', message: err.message, params });
    }
  })
  .describe(
    'Secret reference `<backend>:<path>[#<field>][@<version>|@stage=<label>]`, e.g. `local:exchanges/binance#apiKey`. Never the value itself.',
  );
