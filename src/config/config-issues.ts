import type { z } from 'zod';

import type { ErrorCode } from '../errors.js';
import { looksLikeLiteralSecret } from '../secrets/secret-reference.js';
import { closest } from './closest-word.js';
import { configJsonSchema } from './config-json-schema.js';
import type { ConfigIssueParams } from './secret-ref-schema.js';
import type { LocateOptions } from './yaml-locator.js';

/** One problem in a config; `details.issues` of `COFRE_CONFIG_INVALID` is a list of these. */
export interface ConfigIssue {
  /** Path to the offending key or value, e.g. `['backends', 'local', 'cache', 'ttl']`; empty for the file. */
  readonly path: readonly (string | number)[];
  /** What is wrong. Never contains a secret value. */
  readonly message: string;
  /** How to fix it, when there is something more to say than the message. */
  readonly hint?: string;
  /** A more specific catalogue code, for the literal-credential and reference problems. */
  readonly code?: ErrorCode;
  /** 1-based position in the file; absent when the config did not come from a file. */
  readonly line?: number;
  readonly column?: number;
}

/** An issue before it is placed in the file: how the locator should point at it. */
export interface UnplacedIssue extends ConfigIssue {
  readonly locate: LocateOptions;
}

/**
 * Turns zod's issues into config issues: one per unknown key, plain messages, hints and codes from our params.
 * `input` is the unvalidated config, consulted to tell a missing value from a wrong one.
 *
 * SECURITY: messages are built from the schema, never from values, except key names and reference strings that
 * do not look like credentials.
 */
export function configIssuesFromZod(error: z.ZodError, input: unknown): UnplacedIssue[] {
  return error.issues.flatMap((issue) => convert(issue, input));
}

function convert(issue: z.core.$ZodIssue, input: unknown): UnplacedIssue[] {
  const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
  const value = valueAt(input, path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: `unknown key ${showKey(key)}`,
        ...optionalHint(unknownKeyHint(path, key, input)),
        locate: { at: 'key' },
      }));
    case 'invalid_key':
      return [{ path, message: issue.issues[0]?.message ?? issue.message, locate: { at: 'key' } }];
    case 'invalid_type':
      return [
        {
          path,
          message:
            value === undefined
              ? 'is required'
              : `expected ${expectedName(issue.expected)}, got ${typeName(value)}`,
          ...optionalHint(
            value === null
              ? 'a key with nothing after it is null in YAML; write {} or remove the key'
              : undefined,
          ),
          locate: {},
        },
      ];
    case 'too_small':
    case 'too_big':
      return [{ path, message: boundMessage(issue), locate: {} }];
    case 'invalid_value':
      return [
        {
          path,
          message: `expected ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
          locate: {},
        },
      ];
    case 'invalid_union':
      return [{ path, message: unionMessage(issue, value), locate: {} }];
    case 'custom': {
      const params = (issue.params ?? {}) as ConfigIssueParams;
      return [
        {
          path,
          message: issue.message,
          ...optionalHint(params.hint),
          ...(params.code === undefined ? {} : { code: params.code }),
          locate: params.column === undefined ? {} : { charIndex: params.column - 1 },
        },
      ];
    }
    default:
      return [{ path, message: issue.message, locate: {} }];
  }
}

function unionMessage(issue: z.core.$ZodIssueInvalidUnion, value: unknown): string {
  if (issue.discriminator !== undefined) {
    const options = ('options' in issue ? (issue.options ?? []) : [])
      .map((o) => JSON.stringify(o))
      .join(', ');
    return value === undefined
      ? `is required; expected one of ${options}`
      : `unknown value; expected one of ${options}`;
  }
  // No branch matched: name the types the branches expect (a duration is an integer or a string).
  const expected = new Set<string>();
  for (const branch of issue.errors) {
    for (const inner of branch) {
      if (inner.code === 'invalid_type' && inner.path.length === 0)
        expected.add(expectedName(inner.expected));
    }
  }
  if (value === undefined) return 'is required';
  if (expected.size > 0) return `expected ${[...expected].join(' or ')}, got ${typeName(value)}`;
  return issue.message;
}

function boundMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const limit = small ? issue.minimum : issue.maximum;
  const exclusive = issue.inclusive === false;
  switch (issue.origin) {
    case 'array':
    case 'set':
      return `must have at ${small ? 'least' : 'most'} ${limit} item${limit === 1 ? '' : 's'}`;
    case 'string':
      return small && limit === 1
        ? 'must not be empty'
        : `must be at ${small ? 'least' : 'most'} ${limit} characters`;
    default:
      return `must be ${small ? (exclusive ? 'greater than' : 'at least') : exclusive ? 'less than' : 'at most'} ${limit}`;
  }
}

function showKey(key: string): string {
  // SECURITY: a credential pasted as a key would otherwise be echoed.
  return looksLikeLiteralSecret(key) ? '(not shown: it looks like a credential)' : JSON.stringify(key);
}

function optionalHint(hint: string | undefined): { hint?: string } {
  return hint === undefined ? {} : { hint };
}

function unknownKeyHint(path: readonly (string | number)[], key: string, input: unknown): string | undefined {
  const allowed = allowedKeysAt(path, input);
  if (allowed.length === 0) return undefined;
  const suggestion = closest(key, allowed);
  return suggestion === undefined ? `allowed keys: ${allowed.join(', ')}` : `did you mean "${suggestion}"?`;
}

/** The keys the JSON Schema allows at `path`, choosing union members by their `type` in `input`. */
function allowedKeysAt(path: readonly (string | number)[], input: unknown): string[] {
  let node = pickMember(configJsonSchema(), input);
  let data = input;
  for (const segment of path) {
    const properties = asRecord(node?.['properties']);
    const next = asRecord(properties?.[String(segment)]) ?? asRecord(node?.['additionalProperties']);
    data = asRecord(data)?.[String(segment)];
    node = pickMember(next, data);
  }
  return Object.keys(asRecord(node?.['properties']) ?? {});
}

function pickMember(
  node: Record<string, unknown> | undefined,
  data: unknown,
): Record<string, unknown> | undefined {
  const members = node?.['oneOf'] ?? node?.['anyOf'];
  if (!Array.isArray(members)) return node;
  const objects = members.map(asRecord).filter((m) => m?.['properties'] !== undefined);
  const type = asRecord(data)?.['type'];
  return (
    objects.find((m) => asRecord(asRecord(m?.['properties'])?.['type'])?.['const'] === type) ?? objects[0]
  );
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let value = input;
  for (const segment of path) {
    if (Array.isArray(value) && typeof segment === 'number') value = value[segment];
    else value = asRecord(value)?.[String(segment)];
  }
  return value;
}

// YAML words for zod's JavaScript ones.
function expectedName(expected: string): string {
  if (expected === 'object' || expected === 'record') return 'mapping';
  if (expected === 'array') return 'list';
  if (expected === 'int') return 'integer';
  return expected;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'fractional number';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'mapping';
  return typeof value;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * `path` as it may be reported: a key that looks like a credential (pasted as a key by mistake) becomes
 * `(not shown)`.
 */
export function redactConfigPath(path: readonly (string | number)[]): (string | number)[] {
  return path.map((segment) =>
    typeof segment === 'string' && looksLikeLiteralSecret(segment) ? '(not shown)' : segment,
  );
}

/** `backends.local.cache.ttl`, `policies.p.accounts[0]`; other keys are quoted (`accounts["a b"]`). */
export function formatConfigPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)';
  return redactConfigPath(path)
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (/^[A-Za-z0-9_-]+$/.test(segment)) return i === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

/**
 * `<file>:<line>:<col> <dotted.path>: <message> (hint: …)`. Extra lines of a message (a reference parser's caret)
 * are indented beneath it.
 */
export function formatConfigIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? file : `${file}:${issue.line}:${issue.column ?? 1}`;
  const subject = issue.path.length === 0 ? '' : `${formatConfigPath(issue.path)}: `;
  const [first = '', ...rest] = issue.message.split('\n');
  const hint = issue.hint === undefined ? '' : ` (hint: ${issue.hint})`;
  return [`${where} ${subject}${first}${hint}`, ...rest.map((line) => `    ${line}`)].join('\n');
}
