// Preload for a cofre process under benchmark: `node --import ./bench/bypass-ccxt-limiter.mjs bin/cofre.js serve …`.
// It takes ccxt's rate limiter out of the picture, as `bypassCcxtLimiter` (broker-latency.ts) does in the benchmark's
// own process, so that cofre and ccxt called directly are compared without the limiter's waits.
//
// - cofre's code is unchanged: this patches the prototype of ccxt's `Throttler`, which every exchange instance
//   shares, so that `throttle(cost)` (awaited by ccxt's `fetch2` before every request) resolves at once and records
//   nothing. With nothing recorded, cofre's account queue also sees an empty rate window, so its read share never
//   holds a read back.
// - Only the throttler's own module is imported (by file URL: ccxt exports nothing but its root), not ccxt itself,
//   so the preload neither loads ccxt early nor adds its memory to the RSS the benchmark reports. ESM caches modules
//   by resolved (real) path, so this is the same module instance cofre's ccxt imports.
// - Cluster workers inherit the primary's execArgv, so with `cofre serve --workers N` every worker is patched too.
// - The first patched call writes one line to stderr, so the benchmark can confirm the patch reached the ccxt that
//   cofre actually uses (a different copy of ccxt would not print it).
const ccxtRoot = import.meta.resolve('ccxt');
const { Throttler } = await import(new URL('./src/base/functions/throttle.js', ccxtRoot).href);

let announced = false;
Throttler.prototype.throttle = function throttleBypassed() {
  if (!announced) {
    announced = true;
    process.stderr.write(`bench: ccxt limiter bypassed in process ${process.pid}\n`);
  }
  return Promise.resolve();
};
