// The dependency direction of DESIGN.md, enforced: surfaces → broker, rotation → policy, audit, venues, secrets,
// state → config, errors. Also: only surfaces/ knows HTTP, MCP or argv, and cloud SDKs stay in their backend folder.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

const allowed: Record<string, readonly string[]> = {
  surfaces: [
    // cofre run's egress proxy shares the service proxy's SSRF address checks (services/blocked-addresses).
    'services',
    // The token-file rules are the client's (src/client/agent-token.ts), written once for both.
    'client/agent-token',
    'client/client-errors',
    'broker',
    'rotation',
    'policy',
    'audit',
    'venues',
    'secrets',
    // Issue 19: `cofre wallet list/create-key` and doctor's wallet check open signers.
    'wallets',
    'state',
    'config',
    'errors',
    'paper-exchange',
    'databases',
    'identity',
  ],
  broker: [
    'identity',
    'policy',
    'audit',
    'venues',
    'secrets',
    'state',
    'config',
    'errors',
    'services',
    'wallets',
    'encryption',
  ],
  // Issue 19: wallets (chains, signers, nonces) and encryption keys, below the broker that decides on them.
  wallets: ['policy', 'audit', 'secrets', 'state', 'config', 'errors', 'venues/decimal'],
  encryption: ['secrets', 'state', 'config', 'errors'],
  // Issue 17: how agents prove who they are (OAuth access tokens, exchanged and delegated session tokens). Below the
  // broker, which asks it for scopes and grants; it reaches up only for the agent-token checks and the action names.
  identity: [
    'broker/agent-tokens',
    'broker/actions',
    'policy',
    'audit',
    'state',
    'config',
    'errors',
    'venues/decimal',
  ],
  // Issue 15: the service proxy's sender; path globs are policy's (one glob for rules and a service's `paths`).
  services: ['policy/path-glob', 'secrets', 'config', 'errors'],
  rotation: ['policy', 'audit', 'venues', 'secrets', 'state', 'config', 'errors'],
  // Exact decimal arithmetic is a pure module of venues/ that policy compares amounts with.
  policy: ['secrets', 'state', 'config', 'errors', 'venues/decimal'],
  audit: ['secrets', 'config', 'errors'],
  // Least privilege (check-key-scope.ts) asks a pure function of the config whether any policy needs withdraw.
  venues: ['secrets', 'config', 'errors', 'policy/withdraw-needed'],
  state: ['config', 'errors'],
  secrets: ['config', 'errors'],
  // The reference grammar is a pure parser that config validates with; nothing else of secrets/ is allowed.
  config: ['errors', 'secrets/secret-reference'],
  testing: ['secrets', 'config', 'errors'],
  // The TypeScript client ships to agents: of the server it may load only the action schemas and descriptions and
  // the result schemas (what they import is checked below, by closure).
  client: ['broker/actions', 'broker/action-results'],
  errors: [],
  index: ['broker', 'secrets', 'config', 'errors', 'surfaces'],
  // A test peer (the stand-in for Binance): it shares no code with the broker it stands in front of.
  'paper-exchange': [],
  // Issue 15: the PostgreSQL wire messages and SCRAM of the database broker; its listener is in surfaces/database.
  databases: ['errors'],
};

/**
 * Packages only some folders may import: protocol and argv stay in surfaces/, cloud SDKs in their backend, and an
 * HTTP server only in surfaces/, the paper exchange and test servers under a `testdata/` folder.
 */
const confined: readonly [RegExp, readonly string[]][] = [
  [/^(fastify|@fastify\/)/, ['surfaces/http']],
  [/^@modelcontextprotocol\//, ['surfaces/']],
  [/^commander$/, ['surfaces/cli']],
  // Issue 19: AWS KMS signs for wallets and encrypts for the encryption keys.
  [/^@aws-sdk\//, ['secrets/aws-secrets-manager', 'wallets/', 'encryption/']],
  [/^@azure\//, ['secrets/azure-key-vault']],
  [/^ccxt$/, ['venues/']],
  // services/ is an HTTP *client* (the service proxy's sender, issue 15): node:http for a loopback `http:` service.
  [/^node:http$/, ['surfaces/', 'paper-exchange/', 'services/service-request.ts']],
  // The client's framework adapters are optional peers: each stays in its own entry point.
  [/^ai$/, ['client/ai-sdk.ts']],
  [/^@openai\/agents$/, ['client/openai-agents.ts']],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function part(file: string): string {
  const rel = relative(src, file);
  const first = rel.split('/')[0] ?? '';
  return first.replace(/\.ts$/, '');
}

function imports(file: string): { specifier: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const found: { specifier: string; typeOnly: boolean }[] = [];
  const pattern = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm;
  for (const m of text.matchAll(pattern)) {
    found.push({ specifier: m[3] ?? m[4] ?? '', typeOnly: m[2] !== undefined });
  }
  return found;
}

describe('layering', () => {
  const files = sourceFiles(src);

  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it('keeps every import pointing down the layers', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = part(file);
      const rules = allowed[from];
      if (rules === undefined) {
        violations.push(`${relative(src, file)}: part "${from}" is not in the layering table`);
        continue;
      }
      for (const { specifier, typeOnly } of imports(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = relative(src, resolve(dirname(file), specifier)).replace(/\.js$/, '');
        const to = target.split('/')[0] ?? '';
        if (to === from || typeOnly) continue;
        if (!rules.some((rule) => rule === to || target === rule || target.startsWith(`${rule}/`))) {
          violations.push(`${relative(src, file)} imports ${target}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('confines protocol, argv and cloud SDK packages to their folders', () => {
    const violations: string[] = [];
    for (const file of files) {
      const rel = relative(src, file);
      for (const { specifier } of imports(file)) {
        for (const [pattern, homes] of confined) {
          const home = homes.some((h) => rel.startsWith(h)) || rel.includes('/testdata/');
          if (pattern.test(specifier) && !home) violations.push(`${rel} imports ${specifier}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps the client free of the server: at run time it loads zod, node builtins and the action schemas only', () => {
    // The closure of run-time imports from src/client, through whatever broker/actions.ts and
    // broker/action-results.ts import: an agent installing cofre/client must not load fastify, ccxt, a cloud SDK or
    // the broker.
    const seen = new Set<string>();
    const packages = new Set<string>();
    const queue = files.filter((f) => part(f) === 'client');
    expect(queue.length).toBeGreaterThan(3);
    while (queue.length > 0) {
      const file = queue.pop() ?? '';
      if (seen.has(file)) continue;
      seen.add(file);
      for (const { specifier, typeOnly } of imports(file)) {
        if (typeOnly) continue;
        if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier).replace(/\.js$/, '.ts'));
        else packages.add(specifier);
      }
    }
    const server = [...seen]
      .map((f) => relative(src, f))
      .filter((f) => !f.startsWith('client/'))
      .sort();
    // Whatever the schemas import must stay as small as this; widen the list only for a pure module.
    for (const f of server)
      expect([
        'broker/actions.ts',
        'broker/action-results.ts',
        'venues/decimal.ts',
        'wallets/wallet-results.ts',
        'encryption/encryption-results.ts',
      ]).toContain(f);
    const optionalPeers = ['ai', '@openai/agents'];
    expect(
      [...packages].filter((p) => !p.startsWith('node:') && p !== 'zod' && !optionalPeers.includes(p)),
    ).toEqual([]);
  });
});
