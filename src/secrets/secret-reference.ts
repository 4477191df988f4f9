import { CofreError } from '../errors.js';

/** cofre's own stage names; backends map them to theirs (AWS `AWSCURRENT`, Vault versions, Azure tags). */
export const STAGES = ['current', 'previous', 'pending'] as const;
export type Stage = (typeof STAGES)[number];

/** Which version of a secret a read wants. */
export type VersionSelector =
  | { readonly kind: 'latest' }
  | { readonly kind: 'version'; readonly version: string }
  | { readonly kind: 'stage'; readonly stage: Stage };

/** A parsed `<backend>:<path>[#<field>][@<version>|@stage=<label>]`. Holds no secret. */
export interface SecretReference {
  readonly backend: string;
  /** Backend-specific path or name, percent-decoded. */
  readonly path: string;
  /** A string field of a JSON-object value, when the reference selects one. */
  readonly field: string | undefined;
  readonly selector: VersionSelector;
}

const LATEST: VersionSelector = Object.freeze({ kind: 'latest' });

const BACKEND_START = /[a-z]/;
const BACKEND_CHAR = /[a-z0-9_-]/;
// Path characters cover Vault paths, AWS names and ARNs (`:`), Azure names. `@` and `#` are delimiters; a
// name that contains one is written percent-encoded (`%40`, `%23`).
const PATH_CHAR = /[A-Za-z0-9_.\-/+=:,%]/;
const FIELD_CHAR = /[A-Za-z0-9_.-]/;
const VERSION_CHAR = /[A-Za-z0-9_.-]/;
const MAX_REFERENCE_LENGTH = 2048;

/**
 * Parses a secret reference. Errors carry `details.column` (1-based) and a caret line pointing at the bad
 * character, so a config error reads like a compiler error.
 *
 * SECURITY: callers must not feed a string that may be a literal credential here without first checking
 * {@link looksLikeLiteralSecret}: the error message quotes the input.
 */
export function parseSecretReference(input: string): SecretReference {
  if (input.length === 0) throw referenceError(input, 0, 'is empty; expected <backend>:<path>');
  if (input.length > MAX_REFERENCE_LENGTH) {
    throw new CofreError(
      'COFRE_REFERENCE_INVALID',
      `secret reference is longer than ${MAX_REFERENCE_LENGTH} characters`,
    );
  }
  let i = 0;
  const at = (): string => input.charAt(i);

  if (!BACKEND_START.test(at())) {
    throw referenceError(
      input,
      i,
      `unexpected ${describeChar(at())}; a backend name starts with a lowercase letter`,
    );
  }
  while (i < input.length && BACKEND_CHAR.test(at())) i++;
  const backend = input.slice(0, i);
  if (at() !== ':') {
    throw referenceError(
      input,
      i,
      i === input.length
        ? 'ends after the backend name; expected ":" and a path'
        : `unexpected ${describeChar(at())} in backend name; expected ":"`,
    );
  }
  i++;

  const pathStart = i;
  while (i < input.length && PATH_CHAR.test(at())) i++;
  if (i === pathStart) {
    throw referenceError(
      input,
      i,
      i === input.length ? 'has an empty path' : `unexpected ${describeChar(at())} at the start of the path`,
    );
  }
  const rawPath = input.slice(pathStart, i);
  if (rawPath.startsWith('/') || rawPath.endsWith('/') || rawPath.includes('//')) {
    throw referenceError(input, pathStart, 'path must not start or end with "/" or contain "//"');
  }
  const path = decodePath(input, rawPath, pathStart);

  let field: string | undefined;
  if (at() === '#') {
    i++;
    const fieldStart = i;
    while (i < input.length && FIELD_CHAR.test(at())) i++;
    if (i === fieldStart)
      throw referenceError(input, i, `expected a field name after "#", found ${describeChar(at())}`);
    field = input.slice(fieldStart, i);
  }

  let selector = LATEST;
  if (at() === '@') {
    i++;
    if (input.startsWith('stage=', i)) {
      i += 'stage='.length;
      const labelStart = i;
      while (i < input.length && /[a-z]/.test(at())) i++;
      const label = input.slice(labelStart, i);
      if (!(STAGES as readonly string[]).includes(label) || (i < input.length && at() !== '')) {
        throw referenceError(
          input,
          labelStart,
          `unknown stage "${label}${input.slice(i)}"; expected one of ${STAGES.join(', ')}`,
        );
      }
      selector = { kind: 'stage', stage: label as Stage };
    } else {
      const versionStart = i;
      while (i < input.length && VERSION_CHAR.test(at())) i++;
      if (i === versionStart)
        throw referenceError(
          input,
          i,
          `expected a version or "stage=<label>" after "@", found ${describeChar(at())}`,
        );
      selector = { kind: 'version', version: input.slice(versionStart, i) };
    }
  }

  if (i < input.length) {
    const what = at() === '#' && selector.kind !== 'latest' ? '; "#field" comes before "@version"' : '';
    throw referenceError(input, i, `unexpected ${describeChar(at())}${what}`);
  }
  return Object.freeze({ backend, path, field, selector });
}

/** The canonical text of a reference; `parseSecretReference(formatSecretReference(r))` equals `r`. */
export function formatSecretReference(ref: SecretReference): string {
  const path = ref.path.replace(/[%@#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${ref.backend}:${path}${ref.field === undefined ? '' : `#${ref.field}`}${formatSelector(ref.selector)}`;
}

/** `@3`, `@stage=pending`, or empty for latest. */
export function formatSelector(selector: VersionSelector): string {
  switch (selector.kind) {
    case 'latest':
      return '';
    case 'version':
      return `@${selector.version}`;
    case 'stage':
      return `@stage=${selector.stage}`;
  }
}

/**
 * Heuristic: does `value` look like a credential pasted where a reference belongs? True for PEM blocks, well-known
 * key prefixes, and long unbroken high-entropy strings that do not parse as references. Tuned to be loud: a false
 * positive costs a user one `cofre secret put`, a false negative leaks a key into a config file under git.
 */
export function looksLikeLiteralSecret(value: string): boolean {
  if (/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/.test(value)) return true;
  if (/^(AKIA|ASIA)[A-Z0-9]{16}$/.test(value)) return true; // AWS access key id
  if (/^(hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{20,}$/.test(value)) return true; // Vault/OpenBao tokens
  if (/^(sk|pk|rk|xox[abp]|ghp|gho|github_pat)[-_][A-Za-z0-9_-]{16,}/.test(value)) return true;
  if (/^[a-z][a-z0-9_-]*:[A-Za-z0-9_.\-/+=:,%]/.test(value) && !/^[A-Za-z0-9+/]{40,}={0,2}$/.test(value)) {
    return false; // shaped like a reference; the parser reports what is wrong with it
  }
  if (value.length >= 20 && !/\s/.test(value) && shannonBitsPerChar(value) >= 3.5) return true;
  return false;
}

function shannonBitsPerChar(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

function decodePath(input: string, raw: string, offset: number): string {
  if (!raw.includes('%')) return raw;
  const bad = /%(?![0-9A-Fa-f]{2})/.exec(raw);
  if (bad)
    throw referenceError(input, offset + bad.index, 'malformed percent-escape in path; write "%" as "%25"');
  return decodeURIComponent(raw);
}

function describeChar(c: string): string {
  if (c === '') return 'end of input';
  const code = c.charCodeAt(0);
  if (code < 0x20 || code === 0x7f)
    return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
  return `"${c}"`;
}

function referenceError(input: string, index: number, problem: string): CofreError {
  const column = index + 1;
  // Control characters would break the caret line (and may be terminal escapes): show them as "?".
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const shown = input.replace(/[\u0000-\u001f\u007f]/g, '?');
  return new CofreError(
    'COFRE_REFERENCE_INVALID',
    `secret reference ${problem} (column ${column})\n  ${shown}\n  ${' '.repeat(index)}^`,
    { details: { column } },
  );
}
