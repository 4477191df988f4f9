/**
 * The stand-in is a peer written from the reference, not a mirror of cofre's code: its modules import nothing from
 * `src/` and no Azure SDK (only its SDK tests drive it through the SDK), and no code in `src/` imports it (tests
 * there may, as the AWS tests drive test/peers).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const src = fileURLToPath(new URL('../../src', import.meta.url));

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] ?? '');
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

describe('key-vault stand-in independence', () => {
  const standInFiles = tsFiles(here);

  it('imports nothing from src/', () => {
    const offenders = standInFiles.flatMap((f) =>
      importsOf(f)
        .filter((spec) => spec.includes('/src/') || spec.startsWith('../../src') || spec === 'cofre')
        .map((spec) => `${relative(here, f)} → ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('uses no Azure SDK outside its SDK tests', () => {
    const offenders = standInFiles
      .filter((f) => !f.endsWith('.test.ts'))
      .flatMap((f) =>
        importsOf(f)
          .filter((spec) => spec.startsWith('@azure/'))
          .map((spec) => `${relative(here, f)} → ${spec}`),
      );
    expect(offenders).toEqual([]);
  });

  // What ships is what matters: tests and their testdata helpers (excluded from tsconfig.build.json) may drive it.
  it('is imported by no code in src/ that ships', () => {
    const offenders = tsFiles(src)
      .filter((f) => !f.endsWith('.test.ts') && !f.split(sep).includes('testdata'))
      .filter((f) => importsOf(f).some((spec) => spec.includes('key-vault-standin')));
    expect(offenders).toEqual([]);
  });
});
