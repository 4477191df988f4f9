import { command, type CommandSpec } from './command-spec.js';
// A list of names, no code: the table still loads no command's module until it runs.
import { MCP_CLIENTS } from './mcp-client-config.js';

// Every cofre command, one row each, in the order `cofre help` lists them. Each row imports its implementation when
// it runs, so commands that load heavy modules (fastify, the MCP SDK, SQLite, ccxt) cost nothing to the others.

const backendOption = {
  flags: '-b, --backend <name>',
  description: 'backend to use (default: the first embedded backend in the config)',
};

const MCP_CLIENT_LIST = MCP_CLIENTS.join(', ');

const mcpConfigOptions = [
  {
    flags: '--transport <transport>',
    description: 'stdio (the client starts cofre mcp; default) or http (the client connects to /mcp)',
  },
  {
    flags: '--url <url>',
    description: "with --transport http: the broker's URL (default: from server.host and server.port)",
  },
];

/** The descriptions of the command groups (`cofre secret`, …), shown by `cofre help`. */
export const COMMAND_GROUPS: Readonly<Record<string, string>> = {
  config: 'validate the configuration or print its schema',
  secret: 'manage secrets in a writable backend (values never appear on the command line)',
  agent: 'add, list and revoke the agents that may call cofre',
  request: 'inspect and settle requests a stopped cofre left executing',
  operator: 'add, list and revoke the operators who may use the operator API (approvals, halt)',
  approval: 'list, show, approve and deny requests waiting for an operator (on this host, no token)',
  policy: 'explain a policy decision, or run table-driven policy tests',
  audit: 'verify the tamper-evident audit log, read it, and hash values to search it',
  state: 'manage the state database (PostgreSQL schema migrations)',
  wallet: 'list the EVM wallets and their addresses, or create an embedded (development) wallet key',
};

const auditLogOption = {
  flags: '--log <file>',
  description: 'read this log (a copy, say) instead of audit.path from the config; no config needed',
};

/** The command table. */
export const COMMANDS: readonly CommandSpec<unknown>[] = [
  command<{ dir: string; passphraseFile?: string; passphrasePrompt?: boolean }>({
    path: ['init'],
    description: 'write a starter cofre.yaml and an empty encrypted store in a directory',
    options: [
      { flags: '--dir <dir>', description: 'where to write them', defaultValue: '.' },
      {
        flags: '--passphrase-file <file>',
        description: 'protect the store with the passphrase in this file instead of a key file',
      },
      {
        flags: '--passphrase-prompt',
        description: 'protect the store with a passphrase typed now (and at every start)',
      },
    ],
    run: async ({ io }, _args, options) => (await import('./init.js')).init(io, options),
  }),
  command<{ port?: string }>({
    path: ['demo'],
    description:
      'run the broker against a local paper exchange with demo keys and a demo agent (until Ctrl-C)',
    options: [
      { flags: '--port <port>', description: 'port of the broker (default 8787, or any free one if taken)' },
    ],
    run: async ({ io }, _args, options) => {
      await (await import('./demo.js')).demo(io, options);
    },
  }),
  command<{ account?: string; createKeys?: boolean; spareKey?: string }>({
    path: ['paper'],
    description:
      "run the paper exchange for the config's paper accounts, at their baseUrl, with their keys (until Ctrl-C)",
    options: [
      { flags: '--account <id>', description: 'serve only this paper account (default: all of them)' },
      {
        flags: '--create-keys',
        description:
          'make random keys for accounts that have none and store them at their credential references',
      },
      {
        flags: '--spare-key <file>',
        description:
          'also accept a second, random key and write it to this new file (mode 600), to try `cofre rotate --from-file`',
      },
    ],
    run: async ({ io, global }, _args, options) => {
      await (await import('./paper.js')).paper(io, global, options);
    },
  }),
  command<{ host?: string; port?: string; verify?: boolean; workers?: string }>({
    path: ['serve'],
    description:
      'serve the HTTP API and MCP (Streamable HTTP at /mcp) for the configuration, until SIGINT/SIGTERM',
    options: [
      { flags: '--host <host>', description: 'address to bind (default: server.host, 127.0.0.1)' },
      { flags: '--port <port>', description: 'port to listen on (default: server.port, 8787)' },
      {
        flags: '--console-port <port>',
        description: "the operator console's port (default: server.console.port, 8789); 0 picks a free one",
      },
      {
        flags: '--no-verify',
        description: 'start without first resolving every credential reference and checking venue ids',
      },
      {
        flags: '--workers <n>',
        description:
          'processes serving the port: a number, or auto for one per CPU core (default: server.workers, 1)',
      },
    ],
    run: async ({ io, global }, _args, options) => (await import('./serve.js')).serve(io, global, options),
  }),
  command<{ tokenFile: string }>({
    path: ['mcp'],
    description: 'serve MCP on stdin/stdout for one agent, whose token is read from a file',
    options: [
      {
        flags: '--token-file <file>',
        description: 'file holding the agent token (mode 600)',
        required: true,
      },
    ],
    run: async ({ io, global }, _args, options) =>
      (await import('./mcp-stdio.js')).mcpStdio(io, global, options),
  }),

  command<{ env?: string[]; allowHost?: string[] }>({
    path: ['run'],
    description:
      "run a tool with placeholders for its credentials; a loopback proxy swaps them for the real values on the way to each service's host only",
    args: [['<command...>', 'the tool and its arguments, after --']],
    options: [
      {
        flags: '--env <VAR=service...>',
        description:
          'give the tool a placeholder in VAR for the credential of a service in services: (repeatable)',
      },
      {
        flags: '--allow-host <host...>',
        description:
          'also let the tool open a plain tunnel to this host or host:port (default port 443); nothing is swapped there (repeatable)',
      },
    ],
    run: async ({ io, global }, argv, options) => (await import('./run.js')).run(io, global, argv, options),
  }),

  command<{ json?: boolean }>({
    path: ['doctor'],
    description:
      'check before going live: config, secret references, backends and token expiry, key scope, credential age, audit log, state, clocks, process hardening',
    options: [
      {
        flags: '--json',
        description: 'print one JSON object (findings, summary) for monitoring; the exit code is the same',
      },
    ],
    run: async ({ io, global }, _args, options) => (await import('./doctor.js')).doctor(io, global, options),
  }),

  command<{ resolve?: boolean }>({
    path: ['config', 'check'],
    description: 'validate a configuration file and list every problem with its path',
    options: [
      {
        flags: '--resolve',
        description:
          'also resolve every secret reference (never printing values) and check venue ids against ccxt',
      },
    ],
    run: async ({ io, global }, _args, options) =>
      (await import('./config-check.js')).configCheck(io, global, options),
  }),
  command({
    path: ['config', 'schema'],
    description: 'print the JSON Schema of cofre.yaml, for editors',
    run: async ({ io }) => {
      (await import('./config-schema.js')).configSchema(io);
    },
  }),

  command<{ backend?: string; fromFile?: string; field?: string[]; pending?: boolean; binary?: boolean }>({
    path: ['secret', 'put'],
    description:
      'store a new version of a secret; the value comes from stdin, a no-echo prompt, or --from-file',
    args: [['<name>', 'secret name, e.g. exchanges/binance']],
    options: [
      backendOption,
      { flags: '--from-file <file>', description: 'read the value from a file' },
      {
        flags: '--field <field...>',
        description:
          'build a JSON object from these fields, prompting for each (or reading one line each from stdin)',
      },
      {
        flags: '--pending',
        description: 'stage the new version as pending (for rotation) instead of making it current',
      },
      { flags: '--binary', description: 'store the input byte for byte (no trailing newline is trimmed)' },
    ],
    run: async ({ io, global }, [name], options) =>
      (await import('./secret-put.js')).secretPut(io, global, name ?? '', options),
  }),
  command<{ backend?: string }>({
    path: ['secret', 'list'],
    description: 'list secret names with their current version',
    options: [backendOption],
    run: async ({ io, global }, _args, options) =>
      (await import('./secret-list.js')).secretList(io, global, options),
  }),
  command<{ backend?: string }>({
    path: ['secret', 'versions'],
    description: 'list the versions of a secret with their stages and creation times',
    args: [['<name>', 'secret name']],
    options: [backendOption],
    run: async ({ io, global }, [name], options) =>
      (await import('./secret-versions.js')).secretVersions(io, global, name ?? '', options),
  }),
  command<{ backend?: string }>({
    path: ['secret', 'promote'],
    description: 'make a version current; the old current becomes previous (also how to roll back)',
    args: [
      ['<name>', 'secret name'],
      ['<version>', 'version to promote'],
    ],
    options: [backendOption],
    run: async ({ io, global }, [name, version], options) =>
      (await import('./secret-promote.js')).secretPromote(io, global, name ?? '', version ?? '', options),
  }),
  command<{ backend?: string }>({
    path: ['secret', 'rm'],
    description: 'delete a secret and all its versions',
    args: [['<name>', 'secret name']],
    options: [backendOption],
    run: async ({ io, global }, [name], options) =>
      (await import('./secret-rm.js')).secretRm(io, global, name ?? '', options),
  }),
  command<{ backend?: string }>({
    path: ['secret', 'fingerprint'],
    description: 'print an HMAC fingerprint of a secret to compare values without showing them',
    args: [['<name>', 'secret name, optionally with @<version> or @stage=<label>']],
    options: [backendOption],
    run: async ({ io, global }, [name], options) =>
      (await import('./secret-fingerprint.js')).secretFingerprint(io, global, name ?? '', options),
  }),
  command<{
    fromFile?: string;
    secret?: string;
    generate?: boolean;
    bytes?: string;
    resume?: string;
    rollback?: boolean;
    status?: string | boolean;
    json?: boolean;
  }>({
    path: ['rotate'],
    description:
      "rotate an account's keys without downtime (pending, test at the venue, promote), or generate a secret",
    args: [
      [
        '[account]',
        'account whose credentials to rotate; the new ones come from --from-file, stdin or a prompt',
      ],
    ],
    options: [
      {
        flags: '--from-file <file>',
        description: 'read the new credentials, a JSON object of ccxt fields, from a file (mode 600)',
      },
      {
        flags: '--secret <reference>',
        description: 'rotate this secret instead of an account (with --generate or --rollback)',
      },
      { flags: '--generate', description: 'make the new value: random bytes, base64url' },
      { flags: '--bytes <n>', description: 'random bytes to generate (default 32)' },
      { flags: '--resume <id>', description: 'carry an interrupted rotation to its end' },
      { flags: '--rollback', description: 'move current back to the version before the last rotation' },
      { flags: '--status [id]', description: 'list rotations (unfinished first), or show one' },
      { flags: '--json', description: 'with --status: print the records as JSON' },
    ],
    run: async ({ io, global }, [account], options) =>
      (await import('./rotate.js')).rotate(io, global, account, options),
  }),

  // Issue 19: EVM wallets.
  command({
    path: ['wallet', 'list'],
    description: 'list the configured wallets: name, chain, address (from the key source) and key source',
    run: async ({ io, global }) => (await import('./wallet-list.js')).walletList(io, global),
  }),
  command({
    path: ['wallet', 'create-key'],
    description:
      'write a fresh wallet key to a secret (for an embedded wallet, development) and print only its address',
    args: [['<secret-ref>', 'where to write it, e.g. local:wallets/dev (refused if it exists)']],
    run: async ({ io, global }, [reference]) =>
      (await import('./wallet-create-key.js')).walletCreateKey(io, global, reference ?? ''),
  }),
  command<{
    policy?: string;
    ttl?: string;
    tokenFile?: string;
    mcpConfig?: string;
    transport?: string;
    url?: string;
  }>({
    path: ['agent', 'add'],
    description: 'register an agent and hand out its token once (printed, or written to --token-file)',
    args: [['<id>', 'agent id: lowercase letters, digits, "-" and "_"']],
    options: [
      {
        flags: '--policy <name>',
        description: 'policy from the config (default: the only one, if there is one)',
      },
      {
        flags: '--ttl <duration>',
        description: 'token lifetime, e.g. 12h or 30d (default: agents.tokenTtl)',
      },
      {
        flags: '--token-file <file>',
        description: 'write the token to this new file (mode 600) instead of printing it',
      },
      {
        flags: '--mcp-config <client>',
        description: `also print an MCP configuration for this client (${MCP_CLIENT_LIST}); needs --token-file`,
      },
      ...mcpConfigOptions,
    ],
    run: async ({ io, global }, [id], options) =>
      (await import('./agent-add.js')).agentAdd(io, global, id ?? '', options),
  }),
  command<{ tokenFile?: string; transport?: string; url?: string }>({
    path: ['agent', 'mcp-config'],
    description:
      "print a ready MCP configuration of a client for an agent, pointing to the agent's token file (never holding the token)",
    args: [
      ['<agent>', 'agent id'],
      ['<client>', MCP_CLIENT_LIST],
    ],
    options: [
      {
        flags: '--token-file <file>',
        description: "the agent's token file (mode 600), as agent add wrote it",
      },
      ...mcpConfigOptions,
    ],
    run: async ({ io, global }, [agent, client], options) =>
      (await import('./agent-mcp-config.js')).agentMcpConfig(io, global, agent ?? '', client ?? '', options),
  }),
  command<{ tokenFile: string }>({
    path: ['agent', 'mcp-headers'],
    description:
      'print {"Authorization":"Bearer …"} for the token in a file, for MCP clients that run a command for their headers',
    options: [
      { flags: '--token-file <file>', description: 'the agent token file (mode 600)', required: true },
    ],
    run: async ({ io }, _args, options) =>
      (await import('./agent-mcp-headers.js')).agentMcpHeaders(io, options),
  }),
  command({
    path: ['agent', 'list'],
    description: 'list agents with policy, status and expiry (never tokens)',
    run: async ({ io, global }) => (await import('./agent-list.js')).agentList(io, global),
  }),
  command<{ agent?: string; json?: boolean }>({
    path: ['agent', 'tokens'],
    description:
      'list live session tokens (workload identity exchange, delegation): id, agent, kind, subject, expiry (never a token)',
    options: [
      { flags: '--agent <id>', description: 'only the tokens of this agent' },
      { flags: '--json', description: 'print the tokens as JSON' },
    ],
    run: async ({ io, global }, _args, options) =>
      (await import('./agent-tokens.js')).agentTokens(io, global, options),
  }),
  command({
    path: ['agent', 'revoke'],
    description: "revoke an agent's token and its session tokens at once",
    args: [['<id>', 'agent id']],
    run: async ({ io, global }, [id]) =>
      (await import('./agent-revoke.js')).agentRevoke(io, global, id ?? ''),
  }),
  command<{ agent?: string; policy?: string; action: string; input?: string; now?: string; json?: boolean }>({
    path: ['policy', 'explain'],
    description:
      'show the decision for an action as given, every rule considered and why, and the limits it draws on',
    options: [
      { flags: '--agent <id>', description: 'judge as this agent, under its policy (from the state store)' },
      { flags: '--policy <name>', description: 'judge under this policy instead of an agent' },
      { flags: '--action <action>', description: 'the action, e.g. place_order', required: true },
      {
        flags: '--input <json>',
        description:
          'the action input, e.g. \'{"account":"paper","symbol":"BTC/USDT","side":"buy","type":"limit","amount":"0.01","price":"60000"}\'',
      },
      { flags: '--now <time>', description: 'judge at this time (ISO 8601) instead of now' },
      { flags: '--json', description: 'print the decision and rules as JSON' },
    ],
    run: async ({ io, global }, _args, options) =>
      (await import('./policy-explain.js')).policyExplain(io, global, options),
  }),
  command({
    path: ['policy', 'test'],
    description: 'run the policy test cases of a YAML file against the config; exit 1 if any fails',
    args: [['<file>', 'YAML list of cases { name?, policy | agent, action, input, now?, expect }']],
    run: async ({ io, global }, [file]) =>
      (await import('./policy-test.js')).policyTest(io, global, file ?? ''),
  }),
  command({
    path: ['request', 'list'],
    description: 'list requests still executing (running now, or left by a cofre that stopped)',
    run: async ({ io, global }) => (await import('./request-list.js')).requestList(io, global),
  }),
  command({
    path: ['request', 'reconcile'],
    description:
      'settle requests a stopped cofre left executing, asking the venue about each order by its clientOrderId',
    run: async ({ io, global }) => (await import('./request-reconcile.js')).requestReconcile(io, global),
  }),
  command<{ check?: boolean }>({
    path: ['state', 'migrate'],
    description:
      'bring the PostgreSQL state schema to the version this cofre needs (run with a role that owns the schema)',
    options: [
      {
        flags: '--check',
        description: 'change nothing; exit 1 when the schema is not the one this cofre needs',
      },
    ],
    run: async ({ io, global }, _args, options) =>
      (await import('./state-migrate.js')).stateMigrate(io, global, options),
  }),

  command<{ ttl?: string }>({
    path: ['operator', 'add'],
    description: 'register an operator and print its token (cofre_op_...) once, for the operator API',
    args: [['<id>', 'operator id: lowercase letters, digits, "-" and "_"']],
    options: [{ flags: '--ttl <duration>', description: 'token lifetime, e.g. 12h or 30d (default: 30d)' }],
    run: async ({ io, global }, [id], options) =>
      (await import('./operator-add.js')).operatorAdd(io, global, id ?? '', options),
  }),
  command({
    path: ['operator', 'list'],
    description: 'list operators with status and expiry (never tokens)',
    run: async ({ io, global }) => (await import('./operator-list.js')).operatorList(io, global),
  }),
  command({
    path: ['operator', 'revoke'],
    description: "revoke an operator's token at once",
    args: [['<id>', 'operator id']],
    run: async ({ io, global }, [id]) =>
      (await import('./operator-revoke.js')).operatorRevoke(io, global, id ?? ''),
  }),
  command<{ status?: string }>({
    path: ['approval', 'list'],
    description: 'list approvals, pending first, newest first',
    options: [
      {
        flags: '--status <status>',
        description: 'only this status: pending, approved, denied, expired or executed',
      },
    ],
    run: async ({ io, global }, _args, options) =>
      (await import('./approval-list.js')).approvalList(io, global, options),
  }),
  command({
    path: ['approval', 'show'],
    description: 'show one approval with the exact payload it would send and its hash',
    args: [['<id>', 'request id']],
    run: async ({ io, global }, [id]) =>
      (await import('./approval-show.js')).approvalShow(io, global, id ?? ''),
  }),
  command<{ comment?: string; payloadHash?: string }>({
    path: ['approval', 'approve'],
    description:
      'show the payload and its hash and approve that hash as local:<os user>; the approval completing the quorum executes it once',
    args: [['<id>', 'request id']],
    options: [
      { flags: '--comment <text>', description: 'recorded with the approval and in the audit log' },
      {
        flags: '--payload-hash <hex>',
        description: 'approve only if the payload still has this hash (as shown earlier)',
      },
    ],
    run: async ({ io, global }, [id], options) =>
      (await import('./approval-approve.js')).approvalApprove(io, global, id ?? '', options),
  }),
  command<{ comment?: string }>({
    path: ['approval', 'deny'],
    description: 'deny a pending approval; it is never executed',
    args: [['<id>', 'request id']],
    options: [{ flags: '--comment <text>', description: 'recorded with the denial and in the audit log' }],
    run: async ({ io, global }, [id], options) =>
      (await import('./approval-deny.js')).approvalDeny(io, global, id ?? '', options),
  }),
  command<{ reason?: string; cancelOpenOrders?: boolean; revokeAgents?: boolean }>({
    path: ['halt'],
    description:
      'the kill switch: refuse every new action (persisted, a restart stays halted), optionally cancelling orders and revoking agents',
    options: [
      {
        flags: '--reason <text>',
        description: 'why; shown to whoever asks (default: "halted from the command line")',
      },
      {
        flags: '--cancel-open-orders',
        description: 'also cancel every open order of every account, reported per account',
      },
      {
        flags: '--revoke-agents',
        description: 'also revoke every agent token and session token (exchanged, delegated)',
      },
    ],
    run: async ({ io, global }, _args, options) => (await import('./halt.js')).halt(io, global, options),
  }),
  command({
    path: ['resume'],
    description: 'lift the halt (revoked agents stay revoked)',
    run: async ({ io, global }) => (await import('./resume.js')).resume(io, global),
  }),
  command<{ log?: string; publicKey?: string; witness?: string[]; json?: boolean }>({
    path: ['audit', 'verify'],
    description:
      'check the whole audit chain, every checkpoint signature and every witness; exit 1 naming each problem and where',
    options: [
      auditLogOption,
      {
        flags: '--public-key <file>',
        description:
          "the checkpoint key's public key (PEM) to pin (default: the key in the log's genesis record)",
      },
      {
        flags: '--witness <file...>',
        description:
          'a witness file of checkpoint lines, repeatable (file witnesses in the config are added)',
      },
      { flags: '--json', description: 'print the report as JSON' },
    ],
    run: async ({ io, global }, _args, options) =>
      (await import('./audit-verify.js')).auditVerify(io, global, options),
  }),
  command<{ log?: string; lines?: string; follow?: boolean; json?: boolean }>({
    path: ['audit', 'tail'],
    description: 'print the last records of the audit log, and with --follow each new one (until Ctrl-C)',
    options: [
      auditLogOption,
      { flags: '-n, --lines <n>', description: 'how many records', defaultValue: '10' },
      { flags: '-f, --follow', description: 'keep printing records as they are written, across rotations' },
      { flags: '--json', description: 'print each record as written (one JSON line)' },
    ],
    run: async ({ io, global }, _args, options) =>
      (await import('./audit-tail.js')).auditTail(io, global, options),
  }),
  command<{
    log?: string;
    since?: string;
    until?: string;
    agent?: string;
    account?: string;
    action?: string;
    request?: string;
    kind?: string;
    json?: boolean;
  }>({
    path: ['audit', 'query'],
    description: 'print the audit records matching every filter given, oldest first',
    options: [
      auditLogOption,
      { flags: '--since <time>', description: 'records at or after this ISO 8601 time' },
      { flags: '--until <time>', description: 'records before this ISO 8601 time' },
      { flags: '--agent <id>', description: 'records of this agent' },
      { flags: '--account <id>', description: 'records about this account' },
      { flags: '--action <action>', description: 'records of this action, e.g. place_order' },
      { flags: '--request <id>', description: 'records of this request id' },
      {
        flags: '--kind <kind>',
        description: 'records of this kind: intent, outcome, secret-access, checkpoint…',
      },
      { flags: '--json', description: 'print each record as written (one JSON line)' },
    ],
    run: async ({ io, global }, _args, options) =>
      (await import('./audit-query.js')).auditQuery(io, global, options),
  }),
  command<{ stdin?: boolean }>({
    path: ['audit', 'hash'],
    description:
      'print the HMAC the audit log holds for a secret reference (argument) or a value (stdin or prompt, never argv)',
    args: [['[reference]', 'a secret reference, e.g. local:exchanges/binance#apiKey']],
    options: [
      { flags: '--stdin', description: 'hash the value read from stdin (one trailing newline dropped)' },
    ],
    run: async ({ io, global }, [reference], options) =>
      (await import('./audit-hash.js')).auditHash(
        io,
        global,
        reference === '' ? undefined : reference,
        options,
      ),
  }),
  command<{ out?: string }>({
    path: ['audit', 'export'],
    description:
      'write the audit chain kept in the PostgreSQL state database to a new file, which audit verify --log checks',
    options: [{ flags: '--out <file>', description: 'the file to create (refused if it exists)' }],
    run: async ({ io, global }, _args, options) =>
      (await import('./audit-export.js')).auditExport(io, global, options),
  }),
  command({
    path: ['audit', 'public-key'],
    description: "print the audit checkpoint key's public key (SPKI PEM) and its keyId, to pin it",
    run: async ({ io, global }) => (await import('./audit-public-key.js')).auditPublicKey(io, global),
  }),
];
