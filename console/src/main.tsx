// The operator console (issue 18): a preact app bundled by esbuild (scripts/build-console.ts), served by cofre's
// console listener with a CSP that allows only this script and its stylesheet.
import { render } from 'preact';

import { App } from './app.js';

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
