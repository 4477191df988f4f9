import { render } from 'preact';

import type { ConsoleSessionJson } from '../../src/surfaces/http/operator-api-types.js';

/** Issue 18 contract placeholder: h-ui replaces this with the console. */
function App(props: { readonly session: ConsoleSessionJson | undefined }) {
  return <main>cofre console{props.session === undefined ? '' : ` — ${props.session.operator}`}</main>;
}

const root = document.getElementById('app');
if (root !== null) render(<App session={undefined} />, root);
