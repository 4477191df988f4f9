// A stand-in for GitHub Actions' OIDC token issuer, written from GitHub's documentation
// (https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect),
// sharing no code with src/:
// - discovery at `<issuer>/.well-known/openid-configuration`, keys at `<issuer>/.well-known/jwks`;
// - the runner's token request: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>` with
//   `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answered `{ "value": "<jwt>" }` (what
//   `core.getIDToken(audience)` of @actions/core does);
// - the token's claims: `sub: repo:<owner>/<repo>:ref:refs/heads/<branch>` (or `:environment:<name>`), `repository`,
//   `repository_owner`, `ref`, `workflow`, `job_workflow_ref`, `aud`, ... The real issuer is
//   https://token.actions.githubusercontent.com; this one is its own loopback URL.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** The workflow run a token is requested from. */
export interface WorkflowRun {
  /** `<owner>/<repo>`. */
  readonly repository: string;
  /** Default `main`. */
  readonly branch?: string;
  /** A deployment environment; it then replaces the ref in `sub`, as GitHub does. */
  readonly environment?: string;
  /** Default `deploy`. */
  readonly workflow?: string;
  readonly audience: string;
  /** Default 300 s: GitHub's tokens live about five minutes... (ours shorter in expiry tests). */
  readonly expirationSeconds?: number;
}

export interface GitHubActionsIssuer {
  readonly issuer: string;
  /** Signs a token for a run, as the runner would receive it. */
  issueToken(run: WorkflowRun): Promise<string>;
  /**
   * What a job sees: `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN` for a run of `repository`
   * (the audience comes with the request).
   */
  requestEnvironment(run: Omit<WorkflowRun, 'audience'>): { url: string; token: string };
  close(): Promise<void>;
}

export async function startGitHubActionsIssuer(): Promise<GitHubActionsIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(20).toString('hex').toUpperCase();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  const runs = new Map<string, Omit<WorkflowRun, 'audience'>>();
  let issuer = '';

  const issueToken = async (run: WorkflowRun): Promise<string> => {
    const [owner = ''] = run.repository.split('/');
    const branch = run.branch ?? 'main';
    const workflow = run.workflow ?? 'deploy';
    const ref = `refs/heads/${branch}`;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      ref,
      sha: randomBytes(20).toString('hex'),
      repository: run.repository,
      repository_owner: owner,
      repository_owner_id: '1234567',
      repository_id: '7654321',
      repository_visibility: 'private',
      run_id: String(Date.now()),
      run_number: '42',
      run_attempt: '1',
      actor: 'octocat',
      actor_id: '583231',
      workflow,
      workflow_ref: `${run.repository}/.github/workflows/${workflow}.yml@${ref}`,
      job_workflow_ref: `${run.repository}/.github/workflows/${workflow}.yml@${ref}`,
      head_ref: '',
      base_ref: '',
      event_name: 'push',
      ref_type: 'branch',
      runner_environment: 'github-hosted',
      ...(run.environment === undefined ? {} : { environment: run.environment }),
    })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setJti(randomUUID())
      .setIssuer(issuer)
      .setSubject(
        `repo:${run.repository}:${run.environment === undefined ? `ref:${ref}` : `environment:${run.environment}`}`,
      )
      .setAudience(run.audience)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + (run.expirationSeconds ?? 300))
      .sign(privateKey);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      json(200, {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks`,
        subject_types_supported: ['public', 'pairwise'],
        response_types_supported: ['id_token'],
        claims_supported: [
          'sub',
          'aud',
          'exp',
          'iat',
          'iss',
          'jti',
          'nbf',
          'ref',
          'repository',
          'repository_owner',
          'workflow',
          'job_workflow_ref',
        ],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid'],
      });
      return;
    }
    if (url.pathname === '/.well-known/jwks') {
      json(200, { keys: [jwk] });
      return;
    }
    if (url.pathname === '/_apis/distributedtask/token') {
      const bearer = /^bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const run = bearer === undefined ? undefined : runs.get(bearer);
      const audience = url.searchParams.get('audience');
      if (run === undefined) {
        json(401, { message: 'unauthorized' });
        return;
      }
      issueToken({ ...run, audience: audience ?? `https://github.com/${run.repository.split('/')[0]}` }).then(
        (value) => {
          json(200, { value });
        },
        () => {
          json(500, {});
        },
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    issueToken,
    requestEnvironment(run) {
      const token = randomBytes(24).toString('base64url');
      runs.set(token, run);
      return { url: `${issuer}/_apis/distributedtask/token?api-version=2.0`, token };
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
