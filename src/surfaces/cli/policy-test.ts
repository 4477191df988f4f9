import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import type { PolicyDecision } from '../../policy/policy-types.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { parseNow, policyEngineFor, whoFor } from './policy-engine-for.js';
import { parsePolicyAction, policyQuestionFrom } from './policy-question.js';

const caseSchema = z.strictObject({
  name: z.string().optional(),
  policy: z.string().optional(),
  agent: z.string().optional(),
  action: z.string(),
  input: z.unknown().optional(),
  /** ISO 8601; YAML may hand over a timestamp already parsed. */
  now: z.union([z.string(), z.date()]).optional(),
  expect: z.strictObject({
    decision: z.enum(['allow', 'deny', 'approval', 'confirm']),
    rule: z.string().optional(),
  }),
});
type PolicyTestCase = z.output<typeof caseSchema>;

const fileSchema = z.union([
  z.array(caseSchema).min(1),
  z.strictObject({ cases: z.array(caseSchema).min(1) }),
]);

/**
 * `cofre policy test <file>`: table-driven policy tests kept beside the config. Each case asks the config's policy
 * (by `policy:` or an agent's, from the state store) about `action` with `input`, judged as given at `now`, and
 * compares the decision and, when given, the rule. Prints PASS or FAIL per case; throws
 * `COFRE_POLICY_TEST_FAILED` (exit 1) when any case fails.
 */
export async function policyTest(io: CliIo, global: GlobalOptions, file: string): Promise<void> {
  const config = await loadCliConfig(io, global);
  const cases = await readCases(resolve(io.cwd, file));
  let failed = 0;
  for (const [index, c] of cases.entries()) {
    const label = c.name ?? `case ${index + 1}`;
    const outcome = await runCase(io, config, c);
    if (outcome.pass) {
      println(io.stdout, `PASS  ${label}`);
      continue;
    }
    failed += 1;
    println(io.stdout, `FAIL  ${label}: ${outcome.message}`);
  }
  println(io.stdout, `${cases.length - failed} passed, ${failed} failed`);
  if (failed > 0) {
    throw new CofreError(
      'COFRE_POLICY_TEST_FAILED',
      `${failed} of ${cases.length} policy test case(s) failed`,
    );
  }
}

async function runCase(
  io: CliIo,
  config: CofreConfig,
  c: PolicyTestCase,
): Promise<{ pass: boolean; message: string }> {
  let decision: PolicyDecision;
  try {
    const at = c.now instanceof Date ? c.now : parseNow(c.now);
    const question = policyQuestionFrom(
      config,
      await whoFor(io, config, { agent: c.agent, policy: c.policy }),
      parsePolicyAction(c.action),
      c.input,
    );
    decision = policyEngineFor(config, at).decide(question);
  } catch (err) {
    // A case that cannot be asked fails on its own line; the others still run.
    if (err instanceof CofreError) return { pass: false, message: err.message };
    throw err;
  }
  const ruleOk = c.expect.rule === undefined || c.expect.rule === decision.rule;
  if (decision.decision === c.expect.decision && ruleOk) return { pass: true, message: '' };
  const wanted = `${c.expect.decision}${c.expect.rule === undefined ? '' : ` by ${c.expect.rule}`}`;
  return {
    pass: false,
    message: `expected ${wanted}, got ${decision.decision} by ${decision.rule} (${decision.reason})`,
  };
}

async function readCases(path: string): Promise<readonly PolicyTestCase[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CofreError('COFRE_USAGE', `cannot read the policy test file ${path}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text) as unknown;
  } catch (err) {
    throw new CofreError('COFRE_USAGE', `${path} is not valid YAML: ${(err as Error).message}`);
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new CofreError(
      'COFRE_USAGE',
      `${path}: expected a list of cases { name?, policy | agent, action, input, now?, expect: { decision, rule? } }; ${problems.join('; ')}`,
    );
  }
  return Array.isArray(result.data) ? result.data : result.data.cases;
}
