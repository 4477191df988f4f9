// What the crash and full-disk tests share: a broker folder (embedded store holding the paper keys, a config) and
// the check of an audit file against what the paper exchange received, written once so it can be pointed at the
// chained writer's verifier later (see `checkAuditAgainstExchange`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  type PaperExchange,
  type ReceivedRequest,
  startPaperExchange,
} from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { SecretValue } from '../../src/secrets/secret-value.js';

/** The paper account every crash test uses (letters and digits only: the paper exchange's rule for API keys). */
export const CRASH_KEYS = {
  apiKey: 'crashtestapikey0123456789',
  secret: 'crash-test-secret-0123456789',
} as const;

/** A paper exchange with one BTC/USDT account under {@link CRASH_KEYS}, holding `usdt` USDT. */
export function startCrashExchange(usdt = '1000'): Promise<PaperExchange> {
  return startPaperExchange({
    accounts: [{ ...CRASH_KEYS, balances: { USDT: usdt, BTC: '0' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
}

/**
 * Writes into `dir` an embedded store holding {@link CRASH_KEYS} and `cofre.yaml`: one paper account `paper` at
 * `exchangeUrl`, one policy allowing every action on it, agent quotas out of the way of a burst, and the audit log
 * at `auditPath` (absolute, or relative to `dir`). Returns the config's path.
 */
export async function writeBrokerDir(dir: string, exchangeUrl: string, auditPath: string): Promise<string> {
  const store = await EmbeddedBackend.create(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  try {
    await store.write('exchanges/paper', SecretValue.fromText(JSON.stringify(CRASH_KEYS)));
  } finally {
    await store.close();
  }
  const configPath = join(dir, 'cofre.yaml');
  writeFileSync(
    configPath,
    [
      'backends: { local: { type: embedded, path: cofre.store, keyFile: cofre.key } }',
      'accounts:',
      `  paper: { venue: binance, mode: paper, baseUrl: "${exchangeUrl}", credentials: { apiKey: "local:exchanges/paper#apiKey", secret: "local:exchanges/paper#secret" } }`,
      'policies:',
      '  all: { accounts: [paper], actions: [place_order, get_balance] }',
      'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 64 } }',
      `audit: { path: "${auditPath}" }`,
      'state: { path: state.db }',
      '',
    ].join('\n'),
  );
  return configPath;
}

/** The clientOrderIds of every order request the exchange received (whatever it answered). */
export function ordersReceived(requests: readonly ReceivedRequest[]): string[] {
  return requests
    .filter((r) => r.method === 'POST' && r.path === '/api/v3/order')
    .map((r) => r.params.newClientOrderId ?? '(none)');
}

/** What {@link checkAuditAgainstExchange} found. */
export interface AuditCheck {
  /** Whole records parsed. */
  readonly records: number;
  /** The last line, when it was not whole (no newline, or not parseable): a torn append cut by the crash. */
  readonly tornTail: string | undefined;
  /** Lines other than the last that do not parse: must be none. */
  readonly brokenLines: readonly number[];
  /** clientOrderIds the exchange received with no intent record before the tail: must be none. */
  readonly missingIntents: readonly string[];
}

/**
 * Checks an audit file's text against the orders the exchange received: every line but possibly the last is a
 * whole JSON record, and every received order has an intent record with its clientOrderId.
 *
 * Written against the record shape only loosely (an object with `kind: "intent"` anywhere in the record, holding
 * the clientOrderId anywhere inside it), so it holds for today's JSON-lines log and for the hash-chained format of
 * `audit-format.ts`. When the chain verifier exists, call it here as well (verify up to the last whole record).
 */
export function checkAuditAgainstExchange(text: string, received: readonly string[]): AuditCheck {
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  const brokenLines: number[] = [];
  const intents = new Set<string>();
  let records = 0;
  lines.forEach((line, i) => {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      brokenLines.push(i + 1);
      return;
    }
    records++;
    collectIntentOrderIds(record, false, intents);
  });
  return {
    records,
    tornTail: last === '' ? undefined : last,
    brokenLines,
    missingIntents: received.filter((id) => !intents.has(id)),
  };
}

function collectIntentOrderIds(value: unknown, inIntent: boolean, out: Set<string>): void {
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  const intent = inIntent || record.kind === 'intent';
  if (intent && typeof record.clientOrderId === 'string') out.add(record.clientOrderId);
  for (const item of Object.values(record)) collectIntentOrderIds(item, intent, out);
}
