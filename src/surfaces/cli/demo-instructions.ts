import { fileURLToPath } from 'node:url';

import { type CliIo, println } from './cli-io.js';
import { cofreCommand, shellLine, shellWord } from './cofre-command.js';
import { MCP_CLIENTS } from './mcp-client-config.js';

// The smallest Python agent, in the clone (examples/ is not part of the npm package, only of the repository).
const PYTHON_EXAMPLE = fileURLToPath(new URL('../../../examples/python-get-balance.py', import.meta.url));

/**
 * The operator's approval, run in the demo's folder (where its `cofre.yaml` is); the agent cannot run it, having
 * no access to the host.
 */
function approveCommand(io: CliIo, d: { dir: string }): string {
  const dir = d.dir.startsWith(`${io.cwd}/`) ? d.dir.slice(io.cwd.length + 1) : d.dir;
  const approve = cofreCommand('cofre.yaml', ['approval', 'approve', 'REQUEST_ID']);
  return `(cd ${dir} && ${shellLine(approve)})`;
}

/** Prints what `cofre demo` offers: curl lines for a balance and an order, and MCP client configurations. */
export function printDemoInstructions(
  io: CliIo,
  d: {
    url: string;
    dir: string;
    tokenFile: string;
    configFile: string;
    token: string;
    /** The operator console, and the demo operator's token (paper money only), shown once. */
    console?: { url: string; operatorToken: string };
  },
): void {
  const rel = (p: string): string => (p.startsWith(`${io.cwd}/`) ? p.slice(io.cwd.length + 1) : p);
  const token = `$(cat ${rel(d.tokenFile)})`;
  // The demo agent's token may be printed: it trades paper money only, on this run's paper exchange.
  const mcpHttp = {
    mcpServers: {
      cofre: { type: 'http', url: `${d.url}/mcp`, headers: { Authorization: `Bearer ${d.token}` } },
    },
  };
  const mcpStdio = {
    mcpServers: { cofre: cofreCommand(d.configFile, ['mcp', '--token-file', d.tokenFile]) },
  };
  const out = io.stdout;
  println(
    out,
    `cofre demo is running: broker ${d.url}, a paper exchange behind it, demo keys and audit log in ${rel(d.dir)}/.`,
  );
  println(out, 'The agent token is in a file; the keys never leave cofre.\n');
  println(out, 'Ask for the balance:');
  println(
    out,
    `  curl -s -H "Authorization: Bearer ${token}" -H 'content-type: application/json' -d '{"account":"paper"}' ${d.url}/v1/actions/get_balance\n`,
  );
  const order = (amount: string, id: string): string =>
    `  curl -s -H "Authorization: Bearer ${token}" -H 'content-type: application/json' -d '{"account":"paper","symbol":"BTC/USDT","side":"buy","type":"market","amount":"${amount}","clientOrderId":"${id}"}' ${d.url}/v1/actions/place_order\n`;
  println(out, 'Place an order of about 60 USDT (the clientOrderId makes it idempotent):');
  println(out, order('0.001', 'demo-1'));
  println(
    out,
    "An order of about 6,000 USDT, over every cap of the demo's policy: denied, with the rule and why:",
  );
  println(out, order('0.1', 'demo-2'));
  println(
    out,
    'An order of about 3,000 USDT: it waits for an operator (status pending_approval, with a requestId):',
  );
  println(out, order('0.05', 'demo-3'));
  println(out, 'Approve it as the operator, with the requestId it answered (this runs the order, once):');
  println(out, `  ${approveCommand(io, d)}\n`);
  if (d.console !== undefined) {
    println(out, `Or in the operator console, ${d.console.url}, logged in with the demo operator's token:`);
    println(out, `  ${d.console.operatorToken}\n`);
  }
  println(out, 'Then the agent sees the result:');
  println(out, `  curl -s -H "Authorization: Bearer ${token}" ${d.url}/v1/requests/REQUEST_ID\n`);
  println(out, "MCP client over Streamable HTTP (the demo agent's token, paper money only):");
  println(out, `  ${JSON.stringify(mcpHttp)}\n`);
  println(out, 'MCP client over stdio:');
  println(out, `  ${JSON.stringify(mcpStdio)}\n`);
  const forClient = cofreCommand(d.configFile, [
    'agent',
    'mcp-config',
    'demo-agent',
    'CLIENT',
    '--token-file',
    d.tokenFile,
  ]);
  println(out, `A ready configuration for one client (CLIENT: ${MCP_CLIENTS.join(', ')}):`);
  println(out, `  ${shellLine(forClient)}\n`);
  // The client takes the URL and the token file's path from the environment; the token itself stays in the file.
  // Names are kept out of the quoting, or the shell would not read them as assignments.
  println(out, 'A Python agent (first, in the clone and a virtualenv: pip install ./clients/python):');
  println(
    out,
    `  COFRE_URL=${shellWord(d.url)} COFRE_TOKEN_FILE=${shellWord(rel(d.tokenFile))} python ${shellWord(rel(PYTHON_EXAMPLE))}\n`,
  );
  println(out, 'Stop with Ctrl-C.');
}
