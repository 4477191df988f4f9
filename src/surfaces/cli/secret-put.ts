import { CofreError } from '../../errors.js';
import { SecretValue } from '../../secrets/secret-value.js';
import { type CliIo, println } from './cli-io.js';
import { withCliBackend } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { promptHidden, readInputFile, readStdin, trimTrailingNewline } from './read-secret-input.js';

export interface SecretPutOptions {
  readonly backend?: string;
  readonly fromFile?: string;
  readonly field?: readonly string[];
  readonly pending?: boolean;
  readonly binary?: boolean;
}

const FIELD_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * `cofre secret put <name>`: stores a new version. The value comes from `--from-file`, else stdin when it is not a
 * terminal, else a no-echo prompt (asked twice). With `--field a --field b` the value is a JSON object of those
 * fields, each prompted for or read as one line of stdin.
 *
 * SECURITY: never takes a value from argv (visible in `ps` and shell history) and never prints it; input buffers
 * are zeroed once the backend has its copy.
 */
export async function secretPut(
  io: CliIo,
  global: GlobalOptions,
  name: string,
  options: SecretPutOptions,
): Promise<void> {
  const value = await readValue(io, options);
  try {
    const version = await withCliBackend(io, global, options.backend, (backend) =>
      backend.write(name, value, { stage: options.pending === true ? 'pending' : 'current' }),
    );
    println(io.stderr, `Stored ${name} version ${version}${options.pending === true ? ' as pending' : ''}.`);
  } finally {
    value.zero();
  }
}

async function readValue(io: CliIo, options: SecretPutOptions): Promise<SecretValue> {
  const fields = options.field ?? [];
  if (fields.length > 0) {
    if (options.fromFile !== undefined || options.binary === true) {
      throw new CofreError('COFRE_USAGE', '--field cannot be combined with --from-file or --binary');
    }
    return readFields(io, fields);
  }
  let raw: Buffer;
  if (options.fromFile !== undefined) raw = await readInputFile(io, options.fromFile);
  else if (io.stdin.isTTY === true) raw = await promptTwice(io, 'Secret value: ');
  else raw = await readStdin(io);
  const bytes = options.binary === true ? raw : trimTrailingNewline(raw);
  const value = SecretValue.copyOf(bytes);
  raw.fill(0);
  if (value.length === 0) {
    value.zero();
    throw new CofreError('COFRE_SECRET_VALUE_INVALID', 'the secret value is empty');
  }
  return value;
}

async function readFields(io: CliIo, fields: readonly string[]): Promise<SecretValue> {
  for (const field of fields) {
    if (!FIELD_NAME.test(field)) throw new CofreError('COFRE_USAGE', `invalid field name "${field}"`);
  }
  if (new Set(fields).size !== fields.length) throw new CofreError('COFRE_USAGE', 'a field is named twice');
  const values: Buffer[] = [];
  try {
    if (io.stdin.isTTY === true) {
      for (const field of fields) values.push(await promptTwice(io, `${field}: `));
    } else {
      const input = await readStdin(io);
      values.push(...splitLines(input, fields.length));
      input.fill(0);
    }
    // JSON strings cannot hold raw bytes; fields are text (API keys, passphrases).
    const object: Record<string, string> = {};
    fields.forEach((field, i) => {
      object[field] = (values[i] ?? Buffer.alloc(0)).toString('utf8');
    });
    if (Object.values(object).some((v) => v.length === 0)) {
      throw new CofreError('COFRE_SECRET_VALUE_INVALID', 'a field value is empty');
    }
    return SecretValue.fromText(JSON.stringify(object));
  } finally {
    for (const v of values) v.fill(0);
  }
}

function splitLines(input: Buffer, count: number): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= input.length && lines.length < count; i++) {
    if (i === input.length || input[i] === 0x0a) {
      if (i > start || i < input.length)
        lines.push(Buffer.from(trimTrailingNewline(input.subarray(start, i + 1))));
      start = i + 1;
    }
  }
  if (lines.length !== count) {
    for (const l of lines) l.fill(0);
    throw new CofreError(
      'COFRE_SECRET_VALUE_INVALID',
      `expected ${count} lines on stdin, one per --field, got ${lines.length}`,
    );
  }
  return lines;
}

async function promptTwice(io: CliIo, question: string): Promise<Buffer> {
  const first = await promptHidden(io, question);
  const second = await promptHidden(io, 'Again, to confirm: ');
  try {
    if (!first.equals(second))
      throw new CofreError('COFRE_USAGE', 'the two entries differ; nothing was stored');
    return Buffer.from(first);
  } finally {
    first.fill(0);
    second.fill(0);
  }
}
