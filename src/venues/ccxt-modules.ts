/**
 * ccxt, loaded a piece at a time: its error classes and `functions`, and the class of each venue in use, instead of
 * ccxt's package entry (`js/ccxt.js`), which imports every exchange class (104 REST classes, their websocket "pro"
 * subclasses and the prediction-market ones). On the machine of bench/README.md the entry takes ~270 ms and ~80 MiB
 * of RSS; one venue takes ~100 ms and ~30 MiB (most of it ccxt's base `Exchange`, which every venue needs).
 *
 * How, in ccxt 4.5.84: the package exports only its entry (`"exports": { ".": ... }`), so a deep specifier such as
 * `ccxt/js/src/binance.js` is refused (`ERR_PACKAGE_PATH_NOT_EXPORTED`). The entry is a generated file that takes
 * `errors` (and each error class) from `./src/base/errors.js`, `functions` from `./src/base/functions.js`, and the
 * class of exchange `<id>` from the default export of `./src/<id>.js`; its `exchanges` table holds exactly those ids.
 * These modules are imported here by file URL, resolved against the entry's own URL, so they are the very module
 * instances `import('ccxt')` gives (one class object each: `instanceof` holds across both ways of loading).
 * `ccxt-modules.test.ts` pins that layout for every id, so a ccxt upgrade that changes it fails there.
 *
 * The ids come from the same place: the `./src/<id>.js` files beside the entry, read from the directory, so
 * listing them loads no class, and an id that passes {@link ccxtExchangeIds} is one {@link loadExchangeClass} loads.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import type * as Ccxt from 'ccxt';

/** ccxt's error classes (`ccxt.errors`, the same classes as `ccxt.OrderNotFound` etc.). */
export type CcxtErrors = typeof Ccxt.errors;
/** ccxt's helper functions and precision-mode constants (`ccxt.functions`). */
export type CcxtFunctions = typeof Ccxt.functions;
/** The class of one ccxt exchange. */
export type CcxtExchangeClass = new (config: object) => Ccxt.Exchange;

/** What every venue account uses of ccxt besides its exchange class. */
export interface CcxtBase {
  readonly errors: CcxtErrors;
  readonly functions: CcxtFunctions;
}

/** URL of ccxt's package entry, `.../ccxt/js/ccxt.js`; the modules below sit beside it. */
const ENTRY = import.meta.resolve('ccxt');
/** A ccxt exchange id as its file names it: this also keeps a path out of the URL built from it. */
const ID = /^[a-z][a-z0-9]*$/;

const classes = new Map<string, Promise<CcxtExchangeClass>>();

/** `load`, run on the first call; later calls share its promise, except after a failure, which the next call retries. */
function memoised<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    if (loading === undefined) {
      const attempt = load();
      loading = attempt;
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
    }
    return loading;
  };
}

/** The ids of the exchanges ccxt ships (`Object.keys(ccxt.exchanges)`), without loading any exchange class. */
export const ccxtExchangeIds: () => Promise<ReadonlySet<string>> = memoised(async () => {
  const files = await readdir(fileURLToPath(new URL('./src/', ENTRY)));
  return new Set(
    files.flatMap((file) => {
      const id = file.endsWith('.js') ? file.slice(0, -3) : '';
      return ID.test(id) ? [id] : [];
    }),
  );
});

/** ccxt's error classes and `functions`, loaded on first use. */
export const loadCcxtBase: () => Promise<CcxtBase> = memoised(async () => {
  const [errors, functions] = await Promise.all([
    import(new URL('./src/base/errors.js', ENTRY).href) as Promise<CcxtErrors>,
    import(new URL('./src/base/functions.js', ENTRY).href) as Promise<CcxtFunctions>,
  ]);
  return { errors, functions };
});

/**
 * The class of ccxt exchange `id` (`ccxt.exchanges[id]`), loading its module (and what it imports: a subclass loads
 * its parent, `binanceus` loads `binance`) and no other exchange's. Undefined for an id ccxt does not ship.
 */
export async function loadExchangeClass(id: string): Promise<CcxtExchangeClass | undefined> {
  // SECURITY: `id` comes from the config and becomes part of a module URL: only ids ccxt ships get that far.
  if (!ID.test(id) || !(await ccxtExchangeIds()).has(id)) return undefined;
  let loading = classes.get(id);
  if (loading === undefined) {
    loading = (import(new URL(`./src/${id}.js`, ENTRY).href) as Promise<{ default: CcxtExchangeClass }>).then(
      (module) => module.default,
    );
    classes.set(id, loading);
    const attempt = loading;
    attempt.catch(() => {
      if (classes.get(id) === attempt) classes.delete(id);
    });
  }
  return loading;
}
