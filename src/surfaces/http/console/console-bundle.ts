import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file of the console bundle, held in memory. */
export interface BundleFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Strong ETag of the content, so a browser's cached copy is revalidated cheaply (304). */
  readonly etag: string;
}

/** The built console: `index.html` and the files under `assets/`, keyed by their path (`assets/console.js`). */
export interface ConsoleBundle {
  readonly index: BundleFile;
  readonly assets: ReadonlyMap<string, BundleFile>;
}

/** `dist/console` of this package (the same folder from `src/` under tsx and from `dist/` when built). */
export const DEFAULT_BUNDLE_DIR = fileURLToPath(new URL('../../../../dist/console', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Reads the console bundle from `dir` once, at start: `index.html` and every file directly under `assets/` whose
 * extension is in the list above (others are skipped). Undefined when `dir/index.html` does not exist (the console
 * was not built). SECURITY: requests are answered only from this fixed map, by exact key; no request path ever
 * reaches the file system, so no path can escape the bundle.
 */
export function loadConsoleBundle(dir: string = DEFAULT_BUNDLE_DIR): ConsoleBundle | undefined {
  let html: Buffer;
  try {
    html = readFileSync(join(dir, 'index.html'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const assets = new Map<string, BundleFile>();
  let names: string[] = [];
  try {
    names = readdirSync(join(dir, 'assets'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of names.sort()) {
    const type = CONTENT_TYPES[extname(name)];
    const path = join(dir, 'assets', name);
    if (type === undefined || !statSync(path).isFile()) continue;
    assets.set(`assets/${name}`, file(readFileSync(path), type));
  }
  return { index: file(html, 'text/html; charset=utf-8'), assets };
}

function file(body: Buffer, contentType: string): BundleFile {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, contentType, etag };
}

/** The page answered (503) at `/` when the console was not built. No script, no style: it passes the CSP as is. */
export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>cofre console: not built</title></head>
<body>
<h1>The cofre console is not built</h1>
<p>cofre serves the console from <code>dist/console</code>, which is missing. Run <code>npm run build</code> in the
cofre folder, then start <code>cofre serve</code> again.</p>
</body>
</html>
`;
