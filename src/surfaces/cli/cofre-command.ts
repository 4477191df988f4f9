import { fileURLToPath } from 'node:url';

// The installed entry point, so a printed command works from any directory.
const COFRE_BIN = fileURLToPath(new URL('../../../bin/cofre.js', import.meta.url));

/** A command line as MCP clients take it: an executable and its arguments, every path absolute. */
export interface CofreCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * The command line that runs `cofre <args>` from any directory and any environment: this Node binary's absolute
 * path (an MCP client started from a desktop has no shell PATH), the installed `bin/cofre.js`, and
 * `--config <configFile>` when given (absolute, unless the command runs in a known folder). Used for what
 * `cofre demo` and `cofre agent mcp-config` print.
 */
export function cofreCommand(configFile: string | undefined, args: readonly string[]): CofreCommand {
  const config = configFile === undefined ? [] : ['--config', configFile];
  return { command: process.execPath, args: [COFRE_BIN, ...config, ...args] };
}

/** The same command as one line for a POSIX shell; words are quoted only when they need it. */
export function shellLine(command: CofreCommand): string {
  return [command.command, ...command.args].map(shellWord).join(' ');
}

/** One word for a POSIX shell, quoted only when it needs it. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
