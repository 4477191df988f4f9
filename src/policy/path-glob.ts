/**
 * Compiles a path glob of a policy rule or a service's `paths` to a test: `*` matches any run of characters within
 * one segment (never a `/`), `**` any run across segments (slashes included); everything else matches itself. So
 * `/posts/*` matches `/posts/1` but not `/posts/1/votes`, and `/posts/**` matches both (and `/posts/`). Pure; the
 * returned function is safe to share.
 *
 * Paths are compared as sent (percent-encoding included): the action's schema refuses encoded slashes, dots and
 * backslashes and dot segments, so a path cannot reach another segment by encoding.
 */
export function compilePathGlob(pattern: string): (path: string) => boolean {
  if (!pattern.includes('*')) return (path) => path === pattern;
  const source = pattern
    .split(/(\*\*|\*)/)
    .map((part) =>
      part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  const regex = new RegExp(`^${source}$`);
  return (path) => regex.test(path);
}
