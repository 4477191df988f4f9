/**
 * Compiles a symbol pattern of a policy rule to a test: `BTC/USDT` matches itself only; `*` matches any run of
 * characters within one side of the slash and `?` one character (`ETH/*`, `*\/BUSD`, `BTC/USD?`); a lone `*`
 * matches every symbol. Patterns and symbols are compared as written (venues' unified symbols are upper case).
 * Pure; the returned function is safe to share.
 */
export function compileSymbolGlob(pattern: string): (symbol: string) => boolean {
  if (pattern === '*') return () => true;
  if (!/[*?]/.test(pattern)) return (symbol) => symbol === pattern;
  // Wildcards never cross the slash, so `*` cannot make `BTC/*` match a symbol with a second slash or no quote.
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`);
  return (symbol) => regex.test(symbol);
}
