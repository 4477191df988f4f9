// Regenerates the documentation derived from code (`npm run docs`), formatted as `npm run check` expects.
// The tests in src/errors.test.ts and src/config/config-reference.test.ts fail when these files drift.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { format, resolveConfig } from 'prettier';

import { renderConfigReference } from '../src/config/config-reference.js';
import { renderErrorsMarkdown } from '../src/errors.js';

const docs: [string, () => string][] = [
  ['../docs/errors.md', renderErrorsMarkdown],
  ['../docs/configuration.md', renderConfigReference],
];

for (const [relative, render] of docs) {
  const path = fileURLToPath(new URL(relative, import.meta.url));
  const options = await resolveConfig(path);
  await writeFile(path, await format(render(), { ...options, filepath: path }));
}
