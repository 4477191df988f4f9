// A broker wired exactly as `cofre serve` wires it (openBrokerRuntime from a YAML config, embedded secret store,
// SQLite state, JSONL audit), in front of the project's paper exchange on loopback, for the hostile-agent tests and
// the broker's property tests (test/invariants/limits-property.test.ts), optionally through a proxy that loses answers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { pino } from 'pino';

import { createAuditKeys } from '../../src/audit/audit-keys.js';
import { type AuthenticatedAgent, issueAgentToken } from '../../src/broker/agent-tokens.js';
import type { ActionResponse } from '../../src/broker/broker.js';
import { type BrokerRuntime, openBrokerRuntime } from '../../src/broker/broker-runtime.js';
import type { CofreConfig } from '../../src/config/config-schema.js';
import { parseConfig } from '../../src/config/load-config.js';
import {
  type PaperExchange,
  type PaperExchangeOptions,
  startPaperExchange,
} from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { startDroppingProxy } from '../../src/venues/testdata/dropping-proxy.js';

export const API_KEY = `AttackKey${randomBytes(16).toString('hex')}`;
const API_SECRET = randomBytes(32).toString('hex');

export interface AttackFixture {
  /** The runtime open now (a new one after each {@link AttackFixture.restart}). */
  readonly runtime: BrokerRuntime;
  readonly paper: PaperExchange;
  /** The parsed config the runtime was opened from. */
  readonly config: CofreConfig;
  readonly auditPath: string;
  readonly logLines: string[];
  /** Issues a token for a new agent and returns it as the broker sees it after authentication. */
  agent(id: string, policy: string): Promise<AuthenticatedAgent>;
  /** Runs an action; a thrown CofreError comes back as `{ thrown: code }`. */
  run(agent: AuthenticatedAgent, action: string, input: unknown): Promise<Outcome>;
  /** Every audit line, parsed. */
  audit(): Record<string, unknown>[];
  /**
   * Closes the runtime and opens a new one from the same config over the same files (state, audit, secret store),
   * as a restarted `cofre serve` would; the paper exchange (and proxy) keep running. Settles nothing by itself.
   */
  restart(): Promise<void>;
  /** Closes the runtime (writing the quota summaries) and the paper exchange; the files stay until `remove`. */
  close(): Promise<void>;
  remove(): void;
}

export type Outcome =
  | { readonly response: ActionResponse }
  | { readonly thrown: string; readonly retryable: boolean; readonly message: string };

/** A proxy between the broker and the paper exchange (`src/venues/testdata/dropping-proxy.ts`): what it drops or answers. */
export interface VenueProxyOptions {
  readonly drop: Parameters<typeof startDroppingProxy>[1];
  readonly answer?: Parameters<typeof startDroppingProxy>[2];
  readonly holdAnswer?: Parameters<typeof startDroppingProxy>[3];
}

/**
 * Starts a paper exchange and a runtime over it. `configLines` go after `backends:` and the account credentials
 * (use `${url}` for the venue URL — the paper exchange's, or the proxy's with `proxy` — and `${credentials}` for the
 * credentials mapping).
 */
export async function startAttackFixture(
  configLines: (url: string, credentials: string) => string[],
  paperOptions: Partial<PaperExchangeOptions> = {},
  proxyOptions?: VenueProxyOptions,
): Promise<AttackFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'cofre-attack-'));
  const paper = await startPaperExchange({
    accounts: [{ apiKey: API_KEY, secret: API_SECRET, balances: { USDT: '100000', BTC: '2' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
    ...paperOptions,
  });
  const proxy =
    proxyOptions === undefined
      ? undefined
      : await startDroppingProxy(paper.url, proxyOptions.drop, proxyOptions.answer, proxyOptions.holdAnswer);
  const store = await EmbeddedBackend.create(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  await store.write(
    'exchanges/paper',
    SecretValue.fromText(JSON.stringify({ apiKey: API_KEY, secret: API_SECRET })),
  );
  await createAuditKeys(store); // as `cofre init` does
  await store.close();
  const credentials =
    'credentials: { apiKey: "local:exchanges/paper#apiKey", secret: "local:exchanges/paper#secret" }';
  const config = parseConfig(
    [
      'backends: { local: { type: embedded, path: cofre.store, keyFile: cofre.key } }',
      ...configLines(proxy?.url ?? paper.url, credentials),
      'audit: { path: audit.jsonl, signingKey: "local:audit/signing-key", hmacKey: "local:audit/hmac-key" }',
      'state: { path: state.db }',
    ].join('\n'),
    { sourcePath: join(dir, 'cofre.yaml') },
  );
  const logLines: string[] = [];
  const capture = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'info' }, capture);
  let runtime = await openBrokerRuntime(config, { logger });
  const auditPath = join(dir, 'audit.jsonl');
  let closed = false;

  return {
    get runtime() {
      return runtime;
    },
    paper,
    config,
    auditPath,
    logLines,
    async agent(id, policy) {
      await issueAgentToken(runtime.state, { id, policy, ttlMs: 3_600_000, now: new Date() });
      return { id, policy };
    },
    async run(agent, action, input) {
      try {
        return { response: await runtime.broker.execute(agent, action, input) };
      } catch (err) {
        const e = err as { code?: string; retryable?: boolean; message?: string };
        return { thrown: e.code ?? 'unknown', retryable: e.retryable === true, message: e.message ?? '' };
      }
    },
    audit() {
      let text = '';
      try {
        text = readFileSync(auditPath, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async restart() {
      await runtime.close();
      runtime = await openBrokerRuntime(config, { logger });
    },
    async close() {
      if (closed) return;
      closed = true;
      await runtime.close();
      await proxy?.stop();
      await paper.stop();
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
