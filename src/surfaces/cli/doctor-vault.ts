import { z } from 'zod';

import type { VaultBackendConfig } from '../../config/backend-config.js';
import type { DeepReadonly } from '../../config/deep-freeze.js';
import { isCofreError } from '../../errors.js';
import type { SecretBackend } from '../../secrets/secret-backend.js';
import type { DoctorFinding } from './doctor-checks.js';
import { daysBetween } from './doctor-dates.js';

// Only the fields doctor shows; `id` (the token itself) and `accessor` are never read.
const lookupSelfResponse = z.object({
  data: z.object({
    ttl: z.number(),
    expire_time: z.string().nullish(),
    renewable: z.boolean().nullish(),
    policies: z.array(z.string()).nullish(),
  }),
});

/** A static token (auth method `token`) expiring sooner than this is flagged: cofre cannot log in again for it. */
const TOKEN_WARN_SECONDS = 7 * 24 * 3600;

/**
 * The Vault/OpenBao side of `cofre doctor`'s backends check: the auth method and the token's TTL and expiry
 * (`auth/token/lookup-self`, which the `default` policy allows), plain http, and each dynamic-credential lease with
 * its end. `reachability` is the preflight's line for this backend.
 *
 * SECURITY: reads only the token's TTL, expiry, renewability and policies; the token, its accessor and lease ids
 * never reach a finding.
 */
export async function vaultDoctorFindings(
  name: string,
  config: DeepReadonly<VaultBackendConfig>,
  backend: SecretBackend,
  reachability: { readonly reachable: boolean; readonly line: string },
  now: Date,
): Promise<DoctorFinding[]> {
  // Loaded lazily like every backend implementation; already in memory, since this backend is open.
  const { VaultBackend } = await import('../../secrets/vault/vault-backend.js');
  if (!(backend instanceof VaultBackend)) return [];
  const session = backend.session;
  const where = `vault at ${session.client.address}, mount ${backend.mount} (KV v${backend.kvVersion})`;
  const findings: DoctorFinding[] = [];
  try {
    const answer = await session.withToken((token) =>
      session.client.request('GET', 'auth/token/lookup-self', {
        token,
        schema: lookupSelfResponse,
        subject: 'auth/token/lookup-self',
      }),
    );
    const data = answer.data;
    const ttl = data.ttl;
    const expiresAt =
      ttl === 0 ? null : (data.expire_time ?? new Date(now.getTime() + ttl * 1000).toISOString());
    const renewable = data.renewable ?? false;
    const tokenText =
      ttl === 0
        ? 'token never expires'
        : `token expires ${expiresAt ?? '?'} (TTL ${formatSeconds(ttl)}${renewable ? ', renewable' : ', not renewable'})`;
    const staticSoon = session.method === 'token' && ttl > 0 && ttl < TOKEN_WARN_SECONDS;
    findings.push({
      check: 'backends',
      subject: name,
      status: !reachability.reachable ? 'fail' : staticSoon ? 'warn' : 'ok',
      message: `${where}: auth ${session.method}, ${tokenText}; ${reachability.line}${staticSoon ? '; cofre cannot log in again with a static token: put a fresh token in auth.tokenFile before it expires, or use approle' : ''}`,
      details: {
        type: 'vault',
        reachable: reachability.reachable,
        authMethod: session.method,
        tokenTtlSeconds: ttl,
        tokenExpiresAt: expiresAt,
        tokenRenewable: renewable,
        policies: (data.policies ?? []).join(','),
      },
    });
  } catch (err) {
    if (!isCofreError(err)) throw err;
    findings.push({
      check: 'backends',
      subject: name,
      status: 'fail',
      message: `${where}: auth ${session.method}: ${err.code}: ${err.message}`,
      details: { type: 'vault', reachable: false, authMethod: session.method, code: err.code },
    });
  }
  if (config.insecureHttp && session.client.address.startsWith('http:')) {
    findings.push({
      check: 'backends',
      subject: name,
      status: 'warn',
      message: `insecureHttp: true: the token, login secrets and every secret cross the network in clear to ${session.client.address}; use https`,
    });
  }
  findings.push(...leaseFindings(name, backend.leases?.leases() ?? [], now));
  return findings;
}

function leaseFindings(
  name: string,
  leases: readonly { path: string; createdAt: Date; endsAt: Date; renewable: boolean; live: boolean }[],
  now: Date,
): DoctorFinding[] {
  return leases.map((lease) => {
    const left = Math.round((lease.endsAt.getTime() - now.getTime()) / 1000);
    const ended = left <= 0;
    return {
      check: 'backends',
      subject: `${name}:${lease.path}`,
      status: !lease.live || ended ? 'warn' : 'ok',
      message: `dynamic credentials, lease ends ${lease.endsAt.toISOString()} (${ended ? 'ended' : `in ${formatSeconds(left)}`}${lease.renewable ? ', renewable' : ', not renewable: replaced before it ends'})${lease.live ? '' : '; given up: no longer handed out'}`,
      details: {
        type: 'vault-lease',
        issuedAt: lease.createdAt.toISOString(),
        endsAt: lease.endsAt.toISOString(),
        ageDays: daysBetween(lease.createdAt, now),
        renewable: lease.renewable,
        live: lease.live,
      },
    };
  });
}

/** `45s`, `60m`, `2h`, `30d`: the unit that gives a short, readable number. */
export function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${seconds}s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)}m`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
