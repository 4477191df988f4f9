import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import type { ConfigIssue } from './config-issues.js';
import { loadConfig, parseConfig, validateConfig } from './load-config.js';

const DEFAULT_CONNECTIONS = {
  max: 1024,
  maxPerIp: 64,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  idleTimeout: 60_000,
  maxRequestsPerSocket: 1000,
};
const DEFAULT_QUOTAS = {
  requestsPerSecond: 10,
  burst: 20,
  concurrency: 8,
  deniedPerMinute: 30,
  deniedBurst: 10,
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-config-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function configError(run: () => unknown): CofreError {
  try {
    run();
  } catch (err) {
    if (err instanceof CofreError) return err;
    throw err;
  }
  throw new Error('expected a CofreError');
}

function issuesOf(err: CofreError): ConfigIssue[] {
  return err.details?.['issues'] as ConfigIssue[];
}

const FULL = `backends:
  local:
    type: embedded
    path: ./store.enc
    keyFile: keys/cofre.key
    cache:
      ttl: 10m
      staleIfError: 30
  team:
    type: embedded
    path: /srv/cofre/team.enc
    passphrasePrompt: true
    kdf: { N: 131072, r: 8, p: 1 }
accounts:
  binance-main:
    venue: binance
    mode: live
    credentials:
      apiKey: local:exchanges/binance#apiKey
      secret: local:exchanges/binance#secret
  paper:
    venue: binance
    mode: paper
    baseUrl: http://127.0.0.1:8788
    credentials:
      apiKey: team:exchanges/paper#apiKey
      secret: team:exchanges/paper#secret@stage=current
      password: local:exchanges/paper#password@3
agents:
  tokenTtl: 7d
policies:
  read-only:
    accounts: [binance-main, paper]
    actions: [get_balance, get_ticker]
audit:
  path: audit/log.jsonl
server:
  host: 0.0.0.0
  port: 9000
  bodyLimit: 1mb
  workers: auto
state:
  path: /var/lib/cofre/state.db
`;

describe('loadConfig', () => {
  // Regression: a relative file witness was opened against the working directory, not the config's folder.
  it('resolves a relative audit witness file against the config file, like the log itself', () => {
    const config = parseConfig(
      'audit: { path: logs/audit.jsonl, witnesses: [{ type: file, path: ../witness/cp.jsonl }, { type: stdout }] }',
      { sourcePath: '/etc/cofre/cofre.yaml' },
    );
    expect(config.audit.path).toBe('/etc/cofre/logs/audit.jsonl');
    expect(config.audit.witnesses).toEqual([
      { type: 'file', path: '/etc/witness/cp.jsonl' },
      { type: 'stdout' },
    ]);
  });

  it('loads a full config, parses durations and sizes, and resolves relative paths against the file', async () => {
    const path = join(dir, 'full.yaml');
    await writeFile(path, FULL);
    const config = await loadConfig(path);

    expect(config.backends['local']).toEqual({
      type: 'embedded',
      path: join(dir, 'store.enc'),
      keyFile: join(dir, 'keys/cofre.key'),
      cache: { ttl: 600_000, staleIfError: 30_000 },
    });
    expect(config.backends['team']).toEqual({
      type: 'embedded',
      path: '/srv/cofre/team.enc',
      passphrasePrompt: true,
      kdf: { N: 131072, r: 8, p: 1 },
      cache: { ttl: 300_000, staleIfError: 60_000 },
    });
    expect(config.accounts['paper']?.credentials.secret).toBe('team:exchanges/paper#secret@stage=current');
    expect(config.accounts['paper']?.baseUrl).toBe('http://127.0.0.1:8788');
    expect(config.agents.tokenTtl).toBe(7 * 86_400_000);
    expect(config.policies['read-only']).toEqual({
      accounts: ['binance-main', 'paper'],
      actions: ['get_balance', 'get_ticker'],
    });
    expect(config.audit.path).toBe(join(dir, 'audit/log.jsonl'));
    expect(config.server).toEqual({
      host: '0.0.0.0',
      port: 9000,
      bodyLimit: 1024 * 1024,
      connections: DEFAULT_CONNECTIONS,
      workers: 'auto',
    });
    expect(config.state).toMatchObject({ path: '/var/lib/cofre/state.db' });
  });

  it('returns a deeply frozen config', async () => {
    const path = join(dir, 'frozen.yaml');
    await writeFile(path, FULL);
    const config = await loadConfig(path);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.backends['local']?.cache)).toBe(true);
    expect(Object.isFrozen(config.policies['read-only']?.accounts)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('reports a missing file with its path', async () => {
    const path = join(dir, 'nope', 'cofre.yaml');
    const err = await loadConfig(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofreError);
    expect((err as CofreError).code).toBe('COFRE_CONFIG_NOT_FOUND');
    expect((err as CofreError).message).toContain(path);
    expect((err as CofreError).details).toEqual({ path });
  });

  it('reports a directory as unreadable', async () => {
    const path = join(dir, 'a-directory');
    await mkdir(path);
    await expect(loadConfig(path)).rejects.toMatchObject({ code: 'COFRE_CONFIG_UNREADABLE' });
  });
});

describe('parseConfig defaults', () => {
  it('fills every section from an empty file', () => {
    const config = parseConfig('', { sourcePath: '/etc/cofre/cofre.yaml' });
    expect(config).toEqual({
      backends: {},
      accounts: {},
      agents: {
        tokenTtl: 30 * 86_400_000,
        quotas: DEFAULT_QUOTAS,
        requestDeadline: 20_000,
        oauth: [],
        exchange: [],
        delegation: { maxDepth: 3, maxTtl: 3_600_000 },
      },
      orders: { referencePriceMaxAge: 1_000 },
      addressBook: {},
      policies: {},
      audit: {
        path: '/etc/cofre/cofre-audit.jsonl',
        checkpoint: { every: 1000, interval: 60_000 },
        witnesses: [],
        rotate: { maxSize: 64 * 1024 ** 2, keep: 100 },
      },
      server: {
        host: '127.0.0.1',
        port: 8787,
        bodyLimit: 65_536,
        connections: DEFAULT_CONNECTIONS,
        workers: 1,
      },
      state: {
        type: 'sqlite',
        path: '/etc/cofre/cofre-state.db',
        retention: { requests: 30 * 24 * 3_600_000 },
      },
      approvals: { expiry: 900_000 },
      rotation: { maxAge: 90 * 24 * 3_600_000, pollInterval: 30_000 },
      services: {},
      databases: {},
      chains: {},
      wallets: {},
      encryptionKeys: {},
    });
  });

  it('fills the cache block of a backend', () => {
    const config = parseConfig('backends:\n  local: { type: embedded, path: s.enc, keyFile: k }\n', {
      sourcePath: '/x/cofre.yaml',
    });
    expect(config.backends['local']?.cache).toEqual({ ttl: 300_000, staleIfError: 60_000 });
  });

  it('takes a refresh-ahead window shorter than the TTL, or 0, and refuses one as long as the TTL', () => {
    const parse = (cache: string) =>
      parseConfig(`backends:\n  local: { type: embedded, path: s.enc, keyFile: k, cache: ${cache} }\n`, {
        sourcePath: '/x/cofre.yaml',
      });
    expect(parse('{ ttl: 5m, refreshAhead: 30s }').backends['local']?.cache.refreshAhead).toBe(30_000);
    expect(parse('{ ttl: 5m, refreshAhead: 0 }').backends['local']?.cache.refreshAhead).toBe(0);
    expect(() => parse('{ ttl: 1m, refreshAhead: 60s }')).toThrow(
      /backends\.local\.cache\.refreshAhead: refreshAhead must be shorter than ttl; lower it, or set 0/,
    );
  });

  it('takes a reference-price age up to 60s, and refuses a longer one with its path', () => {
    const config = parseConfig('orders: { referencePriceMaxAge: 250ms }\n', { sourcePath: '/x/cofre.yaml' });
    expect(config.orders.referencePriceMaxAge).toBe(250);
    expect(() =>
      parseConfig('orders: { referencePriceMaxAge: 2m }\n', { sourcePath: '/x/cofre.yaml' }),
    ).toThrow(/orders\.referencePriceMaxAge.*at most 60s/s);
  });
});

// Line numbers matter in this fixture: the test names them.
const BROKEN = `backends:
  local:
    type: embedded
    path: ./store.enc
    keyFile: ./k
    passphraseFile: ./p
    cache:
      ttl: 5 minutes
      stale: 1m
accounts:
  main:
    venue: binance
    mode: live
    baseUrl: https://elsewhere.example
    credentials:
      apiKey: local:exchanges/binance@3#apiKey
      secret: AKIAIOSFODNN7EXAMPLE
      password: vault:exchanges/binance#password
server:
  port: "eighty"
policies:
  p1:
    accounts: [main, ghost]
    actions: [get_balance, fly]
logging: debug
`;

function columnOf(text: string, line: number, needle: string): number {
  const index = (text.split('\n')[line - 1] ?? '').indexOf(needle);
  if (index < 0) throw new Error(`"${needle}" is not on line ${line}`);
  return index + 1;
}

describe('parseConfig problems', () => {
  const err = configError(() => parseConfig(BROKEN, { sourcePath: 'cofre.yaml' }));
  const issues = issuesOf(err);
  const find = (path: string): ConfigIssue => {
    const issue = issues.find((i) => i.path.join('.') === path);
    if (!issue) throw new Error(`no issue at ${path}; got ${issues.map((i) => i.path.join('.')).join(', ')}`);
    return issue;
  };

  it('throws one COFRE_CONFIG_INVALID listing every problem, one line each, in file order', () => {
    expect(err.code).toBe('COFRE_CONFIG_INVALID');
    expect(issues).toHaveLength(11);
    const lines = err.message.split('\n').filter((l) => l.startsWith('cofre.yaml:'));
    expect(lines).toHaveLength(11);
    expect(issues.map((i) => i.line)).toEqual([...issues.map((i) => i.line ?? 0)].sort((a, b) => a - b));
    expect(err.message).toContain('cofre.yaml:25:1 logging: unknown key "logging" (hint: allowed keys: ');
  });

  it.each([
    ['backends.local', 2, 'local', /exactly one key source, found keyFile and passphraseFile/],
    ['backends.local.cache.ttl', 8, '5 minutes', /invalid duration; expected a duration like "30s"/],
    ['backends.local.cache.stale', 9, 'stale', /unknown key "stale"/],
    ['accounts.main.baseUrl', 14, 'https', /only allowed when mode is paper/],
    ['accounts.main.credentials.apiKey', 16, '#', /"#field" comes before "@version"/],
    ['accounts.main.credentials.secret', 17, 'AKIA', /looks like a literal credential/],
    ['accounts.main.credentials.password', 18, 'vault:', /backend "vault" is not configured/],
    ['server.port', 20, '"eighty"', /expected number, got string/],
    ['policies.p1.accounts.1', 23, 'ghost', /account "ghost" is not configured/],
    ['policies.p1.actions.1', 24, 'fly', /expected one of "list_accounts"/],
    ['logging', 25, 'logging', /unknown key "logging"/],
  ])('%s: line %i', (path, line, at, message) => {
    const issue = find(path);
    expect(issue.message).toMatch(message);
    expect(issue.line).toBe(line);
    expect(issue.column).toBe(columnOf(BROKEN, line, at));
  });

  it('gives hints and codes', () => {
    expect(find('backends.local.cache.stale').hint).toBe('allowed keys: ttl, staleIfError, refreshAhead');
    expect(find('accounts.main.credentials.password')).toMatchObject({
      code: 'COFRE_BACKEND_UNKNOWN',
      hint: 'configured backends: local',
    });
    expect(find('accounts.main.credentials.apiKey').code).toBe('COFRE_REFERENCE_INVALID');
    expect(find('accounts.main.credentials.secret').code).toBe('COFRE_CONFIG_LITERAL_SECRET');
    expect(find('policies.p1.accounts.1').hint).toBe('configured accounts: main');
  });

  it('formats lines as <file>:<line>:<col> <path>: <message> (hint: ...)', () => {
    expect(err.message).toContain(
      'cofre.yaml:18:17 accounts.main.credentials.password: backend "vault" is not configured (hint: configured backends: local)',
    );
    expect(err.message).toContain(
      'cofre.yaml:23:22 policies.p1.accounts[1]: account "ghost" is not configured',
    );
    // The reference parser's caret stays under its issue, indented.
    expect(err.message).toMatch(
      /cofre\.yaml:16:40 accounts\.main\.credentials\.apiKey: secret reference unexpected "#"; "#field" comes before "@version" \(column 26\) \(hint: .*\)\n {6}local:exchanges\/binance@3#apiKey\n {6} {25}\^\n/,
    );
  });

  it('suggests the nearest key for a typo', () => {
    const typo = configError(() => parseConfig('serve:\n  port: 1\n', { sourcePath: 'c.yaml' }));
    expect(typo.message).toContain('c.yaml:1:1 serve: unknown key "serve" (hint: did you mean "server"?)');
  });

  it('reports a missing required key at its parent and an unknown backend type', () => {
    const e = configError(() =>
      parseConfig('backends:\n  a:\n    type: embedded\n    keyFile: k\n  b:\n    type: keepass\n', {
        sourcePath: 'c.yaml',
      }),
    );
    expect(e.message).toContain('c.yaml:2:3 backends.a.path: is required');
    expect(e.message).toContain('c.yaml:6:11 backends.b.type: unknown value; expected one of "embedded"');
  });

  // zod skips refinements after an explicit abort: the cross-checks must still run when a transform fails.
  it('runs the cross-checks when other fields fail', () => {
    const text = `backends:
  b:
    type: embedded
    path: y
    kdf: { N: 1000, r: 8, p: 1 }
    cache: { ttl: 99999999999999999999d }
accounts:
  x:
    venue: binance
    mode: live
    credentials: { apiKey: "nope:a#b", secret: "b:x" }
agents: { tokenTtl: 10s }
server: { bodyLimit: 10 }
policies:
  p: { accounts: [y], actions: [get_balance] }
`;
    const e = configError(() => parseConfig(text, { sourcePath: 'c.yaml' }));
    expect(issuesOf(e).map((i) => `${i.line}:${i.column} ${i.path.join('.')}`)).toEqual([
      '2:3 backends.b',
      '5:15 backends.b.kdf.N',
      '6:19 backends.b.cache.ttl',
      '11:28 accounts.x.credentials.apiKey',
      '12:21 agents.tokenTtl',
      '13:22 server.bodyLimit',
      '15:19 policies.p.accounts.0',
    ]);
  });

  // Issue 9 implements get_limits, cancel_all_orders and withdraw: only get_request stays refused.
  it('accepts every action but get_request, which it refuses at its place', () => {
    const text = `accounts:
  a:
    venue: binance
    mode: paper
    credentials: { apiKey: 'local:k#a', secret: 'local:k#s' }
backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
policies:
  p:
    accounts: [a]
    actions: [get_balance, get_limits, cancel_all_orders, withdraw, get_request]
`;
    const problems = issuesOf(configError(() => parseConfig(text, { sourcePath: 'c.yaml' })));
    expect(problems.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'policies.p.actions.4',
        'get_request is not a policy action: every agent may read its own requests, and only those',
      ],
    ]);
  });

  it('accepts `*` for every configured account in a policy', () => {
    const config = parseConfig(
      `backends:\n  local: { type: embedded, path: s.enc, keyFile: s.key }\naccounts:\n  a: { venue: binance, mode: paper, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }\npolicies:\n  p: { accounts: ['*'], actions: [get_balance] }\n`,
      { sourcePath: 'c.yaml' },
    );
    expect(config.policies['p']?.accounts).toEqual(['*']);
  });

  it('reports a bad name at the key', () => {
    const e = configError(() => parseConfig('accounts:\n  Main Account: {}\n', { sourcePath: 'c.yaml' }));
    expect(e.message).toContain('c.yaml:2:3 accounts["Main Account"]: invalid account name');
  });
});

describe('SECURITY: literal credentials never appear in errors', () => {
  const literals = [
    'sk_live_51HqLyjWDarjtT1zdp7dcXyz',
    'AKIAIOSFODNN7EXAMPLE',
    'hvs.CAESIJk3lqFbrpKXqsd7pUtFwBRN',
    'kX9vQ2mZ7pL4wR8tY1uN6bE3cH5jD0gF',
  ];

  it.each(literals)('%s', (literal) => {
    const text = `backends:\n  local: { type: embedded, path: s, keyFile: k }\naccounts:\n  a:\n    venue: binance\n    mode: live\n    credentials:\n      apiKey: "${literal}"\n      secret: local:x#secret\n`;
    const err = configError(() => parseConfig(text, { sourcePath: 'c.yaml' }));
    const [issue] = issuesOf(err);
    expect(issue).toMatchObject({ path: ['accounts', 'a', 'credentials', 'apiKey'], line: 8 });
    expect(err.message).toContain('looks like a literal credential; the config holds secret references only');
    expect(err.message).toContain('cofre secret put <name>');
    expect(err.message).toContain('<backend>:<name>#<field>');
    const everything = `${err.message}\n${JSON.stringify(err.details)}\n${String(err.stack)}`;
    expect(everything).not.toContain(literal);
    expect(everything).not.toContain(literal.slice(4, 16));
    expect(err.cause).toBeUndefined();
  });

  it('does not echo a literal used as a key', () => {
    const literal = 'kX9vQ2mZ7pL4wR8tY1uN6bE3cH5jD0gF';
    const err = configError(() => parseConfig(`server:\n  ${literal}: 1\n`, { sourcePath: 'c.yaml' }));
    expect(err.message).not.toContain(literal);
    expect(JSON.stringify(err.details)).toContain('not shown');
  });

  it('does not quote the source line of a YAML syntax error', () => {
    const literal = 'sk_live_51HqLyjWDarjtT1zdp7dcXyz';
    const err = configError(() =>
      parseConfig(`accounts:\n  a:\n    credentials:\n      apiKey: "${literal}\n`, { sourcePath: 'c.yaml' }),
    );
    expect(`${err.message}${JSON.stringify(err.details)}`).not.toContain(literal);
  });
});

describe('YAML problems', () => {
  it('reports a syntax error with line and column', () => {
    const err = configError(() =>
      parseConfig('server:\n  port: 1\n  host: [unclosed\n', { sourcePath: 'c.yaml' }),
    );
    expect(err.code).toBe('COFRE_CONFIG_INVALID');
    const [issue] = issuesOf(err);
    expect(issue?.line).toBeGreaterThanOrEqual(3);
    expect(issue?.column).toBeGreaterThanOrEqual(1);
    expect(err.message).toMatch(/^c\.yaml:\d+:\d+ YAML: /m);
  });

  it('reports a duplicate key at the second occurrence', () => {
    const err = configError(() => parseConfig('server:\n  port: 1\n  port: 2\n', { sourcePath: 'c.yaml' }));
    expect(err.message).toContain('c.yaml:3:3 duplicate key');
    expect(issuesOf(err)).toEqual([
      { path: [], message: expect.stringContaining('duplicate key'), line: 3, column: 3 },
    ]);
  });

  it('rejects several documents in one file', () => {
    const err = configError(() => parseConfig('server: {}\n---\nstate: {}\n', { sourcePath: 'c.yaml' }));
    expect(err.message).toContain('more than one YAML document');
  });

  it('rejects a file that is not a mapping', () => {
    const err = configError(() => parseConfig('- a\n- b\n', { sourcePath: 'c.yaml' }));
    expect(err.message).toContain('c.yaml:1:1 expected mapping, got list');
  });

  it('refuses an alias bomb', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${`*${'abcdefgh'[i]}, `.repeat(10).slice(0, -2)}]`),
    ].join('\n');
    const err = configError(() => parseConfig(bomb, { sourcePath: 'c.yaml' }));
    expect(err.message).toContain('c.yaml:1:1 too many YAML aliases');
  });
});

describe('validateConfig', () => {
  it('validates an object without line numbers, resolving paths against baseDir', () => {
    const config = validateConfig(
      { backends: { local: { type: 'embedded', path: 'store.enc', keyFile: '/k' } } },
      { baseDir: '/srv/cofre' },
    );
    expect(config.backends['local']).toMatchObject({ path: '/srv/cofre/store.enc', keyFile: '/k' });

    const err = configError(() => validateConfig({ server: { port: 70_000 } }));
    expect(issuesOf(err)).toEqual([{ path: ['server', 'port'], message: expect.any(String) }]);
    expect(err.message).toContain('<config> server.port: ');
  });

  it('takes server.workers as a count of at least 1 or auto', () => {
    expect(validateConfig({ server: { workers: 4 } }).server.workers).toBe(4);
    for (const workers of [0, 1.5, 257, 'all']) {
      const err = configError(() => validateConfig({ server: { workers } }));
      expect(issuesOf(err).map((i) => i.path)).toEqual([['server', 'workers']]);
    }
  });
});
