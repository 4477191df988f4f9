// Words that, as a part of a variable's name, say it holds a secret (`BINANCE_API_KEY`, `VAULT_TOKEN`, `DB_PASSWORD`).
const SECRET_WORDS = new Set([
  'KEY',
  'KEYS',
  'APIKEY',
  'SECRET',
  'SECRETS',
  'TOKEN',
  'TOKENS',
  'PASSWORD',
  'PASSWORDS',
  'PASSWD',
  'PASSPHRASE',
  'CREDENTIAL',
  'CREDENTIALS',
  'PRIVATE',
]);

// Last words that make such a name a pointer or an identifier, not a secret: `AWS_WEB_IDENTITY_TOKEN_FILE`,
// `SSH_AUTH_SOCK`, `PASSWORD_STORE_DIR`, `AWS_ACCESS_KEY_ID` (the id is not secret; its secret key is flagged).
const HARMLESS_LAST_WORDS = new Set(['FILE', 'PATH', 'DIR', 'SOCK', 'SOCKET', 'ID']);

/**
 * The names among `names` that look like they hold a secret. Names only: the caller never needs the values, and
 * must not print them.
 */
export function secretLookingNames(names: readonly string[]): string[] {
  return names
    .filter((name) => {
      // `apiKey` → `API_KEY`, then split on anything that is not a letter or digit.
      const words = name
        .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
        .toUpperCase()
        .split(/[^A-Z0-9]+/)
        .filter((w) => w !== '');
      const last = words.at(-1);
      if (last === undefined || HARMLESS_LAST_WORDS.has(last)) return false;
      return words.some((w) => SECRET_WORDS.has(w));
    })
    .sort();
}
