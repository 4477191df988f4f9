import type { DoctorFinding, DoctorStatus } from './doctor-checks.js';

/** The checks in the order they are printed; a check not listed here comes after them, in the order found. */
const CHECK_ORDER = [
  'config',
  'references',
  'backends',
  'key-scope',
  'credential-age',
  'audit',
  'state',
  'clock',
  'hardening',
];

/** Counts of findings by status, and the worst. */
export interface DoctorSummary {
  readonly ok: number;
  readonly warn: number;
  readonly fail: number;
  /** `fail` when any finding fails, else `warn` when any warns, else `ok`. */
  readonly status: DoctorStatus;
}

/** What `cofre doctor --json` prints: stable field names, for monitoring. */
export interface DoctorJson {
  readonly config: string;
  readonly checkedAt: string;
  readonly summary: DoctorSummary;
  readonly findings: readonly {
    readonly check: string;
    readonly subject: string;
    readonly status: DoctorStatus;
    readonly message: string;
    readonly details: Readonly<Record<string, string | number | boolean | null>>;
  }[];
}

/** Counts findings by status. */
export function summarise(findings: readonly DoctorFinding[]): DoctorSummary {
  const count = (s: DoctorStatus): number => findings.filter((f) => f.status === s).length;
  const [ok, warn, fail] = [count('ok'), count('warn'), count('fail')];
  return { ok, warn, fail, status: fail > 0 ? 'fail' : warn > 0 ? 'warn' : 'ok' };
}

/** Findings grouped by check, in {@link CHECK_ORDER}; within a check, in the order found. */
export function ordered(findings: readonly DoctorFinding[]): DoctorFinding[] {
  const rank = (check: string): number => {
    const i = CHECK_ORDER.indexOf(check);
    return i === -1 ? CHECK_ORDER.length : i;
  };
  const firstSeen = [...new Set(findings.map((f) => f.check))];
  return [...findings].sort(
    (a, b) => rank(a.check) - rank(b.check) || firstSeen.indexOf(a.check) - firstSeen.indexOf(b.check),
  );
}

const LABEL: Readonly<Record<DoctorStatus, string>> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

/** The report for a person: a heading per check, one line per finding, then the summary line. */
export function doctorText(configPath: string, findings: readonly DoctorFinding[]): string[] {
  const lines = [`cofre doctor: ${configPath}`];
  let check: string | undefined;
  for (const f of ordered(findings)) {
    if (f.check !== check) {
      check = f.check;
      lines.push('', f.check);
    }
    // A multi-line message (the config loader's list of problems) stays under its finding.
    lines.push(`  ${LABEL[f.status]}  ${f.subject}: ${f.message.replaceAll('\n', '\n          ')}`);
  }
  lines.push('', summaryLine(summarise(findings)));
  return lines;
}

/** `2 failed, 1 warning, 14 ok: NOT ready …`. */
export function summaryLine(s: DoctorSummary): string {
  const verdict =
    s.fail > 0 ? 'NOT ready to go live: fix every FAIL' : s.warn > 0 ? 'ready, but read every WARN' : 'ready';
  return `summary: ${s.fail} failed, ${s.warn} warning(s), ${s.ok} ok: ${verdict}`;
}

/** The `--json` report. */
export function doctorJson(configPath: string, now: Date, findings: readonly DoctorFinding[]): DoctorJson {
  return {
    config: configPath,
    checkedAt: now.toISOString(),
    summary: summarise(findings),
    findings: ordered(findings).map((f) => ({
      check: f.check,
      subject: f.subject,
      status: f.status,
      message: f.message,
      details: f.details ?? {},
    })),
  };
}
