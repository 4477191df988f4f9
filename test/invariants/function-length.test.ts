// Regression: `cli/main.ts` built every command in one 160-line function, and the paper exchange's start-up and
// route table were 170- and 150-line functions. A function over ~80 lines usually holds two ideas: split along the
// idea. Checked where that was done: the CLI and the paper exchange.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

const src = resolve(import.meta.dirname, '../../src');
const FOLDERS = ['surfaces/cli', 'paper-exchange'];
const MAX_LINES = 80;

/** Top-level functions (declarations at column 0) and their length in lines, closing brace at column 0. */
function longFunctions(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found: string[] = [];
  let start = -1;
  let name = '';
  lines.forEach((line, i) => {
    const m = /^(?:export )?(?:async )?function\s+(\w+)/.exec(line);
    if (m !== null && start === -1) {
      start = i;
      name = m[1] ?? '';
    } else if (start !== -1 && line === '}') {
      if (i - start + 1 > MAX_LINES) found.push(`${relative(src, file)}: ${name} has ${i - start + 1} lines`);
      start = -1;
    }
  });
  return found;
}

describe('function length', () => {
  it(`keeps top-level functions in ${FOLDERS.join(' and ')} under ${MAX_LINES} lines`, () => {
    const files = FOLDERS.flatMap((folder) =>
      readdirSync(join(src, folder), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
        .map((f) => join(src, folder, f)),
    );
    expect(files.length).toBeGreaterThan(10);
    expect(files.flatMap(longFunctions)).toEqual([]);
  });
});
