// A tiny `cofre mcp`-like entry for the stdio test: a real broker on the paper exchange, served over this process's
// stdin/stdout for one agent. Logs go to the fixture's memory, then to stderr at exit; stdout carries MCP only.
import { runMcpStdio } from '../../src/surfaces/mcp/mcp-stdio.js';
import { startSurfaceFixture } from './surface-fixture.js';

const fx = await startSurfaceFixture();
const { agent } = await fx.issue('stdio-agent', 'trader');
const session = await runMcpStdio({ broker: fx.broker, agent, logger: fx.logger });
await session.closed;
process.stderr.write(`${fx.logLines.join('\n')}\nstdio-entry: closed\n`);
await fx.close();
