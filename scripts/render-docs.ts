// Regenerates the documentation that is derived from code (`npm run docs`). Tests fail when these drift.
import { writeFileSync } from 'node:fs';

import { renderErrorsMarkdown } from '../src/errors.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsMarkdown());
