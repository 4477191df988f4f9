// Bundles the operator console (issue 18) for the browser: console/src → dist/console/assets, with index.html.
// esbuild because it is one dependency with no plugins to keep, and fast enough to run on every `npm run build`.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/console`;

rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });
await build({
  entryPoints: { console: `${root}console/src/main.tsx`, 'console-style': `${root}console/src/console.css` },
  outdir: `${out}/assets`,
  entryNames: '[name]',
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'eof',
  logLevel: 'warning',
});
copyFileSync(`${root}console/index.html`, `${out}/index.html`);
