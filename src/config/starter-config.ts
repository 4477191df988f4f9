/**
 * The console's port in the starter config, written out so an operator sees where to point the browser: the
 * console's default, 8789 (8788 is where `cofre paper` listens and the starter paper account points).
 */
export const STARTER_CONSOLE_PORT = 8789;

/** Where `cofre init` put the store and its key; written into the starter config as given. */
export interface StarterConfigOptions {
  /** Store file; relative paths are relative to the config file's directory. */
  readonly storePath: string;
  /** How the store is opened: a key file (32 bytes, mode 600) or a passphrase from a file or a prompt. */
  readonly key:
    { readonly keyFile: string } | { readonly passphraseFile: string } | { readonly passphrasePrompt: true };
}

/**
 * The commented `cofre.yaml` that `cofre init` writes: an embedded backend `local` opened with a key file, a paper
 * account whose credentials are references into it, a paper-trading policy, and every other section at its
 * default. Loads cleanly with `loadConfig` (tested). Pure.
 */
export function renderStarterConfig(options: StarterConfigOptions): string {
  // JSON strings are valid YAML double-quoted scalars, so any path is written safely.
  const storePath = JSON.stringify(options.storePath);
  const key = options.key;
  const keyLines =
    'keyFile' in key
      ? `# The store key: 32 bytes, mode 600. Keep it out of git, and back it up apart from the store.
    keyFile: ${JSON.stringify(key.keyFile)}`
      : 'passphraseFile' in key
        ? `# The store key is derived (scrypt) from the passphrase in this file (mode 600).
    passphraseFile: ${JSON.stringify(key.passphraseFile)}`
        : `# The store key is derived (scrypt) from a passphrase typed at start-up.
    passphrasePrompt: true`;
  return `# cofre configuration, written by \`cofre init\`. Reference: docs/configuration.md.
# Check it with \`cofre config check\`. For completion in editors, save \`cofre config schema\` as
# cofre.schema.json and start this file with:  # yaml-language-server: $schema=./cofre.schema.json
#
# This file holds secret *references* (<backend>:<path>#<field>), never secret values, so it is safe to commit.
# Relative paths resolve against this file's directory.

backends:
  # cofre's own encrypted store. Add secrets with \`cofre secret put <name>\` (the value is read from stdin or a
  # prompt, never from the command line).
  local:
    type: embedded
    path: ${storePath}
    ${keyLines}
    cache:
      ttl: 5m # serve a resolved secret from memory this long
      staleIfError: 60s # then, while the backend is failing, at most this much longer

accounts:
  # A paper-trading account: simulated fills, no real funds, against the paper exchange that \`cofre paper\` runs
  # at baseUrl. \`cofre paper --create-keys\` makes random keys for it and stores them at the references below.
  paper:
    venue: binance
    mode: paper
    baseUrl: http://127.0.0.1:8788 # where \`cofre paper\` listens; only allowed with mode: paper
    credentials:
      apiKey: local:exchanges/paper#apiKey
      secret: local:exchanges/paper#secret

agents:
  tokenTtl: 30d # lifetime of a token issued by \`cofre agent add\`

policies:
  # Default deny: an agent may do only what a policy allows.
  paper-trading:
    accounts: [paper]
    actions:
      - list_accounts
      - get_balance
      - get_ticker
      - get_open_orders
      - get_order
      - preview_order
      - place_order
      - cancel_order

audit:
  path: ./cofre-audit.jsonl # hash-chained JSON lines (docs/audit.md): every request, decision, secret read and outcome
  # Created by \`cofre init\` in the store above: the Ed25519 key that signs checkpoints (\`cofre audit public-key\`
  # prints its public key to pin) and the key that HMACs secret references in audit records.
  signingKey: local:audit/signing-key
  hmacKey: local:audit/hmac-key

server:
  host: 127.0.0.1 # loopback only; agents on other hosts need a reverse proxy with TLS
  port: 8787
  bodyLimit: 64kb
  # The operator console: approvals, limits, activity and audit, the kill switch, in a browser. Log in with an
  # operator token (\`cofre operator add <id>\`). Its own port, never the agent port; on loopback (reach it from
  # elsewhere through an SSH tunnel, or give it tls / a TLS proxy's publicUrl: docs/configuration.md).
  console:
    host: 127.0.0.1
    port: ${STARTER_CONSOLE_PORT}
    idleTimeout: 15m # a session unused this long ends
    sessionLifetime: 12h # and ends this long after login however it is used

state:
  path: ./cofre-state.db # agents (token hashes) and each request with its stored answer (SQLite)
`;
}
