import { Command, CommanderError, Option } from 'commander';

import { CofreError } from '../../errors.js';
import { type CliIo, println, processIo } from './cli-io.js';
import { configCheck } from './config-check.js';
import { configSchema } from './config-schema.js';
import { describeError, ExitCode, exitCodeFor } from './exit-code.js';
import { init } from './init.js';
import { secretFingerprint } from './secret-fingerprint.js';
import { secretList } from './secret-list.js';
import { secretPromote } from './secret-promote.js';
import { secretPut } from './secret-put.js';
import { secretRm } from './secret-rm.js';
import { secretVersions } from './secret-versions.js';

// Commands that load heavy modules (fastify, the MCP SDK, SQLite, the paper exchange) import them when they run,
// so `cofre --help` and the secret commands start fast.

/** Options every command accepts. */
export interface GlobalOptions {
  readonly config?: string;
}

/**
 * Runs one cofre command line and returns its exit code (0 ok, 1 failure, 2 usage, 3 denied). Never calls
 * `process.exit` and prints only to `io`, so tests run it in-process.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version output end in a CommanderError too; they are successes.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    println(io.stderr, `cofre: ${describeError(err)}`);
    return exitCodeFor(err);
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command('cofre')
    .description(
      'Credential broker for autonomous trading agents: agents ask for actions, cofre holds the keys.',
    )
    .addOption(
      new Option('-c, --config <file>', 'configuration file (default: $COFRE_CONFIG or ./cofre.yaml)'),
    )
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  const global = (): GlobalOptions => program.opts<GlobalOptions>();

  program
    .command('init')
    .description('write a starter cofre.yaml and an empty encrypted store in a directory')
    .option('--dir <dir>', 'where to write them', '.')
    .option(
      '--passphrase-file <file>',
      'protect the store with the passphrase in this file instead of a key file',
    )
    .option('--passphrase-prompt', 'protect the store with a passphrase typed now (and at every start)')
    .action((options: { dir: string; passphraseFile?: string; passphrasePrompt?: boolean }) =>
      init(io, options),
    );

  program
    .command('demo')
    .description(
      'run the broker against a local paper exchange with demo keys and a demo agent (until Ctrl-C)',
    )
    .option('--port <port>', 'port of the broker (default 8787, or any free one if taken)')
    .action(async (options: { port?: string }) => {
      await (await import('./demo.js')).demo(io, options);
    });
  program
    .command('serve')
    .description(
      'serve the HTTP API and MCP (Streamable HTTP at /mcp) for the configuration, until SIGINT/SIGTERM',
    )
    .action(async () => (await import('./serve.js')).serve(io, global()));
  program
    .command('mcp')
    .description('serve MCP on stdin/stdout for one agent, whose token is read from a file')
    .requiredOption('--token-file <file>', 'file holding the agent token (mode 600)')
    .action(async (options: { tokenFile: string }) =>
      (await import('./mcp-stdio.js')).mcpStdio(io, global(), options),
    );

  const config = program.command('config').description('validate the configuration or print its schema');
  config
    .command('check')
    .description('validate a configuration file and list every problem with its path')
    .action(() => configCheck(io, global()));
  config
    .command('schema')
    .description('print the JSON Schema of cofre.yaml, for editors')
    .action(() => {
      configSchema(io);
    });

  const secret = program
    .command('secret')
    .description('manage secrets in a writable backend (values never appear on the command line)');
  const backendOption = (): Option =>
    new Option('-b, --backend <name>', 'backend to use (default: the first embedded backend in the config)');
  secret
    .command('put')
    .description(
      'store a new version of a secret; the value comes from stdin, a no-echo prompt, or --from-file',
    )
    .argument('<name>', 'secret name, e.g. exchanges/binance')
    .addOption(backendOption())
    .option('--from-file <file>', 'read the value from a file')
    .option(
      '--field <field...>',
      'build a JSON object from these fields, prompting for each (or reading one line each from stdin)',
    )
    .option('--pending', 'stage the new version as pending (for rotation) instead of making it current')
    .option('--binary', 'store the input byte for byte (no trailing newline is trimmed)')
    .action(
      (
        name: string,
        options: {
          backend?: string;
          fromFile?: string;
          field?: string[];
          pending?: boolean;
          binary?: boolean;
        },
      ) => secretPut(io, global(), name, options),
    );
  secret
    .command('list')
    .description('list secret names with their current version')
    .addOption(backendOption())
    .action((options: { backend?: string }) => secretList(io, global(), options));
  secret
    .command('versions')
    .description('list the versions of a secret with their stages and creation times')
    .argument('<name>', 'secret name')
    .addOption(backendOption())
    .action((name: string, options: { backend?: string }) => secretVersions(io, global(), name, options));
  secret
    .command('promote')
    .description('make a version current; the old current becomes previous (also how to roll back)')
    .argument('<name>', 'secret name')
    .argument('<version>', 'version to promote')
    .addOption(backendOption())
    .action((name: string, version: string, options: { backend?: string }) =>
      secretPromote(io, global(), name, version, options),
    );
  secret
    .command('rm')
    .description('delete a secret and all its versions')
    .argument('<name>', 'secret name')
    .addOption(backendOption())
    .action((name: string, options: { backend?: string }) => secretRm(io, global(), name, options));
  secret
    .command('fingerprint')
    .description('print an HMAC fingerprint of a secret to compare values without showing them')
    .argument('<name>', 'secret name, optionally with @<version> or @stage=<label>')
    .addOption(backendOption())
    .action((name: string, options: { backend?: string }) => secretFingerprint(io, global(), name, options));

  const agent = program.command('agent').description('add, list and revoke the agents that may call cofre');
  agent
    .command('add')
    .description('register an agent and print its token (shown once; only a hash is kept)')
    .argument('<id>', 'agent id: lowercase letters, digits, "-" and "_"')
    .option('--policy <name>', 'policy from the config (default: the only one, if there is one)')
    .option('--ttl <duration>', 'token lifetime, e.g. 12h or 30d (default: agents.tokenTtl)')
    .action(async (id: string, options: { policy?: string; ttl?: string }) =>
      (await import('./agent-add.js')).agentAdd(io, global(), id, options),
    );
  agent
    .command('list')
    .description('list agents with policy, status and expiry (never tokens)')
    .action(async () => (await import('./agent-list.js')).agentList(io, global()));
  agent
    .command('revoke')
    .description("revoke an agent's token at once")
    .argument('<id>', 'agent id')
    .action(async (id: string) => (await import('./agent-revoke.js')).agentRevoke(io, global(), id));

  const request = program
    .command('request')
    .description('inspect and settle requests a stopped cofre left executing');
  request
    .command('list')
    .description('list requests still executing (running now, or left by a cofre that stopped)')
    .action(async () => (await import('./request-list.js')).requestList(io, global()));
  request
    .command('reconcile')
    .description(
      'settle requests a stopped cofre left executing, asking the venue about each order by its clientOrderId',
    )
    .action(async () => (await import('./request-reconcile.js')).requestReconcile(io, global()));

  // Every command and sub-command: usage errors throw instead of exiting, and go to our streams.
  const harden = (command: Command): void => {
    command.exitOverride().configureOutput(program.configureOutput()).showHelpAfterError();
    command.commands.forEach(harden);
  };
  harden(program);
  program.action(() => {
    program.help({ error: true });
  });
  return program;
}

/** Throws the usage error for a command line that parsed but makes no sense. */
export function usageError(message: string): CofreError {
  return new CofreError('COFRE_USAGE', message);
}
