import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { CofreConfig } from '../../config/config-schema.js';
import { DEFAULT_BUNDLE_DIR } from '../http/console/console-bundle.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';

/**
 * `cofre doctor`'s console check (issue 18), when `server.console` is set: where operators open it, whether the
 * page is built (without `dist/console`, `cofre serve` answers 503 there), and whether its TLS certificate and key
 * exist. The key's mode is the hardening check's (`privateFilesOf`). No findings without a console.
 */
export const consoleDoctorCheck: DoctorCheck = (ctx) =>
  Promise.resolve(consoleFindings(ctx.config, DEFAULT_BUNDLE_DIR));

/** The findings of {@link consoleDoctorCheck} for a bundle folder (tests pass one). Pure but for `existsSync`. */
export function consoleFindings(config: CofreConfig, bundleDir: string): DoctorFinding[] {
  const console = config.server.console;
  if (console === undefined) return [];
  const listening = `${console.tls === undefined ? 'http' : 'https'}://${console.host}:${console.port}`;
  const url = console.publicUrl ?? listening;
  const findings: DoctorFinding[] = [];
  const built = existsSync(join(bundleDir, 'index.html'));
  findings.push(
    built
      ? {
          check: 'console',
          subject: 'server.console',
          status: 'ok',
          message: `served at ${url}; operators log in with a token from \`cofre operator add\``,
          details: { url, listening },
        }
      : {
          check: 'console',
          subject: 'server.console',
          status: 'warn',
          message: `the console page is not built (${bundleDir} is missing): ${url} will answer 503; run \`npm run build\``,
          details: { url, listening, bundleDir },
        },
  );
  for (const [field, path] of Object.entries(console.tls ?? {})) {
    if (existsSync(path)) continue;
    findings.push({
      check: 'console',
      subject: `server.console.tls.${field}`,
      status: 'fail',
      message: `${path} does not exist; \`cofre serve\` will not start the console without it`,
      details: { path },
    });
  }
  return findings;
}
