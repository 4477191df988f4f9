// The process entry point of the `cofre` command (bin/cofre.js runs the compiled copy).
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2));
