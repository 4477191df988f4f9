import { BYTE_SIZE_PATTERN } from './byte-size.js';
import { configJsonSchema } from './config-json-schema.js';
import { DURATION_PATTERN } from './duration.js';
import { renderStarterConfig } from './starter-config.js';

type JsonSchema = Readonly<Record<string, unknown>>;

interface Row {
  readonly key: string;
  readonly type: string;
  readonly defaultValue: string;
  readonly description: string;
}

/**
 * Renders `docs/configuration.md` from the config schema: a reference row for every key, grouped by top-level
 * section, plus the starter config as an example. `config-reference.test.ts` formats it with prettier and fails
 * when the file drifts (`npx vitest run src/config -u` rewrites it). Pure.
 */
export function renderConfigReference(): string {
  const root = configJsonSchema();
  const sections = Object.entries(properties(root)).map(([key, schema]) => renderSection(key, schema));
  return [
    '# Configuration',
    '',
    'Generated from the schema in `src/config/` by `renderConfigReference()`; do not edit by hand.',
    '',
    'cofre reads one YAML file, `cofre.yaml`. It is chosen by the `--config` flag, else the `COFRE_CONFIG`',
    'environment variable, else `./cofre.yaml`. `cofre init` writes a starter file; `cofre config check` validates one;',
    '`cofre config schema` prints a JSON Schema of it for editors.',
    '',
    '## Rules',
    '',
    '- **Strict.** Every mapping accepts only the keys listed below; an unknown key is an error, usually with a',
    '  "did you mean" hint. Duplicate keys are errors.',
    '- **Every problem at once.** cofre reports all problems in one go, one per line, as',
    '  `<file>:<line>:<column> <path>: <message> (hint: ...)`, and refuses to start until they are fixed.',
    '- **References, never values.** Credential fields hold secret references',
    '  `<backend>:<path>[#<field>][@<version>|@stage=<label>]`, for example `local:exchanges/binance#apiKey`. The',
    '  `<backend>` must be a name under `backends`. A value that looks like a credential is rejected (without being',
    '  echoed); store it with `cofre secret put <name>` and reference it instead.',
    '- **Durations** are strings such as `30s`, `5m`, `1h`, `7d` (units `ms`, `s`, `m`, `h`, `d`) or a whole number',
    '  of seconds.',
    '- **Sizes** are a number of bytes or a string such as `64kb` or `1mb` (1 kb = 1024 bytes).',
    '- **Relative paths** (store, key and passphrase files, audit log, state) resolve against the directory of the',
    '  config file, not the working directory.',
    '- **Names** of backends, accounts and policies use lowercase letters, digits, `_` and `-`, start with a letter,',
    '  and are at most 64 characters.',
    '',
    '## Reference',
    '',
    `\`<name>\` stands for a name you choose. "required" means the key has no default.`,
    '',
    ...sections,
    '## Example',
    '',
    'The file `cofre init` writes:',
    '',
    '```yaml',
    renderStarterConfig({ storePath: './cofre-store.enc', key: { keyFile: './cofre.key' } }).trimEnd(),
    '```',
    '',
  ].join('\n');
}

function renderSection(key: string, schema: JsonSchema): string {
  const rows: Row[] = [];
  collectRows(key, schema, false, rows);
  return [
    `### \`${key}\``,
    '',
    '| key | type | default | description |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.key}\` | ${r.type} | ${r.defaultValue} | ${escapeCell(r.description)} |`),
    '',
  ].join('\n');
}

function collectRows(key: string, schema: JsonSchema, required: boolean, rows: Row[]): void {
  const members = schema['oneOf'] ?? schema['anyOf'];
  if (Array.isArray(members) && members.every((m) => isObjectSchema(m as JsonSchema))) {
    // A union of mappings (backend kinds): one block per member, named by its `type`.
    for (const member of members as JsonSchema[]) {
      const type = properties(member)['type']?.['const'];
      const label = typeof type === 'string' ? `${key} (type: ${type})` : key;
      collectRows(label, member, required, rows);
    }
    return;
  }
  rows.push({
    key,
    type: typeOf(schema),
    defaultValue: defaultOf(schema, required),
    description: describe(schema),
  });
  const requiredKeys = Array.isArray(schema['required']) ? (schema['required'] as string[]) : [];
  for (const [child, childSchema] of Object.entries(properties(schema))) {
    collectRows(
      `${key.replace(/ \(type: .*\)$/, '')}.${child}`,
      childSchema,
      requiredKeys.includes(child),
      rows,
    );
  }
  const values = schema['additionalProperties'];
  if (typeof values === 'object' && values !== null)
    collectRows(`${key}.<name>`, values as JsonSchema, false, rows);
  // A list of mappings (policy rules and limits): one row per key of an item, as `<list>[].<key>`.
  const items = schema['items'];
  if (schema['type'] === 'array' && typeof items === 'object' && items !== null) {
    const item = items as JsonSchema;
    const itemRequired = Array.isArray(item['required']) ? (item['required'] as string[]) : [];
    for (const [child, childSchema] of Object.entries(properties(item))) {
      collectRows(`${key}[].${child}`, childSchema, itemRequired.includes(child), rows);
    }
  }
}

function typeOf(schema: JsonSchema): string {
  if (schema['const'] !== undefined) return `\`${JSON.stringify(schema['const'])}\``;
  if (Array.isArray(schema['enum']))
    return `one of ${schema['enum'].map((v) => `\`${String(v)}\``).join(', ')}`;
  const members = schema['anyOf'] ?? schema['oneOf'];
  if (Array.isArray(members)) {
    const patterns = (members as JsonSchema[]).map((m) => m['pattern']);
    if (patterns.includes(DURATION_PATTERN.source)) return 'duration';
    if (patterns.includes(BYTE_SIZE_PATTERN.source)) return 'size';
    return (members as JsonSchema[]).map(typeOf).join(' or ');
  }
  switch (schema['type']) {
    case 'object':
      return schema['additionalProperties'] === false ? 'mapping' : 'mapping of name to entry';
    case 'array': {
      const items = schema['items'];
      return `list of ${typeof items === 'object' && items !== null ? typeOf(items as JsonSchema) : 'values'}`;
    }
    case 'integer':
      return `integer${range(schema)}`;
    case 'string':
      if (schema['format'] === 'uri') return 'URL';
      // Every secret reference field's description starts so (see secret-ref-schema.ts and config-schema.ts).
      if (describe(schema).startsWith('Secret reference')) return 'secret reference';
      return 'string';
    default:
      if (Array.isArray(schema['type'])) return (schema['type'] as string[]).join(' or ');
      return typeof schema['type'] === 'string' ? schema['type'] : 'any';
  }
}

function range(schema: JsonSchema): string {
  const min = schema['minimum'];
  const max = schema['maximum'];
  return typeof min === 'number' && typeof max === 'number' ? ` (${min} to ${max})` : '';
}

function defaultOf(schema: JsonSchema, required: boolean): string {
  if (schema['default'] !== undefined) {
    const value = schema['default'];
    return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
  }
  return required ? 'required' : '';
}

function describe(schema: JsonSchema): string {
  return typeof schema['description'] === 'string' ? schema['description'] : '';
}

function properties(schema: JsonSchema): Record<string, JsonSchema> {
  const props = schema['properties'];
  return typeof props === 'object' && props !== null ? (props as Record<string, JsonSchema>) : {};
}

function isObjectSchema(schema: JsonSchema): boolean {
  return schema['type'] === 'object' && schema['properties'] !== undefined;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
