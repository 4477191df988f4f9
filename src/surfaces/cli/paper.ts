import type { AccountConfig, CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { PaperConfigError } from '../../paper-exchange/paper-config-error.js';
import type { PaperExchange } from '../../paper-exchange/paper-exchange.js';
import { openResolver } from '../../secrets/open-backend.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import {
  PAPER_BALANCES,
  paperKeysFromConfig,
  type ProvisionedPaperKeys,
  startPaperVenue,
} from './paper-provisioning.js';
import { promptHidden } from './read-secret-input.js';
import { untilSignal } from './until-signal.js';

/** Options of `cofre paper`. */
export interface PaperOptions {
  /** Serve only this account (default: every `mode: paper` account). */
  readonly account?: string;
  /** Make random keys for accounts that have none and store them at their credential references. */
  readonly createKeys?: boolean;
  /** False in tests: return once listening. */
  readonly wait?: boolean;
}

/**
 * `cofre paper`: runs the paper exchange alone, for the config's paper accounts, at the address their `baseUrl`
 * names, accepting the keys their credential references resolve to (`--create-keys` makes and stores them when there
 * are none yet). `cofre serve` then trades against it exactly as against a venue. Runs until Ctrl-C.
 *
 * SECURITY: keys never appear on the command line or in output: they are read from (or written to) the backend and
 * handed to the paper exchange in memory.
 */
export async function paper(
  io: CliIo,
  global: GlobalOptions,
  options: PaperOptions = {},
): Promise<PaperExchange> {
  const config = await loadCliConfig(io, global);
  const accounts = paperAccounts(config, options.account);
  const listen = listenAddress(accounts);
  const resolver = await openResolver(config, { promptPassphrase: (q) => promptHidden(io, q) });
  const keys: ProvisionedPaperKeys[] = [];
  try {
    for (const [id, account] of accounts) {
      keys.push(await paperKeysFromConfig(id, account.credentials, resolver, options.createKeys === true));
    }
  } finally {
    await resolver.close();
  }
  const exchange = await startPaperVenue(keys, listen).catch((err: unknown) => {
    if (err instanceof PaperConfigError) {
      // E.g. keys stored by hand that Binance's format does not allow; the message never holds a key.
      throw new CofreError(
        'COFRE_USAGE',
        `${err.message}; store keys of letters and digits, or let --create-keys make them`,
        {
          cause: err,
        },
      );
    }
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new CofreError(
      'COFRE_PORT_IN_USE',
      `port ${listen.port} on ${listen.host} (the paper accounts' baseUrl) is already in use; stop what runs there (another \`cofre paper\`?), or change baseUrl in the config`,
      { cause: err },
    );
  });
  println(io.stdout, exchange.url);
  for (const k of keys) {
    const refs = accounts.find(([id]) => id === k.account)?.[1].credentials;
    println(
      io.stderr,
      `Account "${k.account}": keys ${k.created ? 'created now and stored at' : 'read from'} ${refs?.apiKey} and ${refs?.secret}.`,
    );
  }
  println(
    io.stderr,
    `Paper exchange listening on ${exchange.url}: BTC/USDT at 60000, ETH/USDT at 3000; each account starts with ${Object.entries(
      PAPER_BALANCES,
    )
      .map(([asset, amount]) => `${amount} ${asset}`)
      .join(', ')}. Balances and orders live in memory until it stops (Ctrl-C).`,
  );
  if (options.wait !== false) {
    await untilSignal();
    await exchange.stop();
  }
  return exchange;
}

function paperAccounts(config: CofreConfig, only: string | undefined): [string, AccountConfig][] {
  const all = Object.entries(config.accounts).filter(([, a]) => a.mode === 'paper');
  const chosen = only === undefined ? all : all.filter(([id]) => id === only);
  if (chosen.length === 0) {
    throw new CofreError(
      'COFRE_USAGE',
      only === undefined
        ? 'the config has no account with mode: paper (cofre init writes one)'
        : `no paper account "${only}" in the config (paper accounts: ${all.map(([id]) => id).join(', ') || 'none'})`,
    );
  }
  for (const [id, account] of chosen) {
    if (account.venue !== 'binance') {
      throw new CofreError(
        'COFRE_USAGE',
        `account "${id}" has venue "${account.venue}"; the paper exchange speaks Binance's API only, so use venue: binance`,
      );
    }
  }
  return chosen;
}

/** The one loopback address every chosen account's `baseUrl` names. */
function listenAddress(accounts: readonly [string, AccountConfig][]): { host: string; port: number } {
  const urls = new Set(accounts.map(([, a]) => a.baseUrl));
  const [baseUrl] = urls;
  if (urls.size !== 1 || baseUrl === undefined) {
    throw new CofreError(
      'COFRE_USAGE',
      urls.has(undefined)
        ? `account "${accounts.find(([, a]) => a.baseUrl === undefined)?.[0]}" has no baseUrl; add \`baseUrl: http://127.0.0.1:8788\` to it`
        : `the paper accounts name different baseUrls (${[...urls].join(', ')}); run \`cofre paper --account <id>\` once per address`,
    );
  }
  const url = new URL(baseUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new CofreError(
      'COFRE_USAGE',
      `baseUrl ${baseUrl} is not http:// on a loopback address; the paper exchange runs on this machine only (e.g. http://127.0.0.1:8788)`,
    );
  }
  return { host, port: url.port === '' ? 80 : Number(url.port) };
}
