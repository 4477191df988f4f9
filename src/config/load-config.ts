import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';

import { LineCounter, parseDocument, type YAMLError } from 'yaml';

import { CofreError } from '../errors.js';
import { resolveBackendPaths } from './backend-config.js';
import {
  type ConfigIssue,
  configIssuesFromZod,
  formatConfigIssue,
  redactConfigPath,
  type UnplacedIssue,
} from './config-issues.js';
import { type CofreConfig, cofreConfigSchema } from './config-schema.js';
import { deepFreeze } from './deep-freeze.js';
import { YamlLocator } from './yaml-locator.js';

/** Options for {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * Where the text came from: names the file in messages, and its directory is where relative paths resolve.
   * Without it, messages say `<config>` and relative paths resolve against the working directory.
   */
  readonly sourcePath?: string;
}

/** Options for {@link validateConfig}. */
export interface ValidateConfigOptions {
  /** Directory relative paths resolve against; the working directory when absent. */
  readonly baseDir?: string;
}

// An alias bomb (`&a [*a, *a, ...]`) expands exponentially; a real config needs few aliases, if any.
const MAX_ALIAS_COUNT = 100;

/**
 * Reads, parses and validates a config file and returns it frozen, with defaults applied and relative paths made
 * absolute against the file's directory. Load once at start-up and pass the result down.
 *
 * Throws `COFRE_CONFIG_NOT_FOUND` when there is no file, `COFRE_CONFIG_UNREADABLE` when it cannot be read, and
 * `COFRE_CONFIG_INVALID` listing every problem (see {@link parseConfig}). Safe to call concurrently.
 */
export async function loadConfig(path: string): Promise<CofreConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CofreError(
        'COFRE_CONFIG_NOT_FOUND',
        `no configuration file at ${resolve(path)}; pass --config, set COFRE_CONFIG, or run \`cofre init\``,
        { details: { path: resolve(path) } },
      );
    }
    throw new CofreError(
      'COFRE_CONFIG_UNREADABLE',
      `cannot read configuration file ${resolve(path)} (${code ?? 'error'})`,
      {
        cause: err,
        details: { path: resolve(path) },
      },
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new CofreError(
      'COFRE_CONFIG_UNREADABLE',
      `configuration file ${resolve(path)} is not valid UTF-8`,
      {
        cause: err,
        details: { path: resolve(path) },
      },
    );
  }
  return parseConfig(text, { sourcePath: path });
}

/**
 * Parses and validates config text (YAML). On any problem throws one `COFRE_CONFIG_INVALID` whose message has a
 * line per problem, `<file>:<line>:<col> <dotted.path>: <message> (hint: …)`, and whose `details.issues` holds
 * them as {@link ConfigIssue}s. YAML syntax errors and duplicate keys are reported the same way.
 *
 * SECURITY: no message quotes a value from the file except reference strings and key names that do not look like
 * credentials; YAML errors are reported without the source excerpt the yaml package can print. Pure apart from
 * resolving paths; safe to call concurrently.
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): CofreConfig {
  const file = options.sourcePath ?? '<config>';
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  const locator = new YamlLocator(doc, lines, text);

  const yamlProblems = [...doc.errors, ...doc.warnings];
  if (yamlProblems.length > 0) {
    throw invalid(
      file,
      yamlProblems.map((e) => yamlIssue(e, locator)),
    );
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    const issue: ConfigIssue = { path: [], message: 'too many YAML aliases', line: 1, column: 1 };
    throw invalid(file, [issue], err);
  }

  const baseDir = options.sourcePath === undefined ? undefined : dirname(resolve(options.sourcePath));
  return validate(
    data,
    baseDir,
    (issue) => ({ ...withoutLocate(issue), ...locator.locate(issue.path, issue.locate) }),
    file,
  );
}

/**
 * Validates a config already in memory (tests, `cofre demo`, programmatic use) exactly as {@link parseConfig}
 * does, without line numbers. Returns it frozen with relative paths resolved against `baseDir`.
 */
export function validateConfig(value: unknown, options: ValidateConfigOptions = {}): CofreConfig {
  return validate(value, options.baseDir, withoutLocate, '<config>');
}

function validate(
  data: unknown,
  baseDir: string | undefined,
  place: (issue: UnplacedIssue) => ConfigIssue,
  file: string,
): CofreConfig {
  const result = cofreConfigSchema.safeParse(data);
  if (!result.success) {
    throw invalid(file, configIssuesFromZod(result.error, data).map(place));
  }
  const config = result.data;
  const toAbsolute = (path: string): string => (isAbsolute(path) ? path : resolve(baseDir ?? '.', path));
  return deepFreeze({
    ...config,
    backends: Object.fromEntries(
      Object.entries(config.backends).map(([name, backend]) => [
        name,
        resolveBackendPaths(backend, toAbsolute),
      ]),
    ),
    audit: {
      ...config.audit,
      path: toAbsolute(config.audit.path),
      // A file witness is a path like the log's own: relative to the config file, not to the working directory.
      witnesses: config.audit.witnesses.map((w) =>
        w.type === 'file' ? { ...w, path: toAbsolute(w.path) } : w,
      ),
    },
    server:
      config.server.console?.tls === undefined
        ? config.server
        : {
            ...config.server,
            console: {
              ...config.server.console,
              tls: {
                certFile: toAbsolute(config.server.console.tls.certFile),
                keyFile: toAbsolute(config.server.console.tls.keyFile),
              },
            },
          },
    state:
      config.state.type === 'sqlite'
        ? { ...config.state, path: toAbsolute(config.state.path) }
        : config.state,
  });
}

function yamlIssue(error: YAMLError, locator: YamlLocator): ConfigIssue {
  let message: string;
  switch (error.code) {
    case 'DUPLICATE_KEY':
      message = 'duplicate key; a key may appear only once in a mapping';
      break;
    case 'MULTIPLE_DOCS':
      message = 'more than one YAML document (`---`); the config is a single mapping';
      break;
    default:
      // Keep the first line only: the yaml package can append a source excerpt, which may hold a secret.
      message = `YAML: ${error.message.split('\n')[0] ?? error.code}`;
  }
  return { path: [], message, ...locator.position(error.pos[0]) };
}

// SECURITY: the path is located first (it needs the real keys), then redacted for reporting.
function withoutLocate(issue: UnplacedIssue): ConfigIssue {
  const { locate: _locate, path, ...rest } = issue;
  return { path: redactConfigPath(path), ...rest };
}

function invalid(file: string, issues: readonly ConfigIssue[], cause?: unknown): CofreError {
  const sorted = [...issues].sort(
    (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return new CofreError(
    'COFRE_CONFIG_INVALID',
    [
      `invalid configuration in ${file} (${count}):`,
      ...sorted.map((issue) => formatConfigIssue(file, issue)),
    ].join('\n'),
    { details: { file, issues: sorted }, ...(cause === undefined ? {} : { cause }) },
  );
}
