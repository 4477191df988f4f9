// A stand-in for the parts of a Kubernetes API server a workload identity consumer talks to, written from the
// Kubernetes documentation (it shares no code with src/):
// - the service-account issuer discovery (https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#service-account-issuer-discovery):
//   `GET /.well-known/openid-configuration` and `GET /openid/v1/jwks`;
// - projected service-account tokens as the kubelet mounts them
//   (https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-tokens):
//   `iss`, `sub: system:serviceaccount:<namespace>:<name>`, `aud`, `exp`, `iat`, `nbf`, `jti` and the private
//   `kubernetes.io` claim { namespace, serviceaccount: { name, uid }, pod: { name, uid }, node: { name, uid } };
// - TokenReview (`POST /apis/authentication.k8s.io/v1/tokenreviews`,
//   https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-review-v1/), which OpenBao's
//   kubernetes auth calls on every login: it authenticates the tokens this server signed, as the API server does.
// Signing key rotation as `--service-account-signing-key-file` rotation does it: a new key signs, the old one stays
// published until retired, so tokens already mounted keep verifying.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  createLocalJWKSet,
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
  type KeyObject,
  SignJWT,
} from 'jose';

type SigningKey = CryptoKey | KeyObject;

interface Key {
  readonly kid: string;
  readonly privateKey: SigningKey;
  readonly publicJwk: JWK;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' } };
}

/** The pod a projected token is bound to. */
export interface ServiceAccountToken {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Default `['cofre']`: the `audience` of the projected volume. */
  readonly audience?: string | readonly string[];
  /** Lifetime in seconds (`expirationSeconds`, at least 600 in a real cluster; shorter here for expiry tests). */
  readonly expirationSeconds?: number;
  /** Issue time; default now. */
  readonly issuedAt?: Date;
  readonly pod?: string;
}

export interface KubernetesApiServer {
  /** The issuer (`--service-account-issuer`): this server's base URL. */
  readonly issuer: string;
  /** Signs a projected service-account token with the current key. */
  issueToken(token: ServiceAccountToken): Promise<string>;
  /** Signs with a key this server never publishes (a token from another cluster, or a forged one). */
  issueWithUnpublishedKey(token: ServiceAccountToken): Promise<string>;
  /** A new key signs from now on; the previous ones stay in the key set until {@link retireOldKeys}. */
  rotateKey(): Promise<void>;
  /** Drops every key but the current one from the key set. */
  retireOldKeys(): void;
  /** How many times the key set was fetched. */
  jwksFetches(): number;
  /** How many TokenReviews were answered. */
  reviews(): number;
  close(): Promise<void>;
}

/** Starts the stand-in on a loopback port. */
export async function startKubernetesApiServer(): Promise<KubernetesApiServer> {
  let keys: Key[] = [await newKey()];
  const uids = new Map<string, string>();
  let jwksFetches = 0;
  let reviews = 0;
  let issuer = '';

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (req.method === 'GET' && req.url === '/.well-known/openid-configuration') {
      json(200, {
        issuer,
        jwks_uri: `${issuer}/openid/v1/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
      return;
    }
    if (req.method === 'GET' && req.url === '/openid/v1/jwks') {
      jwksFetches++;
      json(200, { keys: keys.map((k) => k.publicJwk) });
      return;
    }
    if (req.method === 'POST' && req.url === '/apis/authentication.k8s.io/v1/tokenreviews') {
      reviews++;
      const review = JSON.parse(body) as { spec?: { token?: string; audiences?: string[] } };
      json(201, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        status: await reviewToken(review.spec?.token ?? '', review.spec?.audiences),
      });
      return;
    }
    res.writeHead(404).end();
  };

  // The API server authenticates its own tokens: signature by a published key, issuer, expiry, audiences if asked.
  const reviewToken = async (token: string, audiences: string[] | undefined): Promise<unknown> => {
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) }), {
        issuer,
        ...(audiences === undefined || audiences.length === 0 ? {} : { audience: audiences }),
      });
      const k8s = payload['kubernetes.io'] as {
        namespace: string;
        serviceaccount: { name: string; uid: string };
      };
      return {
        authenticated: true,
        user: {
          username: payload.sub,
          uid: k8s.serviceaccount.uid,
          groups: [
            'system:serviceaccounts',
            `system:serviceaccounts:${k8s.namespace}`,
            'system:authenticated',
          ],
        },
        audiences: Array.isArray(payload.aud) ? payload.aud : [payload.aud],
      };
    } catch {
      return { authenticated: false, error: 'invalid bearer token' };
    }
  };

  const sign = async (token: ServiceAccountToken, key: Key): Promise<string> => {
    const iat = Math.floor((token.issuedAt ?? new Date()).getTime() / 1000);
    const account = `${token.namespace}/${token.serviceAccount}`;
    const uid = uids.get(account) ?? randomUUID();
    uids.set(account, uid);
    const pod = token.pod ?? `${token.serviceAccount}-7d9f8b-x2x9q`;
    const audience = token.audience ?? ['cofre'];
    const claims: JWTPayload = {
      'kubernetes.io': {
        namespace: token.namespace,
        node: { name: 'node-1', uid: randomUUID() },
        pod: { name: pod, uid: randomUUID() },
        serviceaccount: { name: token.serviceAccount, uid },
      },
    };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer(issuer)
      .setSubject(`system:serviceaccount:${token.namespace}:${token.serviceAccount}`)
      .setAudience(typeof audience === 'string' ? [audience] : [...audience])
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + (token.expirationSeconds ?? 3607))
      .setJti(randomUUID())
      .sign(key.privateKey);
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    issueToken: (token) => sign(token, keys[keys.length - 1]!),
    issueWithUnpublishedKey: async (token) => sign(token, await newKey()),
    async rotateKey() {
      keys = [...keys, await newKey()];
    },
    retireOldKeys() {
      keys = keys.slice(-1);
    },
    jwksFetches: () => jwksFetches,
    reviews: () => reviews,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
