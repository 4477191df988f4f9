import { open } from 'node:fs/promises';

import type { AccountConfig, CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { PaperConfigError } from '../../paper-exchange/paper-config-error.js';
import type { PaperExchange } from '../../paper-exchange/paper-exchange.js';
import { openResolver } from '../../secrets/open-backend.js';
import { API_KEY_TYPES, type ApiKeyType } from '../../venues/api-secret.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import {
  PAPER_BALANCES,
  paperKeysFromConfig,
  type ProvisionedPaperKeys,
  randomPaperKeys,
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
  /**
   * What `createKeys` makes: `hmac` (default; a 64-character secret), `ed25519` or `rsa` (a PKCS#8 PEM private key
   * stored at the secret reference; the paper exchange gets the public key only).
   */
  readonly keyType?: string;
  /**
   * Also accept a second, random key for the (one) paper account and write it to this new file (mode 600), as
   * `{"apiKey","secret"}`: the key a user makes on an exchange's site before `cofre rotate --from-file`.
   */
  readonly spareKey?: string;
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
  if (options.spareKey !== undefined && accounts.length !== 1) {
    throw new CofreError(
      'COFRE_USAGE',
      `--spare-key makes a key for one account; name it with --account (paper accounts: ${accounts.map(([id]) => id).join(', ')})`,
    );
  }
  const keyType = readKeyType(options.keyType, options.createKeys === true);
  const listen = listenAddress(accounts);
  const resolver = await openResolver(config, { promptPassphrase: (q) => promptHidden(io, q) });
  const keys: ProvisionedPaperKeys[] = [];
  try {
    for (const [id, account] of accounts) {
      keys.push(
        await paperKeysFromConfig(id, account.credentials, resolver, options.createKeys === true, keyType),
      );
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
  if (options.spareKey !== undefined) {
    const [first] = keys;
    if (first !== undefined)
      await addSpareKey(exchange, first, options.spareKey).catch(async (err: unknown) => {
        await exchange.stop();
        throw err;
      });
  }
  printListening(io, exchange, accounts, keys, options.spareKey);
  if (options.wait !== false) {
    await untilSignal();
    await exchange.stop();
  }
  return exchange;
}

/** What `cofre paper` prints once listening: the URL on stdout, where each account's keys came from on stderr. */
function printListening(
  io: CliIo,
  exchange: PaperExchange,
  accounts: readonly [string, AccountConfig][],
  keys: readonly ProvisionedPaperKeys[],
  spareKey: string | undefined,
): void {
  println(io.stdout, exchange.url);
  for (const k of keys) {
    const refs = accounts.find(([id]) => id === k.account)?.[1].credentials;
    println(
      io.stderr,
      `Account "${k.account}": ${KEY_TYPE_NAMES[k.keyType]} keys ${k.created ? 'created now and stored at' : 'read from'} ${refs?.apiKey} and ${refs?.secret}.${k.publicKey === undefined ? '' : ' The paper exchange holds its public key only:'}`,
    );
    // A public key is not secret: it is what one pastes into Binance's "register API key" form.
    if (k.publicKey !== undefined) io.stderr.write(k.publicKey);
  }
  if (spareKey !== undefined) {
    println(
      io.stderr,
      `Account "${keys[0]?.account}" also accepts a spare key, written to ${spareKey} (mode 600): try a rotation with \`cofre rotate ${keys[0]?.account} --from-file ${spareKey}\`.`,
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
}

const KEY_TYPE_NAMES: Readonly<Record<ApiKeyType, string>> = { hmac: 'HMAC', ed25519: 'Ed25519', rsa: 'RSA' };

function readKeyType(value: string | undefined, create: boolean): ApiKeyType {
  if (value === undefined) return 'hmac';
  if (!create) {
    throw new CofreError(
      'COFRE_USAGE',
      '--key-type says what --create-keys makes; give both (existing keys are used as they are)',
    );
  }
  const type = API_KEY_TYPES.find((t) => t === value);
  if (type === undefined) {
    throw new CofreError(
      'COFRE_USAGE',
      `--key-type must be one of ${API_KEY_TYPES.join(', ')}, not "${value}"`,
    );
  }
  return type;
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

/**
 * `--spare-key <file>`: a second key for `account`, accepted by the running paper exchange and written to a new file
 * of mode 600 (created exclusively, never overwritten), so a rotation can be tried end to end without an exchange
 * account: `cofre rotate <account> --from-file <file>` tests it here, promotes it, and `cofre serve` signs with it.
 *
 * SECURITY: a paper key moves no money; still it is written only to a file its owner alone can read, and never
 * printed.
 */
async function addSpareKey(
  exchange: PaperExchange,
  account: ProvisionedPaperKeys,
  file: string,
): Promise<void> {
  const spare = randomPaperKeys();
  const handle = await open(file, 'wx', 0o600).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'EEXIST'
      ? new CofreError(
          'COFRE_USAGE',
          `${file} already exists; not overwriting it (remove it, or name another file)`,
        )
      : new CofreError('COFRE_INPUT_INVALID', `cannot create ${file}: ${code ?? 'error'}`, { cause: err });
  });
  try {
    await handle.writeFile(`${JSON.stringify(spare)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  exchange.addApiKey(account.apiKey, spare);
}
