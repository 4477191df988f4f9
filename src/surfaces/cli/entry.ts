// The process entry point of the `cofre` command (bin/cofre.js runs the compiled copy).
import { runCli } from './main.js';

// `cofre config schema | head -1`: the reader went away. Stop quietly with the shell's status for SIGPIPE (128 +
// 13), as a C tool killed by the signal would, rather than dying on an unhandled 'error' event with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(141);
  });
}

process.exitCode = await runCli(process.argv.slice(2));
