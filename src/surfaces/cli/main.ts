import { Command, CommanderError, Option } from 'commander';

import { type CliIo, println, processIo } from './cli-io.js';
import { cofreVersion } from './cofre-version.js';
import { type CommandSpec, type GlobalOptions, isExitWith } from './command-spec.js';
import { COMMAND_GROUPS, COMMANDS } from './command-table.js';
import { describeError, ExitCode, exitCodeFor } from './exit-code.js';

/**
 * Runs one cofre command line and returns its exit code (0 ok, 1 failure, 2 usage, 3 denied). Never calls
 * `process.exit` and prints only to `io`, so tests run it in-process.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const result: { code?: number } = {};
  const program = buildProgram(io, result);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result.code ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version output end in a CommanderError too; they are successes.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    println(io.stderr, `cofre: ${describeError(err)}`);
    return exitCodeFor(err);
  }
}

function buildProgram(io: CliIo, result: { code?: number }): Command {
  const program = new Command('cofre')
    .description(
      'Credential broker for autonomous trading agents: agents ask for actions, cofre holds the keys.',
    )
    .version(cofreVersion(), '-V, --version', 'print the version of cofre')
    .addOption(
      new Option('-c, --config <file>', 'configuration file (default: $COFRE_CONFIG or ./cofre.yaml)'),
    )
    .helpCommand('help [command]', 'show help for a command')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  const global = (): GlobalOptions => program.opts<GlobalOptions>();

  for (const spec of COMMANDS) addCommand(program, spec, io, global, result);

  // Every command and sub-command: usage errors throw instead of exiting, go to our streams, and say where the
  // usage is rather than dumping it.
  const harden = (command: Command, path: string): void => {
    command
      .exitOverride()
      .configureOutput(program.configureOutput())
      .showHelpAfterError(`(see "${path} --help")`);
    for (const sub of command.commands) harden(sub, `${path} ${sub.name()}`);
  };
  harden(program, 'cofre');
  program.showHelpAfterError('(see "cofre help" for the list of commands)');
  return program;
}

function addCommand(
  program: Command,
  spec: CommandSpec<unknown>,
  io: CliIo,
  global: () => GlobalOptions,
  result: { code?: number },
): void {
  let parent = program;
  const [first, second] = spec.path;
  if (second !== undefined) {
    parent =
      program.commands.find((c) => c.name() === first) ??
      program.command(first).description(COMMAND_GROUPS[first] ?? '');
  }
  const command = parent.command(second ?? first).description(spec.description);
  for (const [syntax, description] of spec.args ?? []) command.argument(syntax, description);
  for (const o of spec.options ?? []) {
    const option = new Option(o.flags, o.description);
    if (o.defaultValue !== undefined) option.default(o.defaultValue);
    if (o.required === true) option.makeOptionMandatory();
    command.addOption(option);
  }
  command.action(async (...received: unknown[]) => {
    // commander passes the positional arguments, then the options object, then the command. An optional argument
    // not given comes as undefined: passed on as ''. A variadic one (`<command...>`) comes as an array: spread.
    const args = received
      .slice(0, spec.args?.length ?? 0)
      .flatMap((a) => (Array.isArray(a) ? a.map(String) : [typeof a === 'string' ? a : '']));
    const returned: unknown = await spec.run({ io, global: global() }, args, command.opts());
    if (isExitWith(returned)) result.code = returned.exitWith;
  });
}
