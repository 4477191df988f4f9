// The README against the code: the CLI reference renders as one table listing every command, links stay inside the
// repository, and what it and the MCP instructions say about cancel_order matches the action's schema.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { actionInputSchemas } from '../../src/broker/actions.js';
import { COMMANDS } from '../../src/surfaces/cli/command-table.js';
import { MCP_INSTRUCTIONS } from '../../src/surfaces/mcp/mcp-server.js';

const repo = resolve(import.meta.dirname, '../..');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('README.md', () => {
  // Regression: half the CLI reference's rows sat after a paragraph, outside any table, and rendered as text.
  it('lists every command in one CLI reference table', () => {
    const lines = section('CLI reference').split('\n');
    const rows = lines.flatMap((line, i) => (line.startsWith('|') ? [i] : []));
    const first = rows[0] ?? -1;
    expect(rows).toEqual(rows.map((_, k) => first + k));
    expect(lines[first + 1]).toMatch(/^\| -+ \| -+ \|$/);
    const table = rows.map((i) => lines[i] ?? '').join('\n');
    for (const command of COMMANDS) {
      expect(table, `cofre ${command.path.join(' ')}`).toContain(`\`cofre ${command.path.join(' ')}`);
    }
  });

  // Regression: the README sent readers to DESIGN.md, which is not in the repository.
  it('links and refers only to files in the repository', () => {
    for (const [, target] of readme.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)) {
      if (target === undefined || /^[a-z]+:/.test(target)) continue;
      expect(existsSync(join(repo, target)), target).toBe(true);
    }
    for (const [name] of readme.matchAll(/\b[A-Z]+\.md\b/g)) {
      expect(existsSync(join(repo, name)), name).toBe(true);
    }
  });

  // Regression: README and MCP instructions said cancel_order needs a clientOrderId; it takes exactly one of
  // orderId and clientOrderId.
  it('describes cancel_order as its schema has it, and so do the MCP instructions', () => {
    const cancel = actionInputSchemas.cancel_order;
    expect(cancel.safeParse({ account: 'paper', symbol: 'BTC/USDT', orderId: '12' }).success).toBe(true);
    expect(
      cancel.safeParse({ account: 'paper', symbol: 'BTC/USDT', orderId: '12', clientOrderId: 'a-1' }).success,
    ).toBe(false);
    for (const text of [readme, MCP_INSTRUCTIONS]) {
      const sentences = text.replace(/\s+/g, ' ').split(/(?<=\.)\s/);
      const claims = sentences.filter(
        (s) => s.includes('cancel_order') && /\b(needs?|requires?)\b[^.]*clientOrderId/.test(s),
      );
      expect(claims).toEqual([]);
    }
  });

  // Regression: the docs called the append-only audit log tamper-evident and hash-chained, and said the state held
  // limits and approvals; none of that exists yet.
  it('says only what is true of the audit log and the state', () => {
    const configuration = readFileSync(join(repo, 'docs/configuration.md'), 'utf8');
    for (const text of [readme, configuration]) {
      expect(text).not.toMatch(/agents, limits, approvals|limits and approvals \(SQLite\)/);
    }
    // Issue 10 made the log hash-chained: the docs may say so, and must point at its format and at the verifier.
    expect(readme).toMatch(/docs\/audit\.md/);
    expect(readme).toMatch(/cofre audit verify/);
    expect(existsSync(join(repo, 'docs/audit.md'))).toBe(true);
  });
});
