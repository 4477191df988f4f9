import type { CliIo } from './cli-io.js';

/** Options every command accepts. */
export interface GlobalOptions {
  readonly config?: string;
}

/** What a command's `run` receives besides its own arguments and options. */
export interface CommandContext {
  readonly io: CliIo;
  readonly global: GlobalOptions;
}

/** One option of a command, in commander's syntax (`--port <port>`, `--no-verify`, `--field <field...>`). */
export interface OptionSpec {
  readonly flags: string;
  readonly description: string;
  readonly required?: boolean;
  readonly defaultValue?: string;
}

/**
 * One row of the command table: how `cofre <path>` parses and what it runs. The implementation lives in its own
 * `<noun>-<verb>.ts` file, imported by `run` only when the command runs, so `cofre --help` and the light commands
 * never load fastify, the MCP SDK, SQLite or ccxt.
 */
export interface CommandSpec<Options = Record<string, never>> {
  /** The words after `cofre`: `['serve']`, `['secret', 'put']`. */
  readonly path: readonly [string] | readonly [string, string];
  readonly description: string;
  /** Positional arguments in commander's syntax (`<name>`, `[command]`) with their descriptions. */
  readonly args?: readonly (readonly [string, string])[];
  readonly options?: readonly OptionSpec[];
  /** Resolves with an {@link ExitWith} to set the exit code (`cofre run` passes on its child's); otherwise 0. */
  readonly run: (context: CommandContext, args: readonly string[], options: Options) => unknown;
}

/** What a command returns to exit with a code of its own instead of 0 (`cofre run`: its child's status). */
export interface ExitWith {
  readonly exitWith: number;
}

/** True for an {@link ExitWith}. */
export function isExitWith(value: unknown): value is ExitWith {
  return typeof value === 'object' && value !== null && typeof (value as ExitWith).exitWith === 'number';
}

/** Builds a row with its options typed; the table holds rows of many option types. */
export function command<Options>(spec: CommandSpec<Options>): CommandSpec<unknown> {
  return spec as CommandSpec<unknown>;
}
