import { pino } from 'pino';

import { openEncryption } from '../../encryption/encryption-service.js';
import { isCofreError } from '../../errors.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';

/**
 * Issue 19, `cofre doctor`'s encryption check: each key of `encryptionKeys:` is reached and found fit to bind the
 * agent and purpose — a Transit key exists and was created with `derived=true`; a KMS key is an enabled
 * `SYMMETRIC_DEFAULT` / `ENCRYPT_DECRYPT` key the credential chain may describe; an embedded key's secret reads as
 * 32 bytes. Nothing is encrypted.
 *
 * SECURITY: an embedded key is read through the resolver and zeroed at once; findings carry the key's name, kind
 * and the error's code and message (which name references, never values).
 */
export const encryptionDoctorCheck: DoctorCheck = async (ctx) => {
  const service = openEncryption(ctx.config, {
    resolver: ctx.resolver,
    secrets: { read: (reference) => ctx.resolver.resolve(reference) },
    logger: pino({ level: 'silent' }),
  });
  if (service === undefined) return [];
  const findings: DoctorFinding[] = [];
  try {
    for (const name of service.names) {
      const type = ctx.config.encryptionKeys[name]?.type ?? '?';
      try {
        const line = await service.check(name);
        findings.push({ check: 'encryption', subject: name, status: 'ok', message: line, details: { type } });
      } catch (err) {
        if (!isCofreError(err)) throw err;
        findings.push({
          check: 'encryption',
          subject: name,
          status: 'fail',
          message: err.message,
          details: { type, code: err.code },
        });
      }
    }
  } finally {
    await service.close();
  }
  return findings;
};
