import { fileURLToPath } from 'node:url';

import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';

import { renderConfigReference } from './config-reference.js';

const DOC = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));

describe('docs/configuration.md', () => {
  it('matches the schema (regenerate with `npx vitest run src/config -u`)', async () => {
    const options = await resolveConfig(DOC);
    const rendered = await format(renderConfigReference(), { ...options, filepath: DOC });
    await expect(rendered).toMatchFileSnapshot(DOC);
  });

  it('documents every key of the starter config and every top-level key', () => {
    const doc = renderConfigReference();
    for (const key of [
      'backends.<name>.cache.staleIfError',
      'backends.<name>.kdf.N',
      'accounts.<name>.credentials.apiKey',
      'agents.tokenTtl',
      'policies.<name>.actions',
      'audit.path',
      'server.bodyLimit',
      'state.path',
    ]) {
      expect(doc).toContain(`\`${key}\``);
    }
  });
});
