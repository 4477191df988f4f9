// Child process of ccxt-modules.test.ts: records which of ccxt's modules this process loads while it lists the venue
// ids and opens one account per venue named on the command line, and prints them as one JSON line per step:
// `{ "step": "<venue or ids>", "error": "<code>"?, "loaded": ["src/binance.js", ...] }`, paths relative to ccxt's
// `js/` folder, cumulative. Run with `node --import tsx`.
//
// A module loader hook sees every ES module Node loads; registered before anything of cofre's is imported (the
// imports below are dynamic for that reason), it appends each ccxt URL to a file before the module is evaluated.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'cofre-ccxt-modules-'));
const log = join(dir, 'loaded');
appendFileSync(log, '');

const HOOK = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) {
  if (url.includes('/node_modules/ccxt/')) appendFileSync(log, url + '\\n');
  return next(url, context);
}
`;
register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { log } });

const { knownVenueIds } = await import('../venue-ids.js');
const { openVenueAccount } = await import('../ccxt-venue-account.js');
const { isCofreError } = await import('../../errors.js');

function report(step: string, error?: string): void {
  const loaded = [
    ...new Set(
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((url) => url.replace(/^.*\/node_modules\/ccxt\/js\//, '')),
    ),
  ];
  process.stdout.write(`${JSON.stringify({ step, ...(error === undefined ? {} : { error }), loaded })}\n`);
}

try {
  const ids = await knownVenueIds();
  report(`ids:${ids.size}`);
  for (const venue of process.argv.slice(2)) {
    try {
      const account = await openVenueAccount(
        'probe',
        {
          venue,
          mode: 'live',
          credentials: { apiKey: 'local:exchanges/probe#apiKey', secret: 'local:exchanges/probe#secret' },
        },
        () => Promise.reject(new Error('no credentials are read when an account opens')),
      );
      await account.close();
      report(venue);
    } catch (err) {
      if (!isCofreError(err)) throw err;
      report(venue, err.code);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
