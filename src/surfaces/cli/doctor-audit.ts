import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';

import { verifyAuditLog } from '../../audit/verify-chain.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';

// Verifier warnings doctor does not repeat: doctor pins no key, so the genesis key is always the one used.
const EXPECTED_WARNINGS = new Set(['key-not-pinned']);

/**
 * `cofre doctor`'s audit check: cofre can write its audit log (the folder, or the nearest one it would create it
 * in, and the file), and the log verifies — the same verifier as `cofre audit verify` (chain, checkpoints, the
 * config's file witnesses). The file's mode is the hardening check's. No log yet is fine: the first start writes
 * its genesis.
 */
export const auditDoctorCheck: DoctorCheck = async (ctx) => {
  const path = ctx.config.audit.path;
  const findings: DoctorFinding[] = [];
  const folder = nearestExisting(dirname(path));
  const exists = existsSync(path);
  const problem = (await notWritable(folder)) ?? (exists ? await notWritable(path) : undefined);
  if (problem !== undefined) {
    findings.push({
      check: 'audit',
      subject: path,
      status: 'fail',
      message: `not writable by this user (${problem}): cofre refuses every request it cannot audit; fix the owner or mode of ${exists ? path : folder}`,
      details: { writable: false },
    });
  } else if (!exists) {
    findings.push({
      check: 'audit',
      subject: path,
      status: 'ok',
      message: `no audit log yet; the first start creates it (${folder} is writable)`,
      details: { writable: true, exists: false },
    });
    return findings;
  }
  if (!exists) return findings;
  findings.push(await verification(ctx.config.audit, path));
  return findings;
};

async function verification(
  audit: { readonly checkpoint: { readonly every: number }; readonly witnesses: readonly { type: string }[] },
  path: string,
): Promise<DoctorFinding> {
  const witnesses = audit.witnesses.flatMap((w) =>
    'path' in w && typeof w.path === 'string' && existsSync(w.path) ? [w.path] : [],
  );
  const report = await verifyAuditLog({
    path,
    witnesses,
    // As `cofre audit verify`: the writer checkpoints after the group commit that reaches `every`.
    maxRecordsBetweenCheckpoints: audit.checkpoint.every * 2,
  });
  const warnings = report.findings.filter((f) => f.severity === 'warning' && !EXPECTED_WARNINGS.has(f.code));
  const firstError = report.findings.find((f) => f.severity === 'error');
  const details = {
    verified: report.verdict === 'verified',
    records: report.records,
    files: report.files,
    errors: report.errors,
    warnings: warnings.length,
    checkpointsVerified: report.checkpoints.verified,
    uncoveredRecords: report.uncoveredRecords,
  };
  if (report.verdict !== 'verified') {
    const where =
      firstError === undefined
        ? ''
        : ` first: ${firstError.code}${firstError.line === undefined ? '' : ` at ${firstError.file ?? ''} line ${firstError.line}`}: ${firstError.message};`;
    return {
      check: 'audit',
      subject: path,
      status: 'fail',
      message: `does NOT verify: ${report.errors} error(s);${where} \`cofre audit verify\` lists them all`,
      details,
    };
  }
  const text = `verifies: ${report.records} records in ${report.files} file(s), ${report.checkpoints.verified} signed checkpoint(s)`;
  if (warnings.length === 0) return { check: 'audit', subject: path, status: 'ok', message: text, details };
  const codes = [...new Set(warnings.map((w) => w.code))].join(', ');
  return {
    check: 'audit',
    subject: path,
    status: 'warn',
    message: `${text}, with ${warnings.length} warning(s) (${codes}); \`cofre audit verify\` says what each means`,
    details,
  };
}

function nearestExisting(folder: string): string {
  let at = folder;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

async function notWritable(path: string): Promise<string | undefined> {
  try {
    await access(path, constants.W_OK);
    return undefined;
  } catch (err) {
    return `${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}
