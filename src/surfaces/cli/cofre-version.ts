import { createRequire } from 'node:module';

/** The version in package.json (`cofre --version`); the file sits three folders above this one in src/ and dist/. */
export function cofreVersion(): string {
  const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };
  return pkg.version;
}
