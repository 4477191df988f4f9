import { fileURLToPath } from 'node:url';

import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';

import { CofreError, errorCatalogue, isCofreError, renderErrorsMarkdown } from './errors.js';

const DOC = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

describe('error catalogue', () => {
  it('matches docs/errors.md (run `npm run docs` after changing src/errors.ts)', async () => {
    const options = await resolveConfig(DOC);
    const rendered = await format(renderErrorsMarkdown(), { ...options, filepath: DOC });
    await expect(rendered).toMatchFileSnapshot(DOC);
  });

  it('names every code COFRE_<WHAT> in SCREAMING_SNAKE', () => {
    for (const code of Object.keys(errorCatalogue)) expect(code).toMatch(/^COFRE_[A-Z0-9]+(_[A-Z0-9]+)*$/);
  });

  it('takes category and retryable from the catalogue', () => {
    const err = new CofreError('COFRE_BACKEND_UNAVAILABLE', 'vault is down', {
      cause: new Error('ECONNREFUSED'),
    });
    expect(err.category).toBe('unavailable');
    expect(err.retryable).toBe(true);
    expect(err.cause).toBeInstanceOf(Error);
    expect(isCofreError(err, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
    expect(isCofreError(err, 'COFRE_INTERNAL')).toBe(false);
    expect(isCofreError(new Error('x'))).toBe(false);
  });
});
