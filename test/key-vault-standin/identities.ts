/**
 * The tenant's identities and their role on the vault: the system-assigned managed identity, user-assigned
 * managed identities, service principals (client secret or certificate) and federated (workload identity) apps.
 * Client ids are random UUIDs, as Entra's are.
 */
import { createHash, type KeyObject, randomUUID, X509Certificate } from 'node:crypto';

/** Key Vault RBAC built-in roles the stand-in enforces (see index.ts `StandInRole`). */
export type Role = 'secrets-user' | 'secrets-officer' | 'none';

export interface CertificateCredential {
  readonly publicKey: KeyObject;
  /** base64url SHA-1 thumbprint (the `x5t` header of an assertion). */
  readonly x5t: string;
  /** base64url SHA-256 thumbprint (`x5t#S256`). */
  readonly x5tS256: string;
}

export type IdentityKind = 'system-assigned' | 'user-assigned' | 'service-principal' | 'workload';

export interface Identity {
  readonly clientId: string;
  readonly kind: IdentityKind;
  role: Role;
  readonly secret?: string;
  readonly certificate?: CertificateCredential;
  /** Subject a federated token must carry (workload identity). */
  readonly federatedSubject?: string;
}

export class IdentityRegistry {
  private readonly byClientId = new Map<string, Identity>();
  readonly systemAssigned: Identity;

  constructor() {
    this.systemAssigned = this.add({
      clientId: randomUUID(),
      kind: 'system-assigned',
      role: 'secrets-officer',
    });
  }

  private add(identity: Identity): Identity {
    this.byClientId.set(identity.clientId, identity);
    return identity;
  }

  get(clientId: string): Identity | undefined {
    return this.byClientId.get(clientId.toLowerCase());
  }

  addUserAssigned(role: Role): Identity {
    return this.add({ clientId: randomUUID(), kind: 'user-assigned', role });
  }

  addServicePrincipal(credential: { secret: string } | { certificatePem: string }, role: Role): Identity {
    const clientId = randomUUID();
    if ('secret' in credential)
      return this.add({ clientId, kind: 'service-principal', role, secret: credential.secret });
    return this.add({
      clientId,
      kind: 'service-principal',
      role,
      certificate: certificateCredential(credential.certificatePem),
    });
  }

  addWorkload(role: Role): Identity {
    const clientId = randomUUID();
    return this.add({
      clientId,
      kind: 'workload',
      role,
      federatedSubject: `system:serviceaccount:cofre:${clientId}`,
    });
  }

  grant(clientId: string, role: Role): void {
    const identity = this.get(clientId);
    if (identity === undefined) throw new Error(`key-vault stand-in: no identity with client id ${clientId}`);
    identity.role = role;
  }
}

/** Reads the first certificate of a PEM (which may also hold the private key, as certificateFile does). */
export function certificateCredential(pem: string): CertificateCredential {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (match === null) throw new Error('key-vault stand-in: the PEM holds no certificate');
  const cert = new X509Certificate(match[0]);
  return {
    publicKey: cert.publicKey,
    x5t: createHash('sha1').update(cert.raw).digest('base64url'),
    x5tS256: createHash('sha256').update(cert.raw).digest('base64url'),
  };
}
