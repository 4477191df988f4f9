// Issue 17: cofre as an OAuth 2.0 protected resource (MCP authorization, RFC 9728 / 8707 / 6750 / 9068), served as
// `cofre serve` runs it, with OpenBao's identity tokens as the authorization server (an issuer no one here wrote).
// Valid tokens run actions over HTTP and /mcp; every bad token is refused with a clear error, and the paper exchange
// counts that nothing reached it.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt, SignJWT } from 'jose';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ServedFixture, startServedBroker } from '../e2e/served-broker.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import {
  freePort,
  type OpenBaoPeer,
  type PostgresPeer,
  startOpenBao,
  startPostgres,
} from '../peers/peers.js';
import { RESTING_BUY } from '../resting-buy.js';
import { type OpenBaoIssuer, openBaoIssuer } from './openbao-issuer.js';

// cofre's resource identifier: what it is called behind a proxy, not the loopback port the test server listens on.
const PUBLIC_URL = 'http://localhost:7770';
const METADATA = `${PUBLIC_URL}/.well-known/oauth-protected-resource`;

const bao: OpenBaoPeer | undefined = await peerOrSkip('OpenBao', () => startOpenBao());
const pg: PostgresPeer | undefined = await peerOrSkip('PostgreSQL', startPostgres);

describe.skipIf(bao === undefined || pg === undefined)(
  'cofre as an OAuth protected resource (OpenBao issues the tokens)',
  () => {
    let fx: ServedFixture;
    let openbao: OpenBaoIssuer;
    let deadIssuer: string;
    const clients: Client[] = [];
    /** Every token a test handed to cofre, to look for in logs and the audit log at the end. */
    const presented: string[] = [];
    /** Every answer's headers and body. */
    const answers: string[] = [];

    beforeAll(async () => {
      openbao = await openBaoIssuer(bao!, 'claude');
      await openbao.role('trader', { clientId: PUBLIC_URL, scope: 'cofre:read cofre:trade' });
      await openbao.role('mcp', { clientId: `${PUBLIC_URL}/mcp`, scope: 'cofre:read cofre:trade' });
      await openbao.role('reader', { clientId: PUBLIC_URL, scope: 'cofre:read' });
      await openbao.role('scp', { clientId: PUBLIC_URL, scope: ['cofre:trade'] });
      await openbao.role('services', { clientId: PUBLIC_URL, scope: 'cofre:read cofre:services' });
      await openbao.role('elsewhere', { clientId: 'https://broker.example.net', scope: 'cofre:trade' });
      await openbao.role('other-resource', { clientId: `${PUBLIC_URL}/other`, scope: 'cofre:trade' });
      await openbao.role('brief', { clientId: PUBLIC_URL, scope: 'cofre:trade', ttl: '2s' });
      await openbao.role('stranger', { clientId: PUBLIC_URL, scope: 'cofre:trade', agent: 'mallory' });
      // Nothing listens there: an issuer that is down.
      deadIssuer = `http://127.0.0.1:${await freePort()}/down`;
      fx = await startServedBroker(
        (url, credentials) => [
          `server: { publicUrl: "${PUBLIC_URL}/" }`,
          'accounts:',
          `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
          'agents:',
          '  oauth:',
          `    - issuer: "${openbao.issuer}"`,
          '      clockSkew: 1s',
          '      rules:',
          '        - { claims: { cofre_agent: claude }, agent: "{cofre_agent}", policy: trader }',
          `    - issuer: "${deadIssuer}"`,
          '      rules: [{ agent: ghost, policy: trader }]',
          'policies:',
          '  trader:',
          '    rules:',
          '      - name: look',
          '        allow: [get_balance]',
          '        accounts: [paper]',
          '      - name: small',
          '        allow: [place_order]',
          '        accounts: [paper]',
          '        maxNotional: 500',
          '      - name: query',
          '        allow: [connect_database]',
          '        databases: [app]',
          'databases:',
          `  app: { type: postgres, host: 127.0.0.1, port: ${pg!.port}, database: postgres, listen: { port: 0 }, credentials: { username: "local:db/app#username", password: "local:db/app#password" } }`,
        ],
        {},
        { secrets: { 'db/app': JSON.stringify({ username: pg!.user, password: pg!.password }) } },
      );
    });

    afterAll(async () => {
      for (const c of clients) await c.close();
      await fx.close();
      await Promise.all([bao?.stop(), pg?.stop()]);
    });

    let next = 0;
    const order = () => ({ ...RESTING_BUY, clientOrderId: `oauth-${++next}` });
    const ordersAtExchange = () => fx.paper.requests().filter((r) => r.path === '/api/v3/order').length;

    /** POST an action with `token` over a real socket; the answer's status, headers and body. */
    async function act(action: string, token: string | undefined, body: unknown = order()) {
      if (token !== undefined) presented.push(token);
      const response = await fetch(`${fx.url}/v1/actions/${action}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      answers.push(JSON.stringify([...response.headers]), text);
      return {
        status: response.status,
        challenge: response.headers.get('www-authenticate'),
        text,
        body: JSON.parse(text) as Record<string, unknown> & {
          error?: { code: string; message: string; retryable: boolean };
        },
      };
    }

    async function mcpClient(token: string): Promise<Client> {
      presented.push(token);
      const client = new Client({ name: 'oauth-agent', version: '0.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${fx.url}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${token}` } },
        }),
      );
      clients.push(client);
      return client;
    }

    /** A token signed here, by a key OpenBao never published (`kid` unknown to its key set). */
    const ownKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forged = (iss: string, aud: string = PUBLIC_URL): Promise<string> =>
      new SignJWT({ scope: 'cofre:read cofre:trade', cofre_agent: 'claude' })
        .setProtectedHeader({ alg: 'RS256', kid: 'not-in-openbao' })
        .setIssuer(iss)
        .setAudience(aud)
        .setSubject('someone')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(ownKey);
    const part = (token: string, i: number): string => token.split('.')[i] ?? '';
    const base64url = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

    /** Expects `action` with `token` refused with 401 invalid_token, a message matching `reason`, nothing sent. */
    async function expectRefused(token: string, reason: RegExp): Promise<void> {
      const before = ordersAtExchange();
      const answer = await act('place_order', token);
      expect(answer.status).toBe(401);
      expect(answer.body.error?.code).toBe('COFRE_UNAUTHENTICATED');
      expect(answer.body.error?.message).toMatch(reason);
      expect(answer.challenge).toContain('error="invalid_token"');
      expect(answer.challenge).toContain(`resource_metadata="${METADATA}"`);
      expect(ordersAtExchange()).toBe(before);
    }

    it('runs an order for a token OpenBao issued for cofre, as the agent its rule names, over HTTP', async () => {
      const token = await openbao.token('trader');
      const before = ordersAtExchange();
      const answer = await act('place_order', token);
      expect(answer.status).toBe(200);
      expect(answer.body['status']).toBe('executed');
      expect(ordersAtExchange()).toBe(before + 1);
      const audit = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8');
      expect(audit).toContain(`"${answer.body['requestId'] as string}"`);
      expect(audit).toContain('"claude"');
    });

    it('runs a tool for a token issued for cofre /mcp, through the official MCP client', async () => {
      const client = await mcpClient(await openbao.token('mcp'));
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['place_order', 'get_balance']));
      const before = ordersAtExchange();
      const result = (await client.callTool({ name: 'place_order', arguments: order() })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as { status: string }).status).toBe('executed');
      expect(ordersAtExchange()).toBe(before + 1);
    });

    it('answers 401 without a token with a challenge naming the resource metadata (the /mcp form for /mcp)', async () => {
      const api = await act('place_order', undefined);
      expect(api.status).toBe(401);
      expect(api.challenge).toBe(`Bearer realm="cofre", resource_metadata="${METADATA}"`);
      const mcp = await fetch(`${fx.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(mcp.status).toBe(401);
      expect(mcp.headers.get('www-authenticate')).toBe(
        `Bearer realm="cofre", resource_metadata="${METADATA}/mcp"`,
      );
    });

    it('publishes Protected Resource Metadata (RFC 9728) for the API and for /mcp, without authentication', async () => {
      for (const [path, resource] of [
        ['/.well-known/oauth-protected-resource', PUBLIC_URL],
        ['/.well-known/oauth-protected-resource/mcp', `${PUBLIC_URL}/mcp`],
      ] as const) {
        const response = await fetch(`${fx.url}${path}`);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({
          resource,
          authorization_servers: [openbao.issuer, deadIssuer],
          scopes_supported: ['cofre:read', 'cofre:trade', 'cofre:withdraw', 'cofre:services'],
          bearer_methods_supported: ['header'],
          resource_name: 'cofre',
        });
      }
    });

    it('reads the scopes from `scp` (a list) as well as from `scope`', async () => {
      const token = await openbao.token('scp');
      expect((await act('place_order', token)).status).toBe(200);
      const refused = await act('get_balance', token, { account: 'paper' });
      expect(refused.status).toBe(403);
      expect(refused.challenge).toContain('scope="cofre:read"');
    });

    it('lists the metadata routes in the OpenAPI document, and only the actions a token may ask for', async () => {
      const open = (await fx.call('GET', '/v1/openapi.json', undefined)).body['paths'] as Record<
        string,
        unknown
      >;
      expect(Object.keys(open)).toEqual(
        expect.arrayContaining([
          '/.well-known/oauth-protected-resource',
          '/.well-known/oauth-protected-resource/mcp',
          '/v1/actions/place_order',
        ]),
      );
      const token = await openbao.token('reader');
      presented.push(token);
      const scoped = (await fx.call('GET', '/v1/openapi.json', token)).body['paths'] as Record<
        string,
        unknown
      >;
      expect(Object.keys(scoped)).toContain('/v1/actions/get_balance');
      expect(Object.keys(scoped)).not.toContain('/v1/actions/place_order');
    });

    describe('refuses, with a clear error and nothing sent to the exchange', () => {
      it('a token issued for another audience', async () => {
        await expectRefused(await openbao.token('elsewhere'), /another audience/);
      });

      it('a token issued for another resource on the same host (RFC 8707)', async () => {
        await expectRefused(await openbao.token('other-resource'), /another audience/);
      });

      it('a token from an issuer that is not configured', async () => {
        await expectRefused(
          await forged('https://issuer.example.org'),
          /issuer "https:\/\/issuer\.example\.org" is not trusted/,
        );
      });

      it('an expired token', async () => {
        const token = await openbao.token('brief');
        const exp = decodeJwt(token).exp!;
        // Past the expiry and the issuer's 1 s clock skew.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, (exp + 2) * 1000 - Date.now())));
        await expectRefused(token, /expired/);
      });

      it('a token whose signature does not verify (payload changed)', async () => {
        const token = await openbao.token('reader');
        const claims = decodeJwt(token);
        // The reader token, its scope widened: the signature no longer covers what it says.
        const widened = `${part(token, 0)}.${base64url({ ...claims, scope: 'cofre:read cofre:trade' })}.${part(token, 2)}`;
        await expectRefused(widened, /signature does not verify/);
      });

      it('a token with `alg: none`', async () => {
        const token = await openbao.token('trader');
        const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${part(token, 1)}.`;
        await expectRefused(unsigned, /algorithm this issuer is not trusted for/);
      });

      it("a token signed with a key that is not in the issuer's key set", async () => {
        await expectRefused(await forged(openbao.issuer), /key that is not in .* key set/);
      });

      it('a valid token whose claims no rule maps to an agent', async () => {
        await expectRefused(await openbao.token('stranger'), /no rule of agents\.oauth maps its claims/);
      });

      it('an action of a class the token has no scope for: 403 insufficient_scope naming the scope', async () => {
        const token = await openbao.token('reader');
        const before = ordersAtExchange();
        const refused = order();
        const answer = await act('place_order', token, refused);
        expect(answer.status).toBe(403);
        expect(answer.body.error?.code).toBe('COFRE_INSUFFICIENT_SCOPE');
        expect(answer.body.error?.message).toMatch(/place_order is a trade action/);
        expect(answer.challenge).toMatch(
          /^Bearer realm="cofre", error="insufficient_scope", error_description="[^"]+", scope="cofre:trade", resource_metadata="http:\/\/localhost:7770\/\.well-known\/oauth-protected-resource"$/,
        );
        expect(ordersAtExchange()).toBe(before);
        // Refused before anything was recorded.
        expect(readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')).not.toContain(refused.clientOrderId);
        // What the scope grants still works.
        const balance = await act('get_balance', token, { account: 'paper' });
        expect(balance.status).toBe(200);
        expect(balance.body['status']).toBe('executed');
      });

      it('over /mcp: lists only the tools its scopes allow, and a call beyond them is a tool error', async () => {
        const client = await mcpClient(await openbao.token('reader'));
        const names = (await client.listTools()).tools.map((t) => t.name);
        expect(names).toContain('get_balance');
        expect(names).not.toContain('place_order');
        const before = ordersAtExchange();
        const result = (await client.callTool({ name: 'place_order', arguments: order() })) as CallToolResult;
        expect(result.isError).toBe(true);
        expect((result.structuredContent as { error: { code: string } }).error.code).toBe(
          'COFRE_INSUFFICIENT_SCOPE',
        );
        expect(ordersAtExchange()).toBe(before);
      });

      it('a database connection for a token without the services scope (and allows it with the scope)', async () => {
        const connect = async (token: string) => {
          presented.push(token);
          const at = fx.server.databases!['app']!;
          const client = new PgClient({
            host: at.host,
            port: at.port,
            user: 'claude',
            database: 'x',
            password: token,
          });
          client.on('error', () => undefined);
          try {
            await client.connect();
            return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one;
          } finally {
            await client.end().catch(() => undefined);
          }
        };
        await expect(connect(await openbao.token('reader'))).rejects.toThrow(/no scope for services/);
        expect(await connect(await openbao.token('services'))).toBe(1);
      });

      it('a token of an issuer that cannot be reached: 503, retryable', async () => {
        const token = await forged(deadIssuer);
        presented.push(token);
        const before = ordersAtExchange();
        const answer = await act('place_order', token);
        expect(answer.status).toBe(503);
        expect(answer.body.error).toMatchObject({
          code: 'COFRE_IDENTITY_ISSUER_UNAVAILABLE',
          retryable: true,
        });
        expect(answer.challenge).toBeNull();
        expect(ordersAtExchange()).toBe(before);
      });
    });

    it("accepts tokens signed with OpenBao's rotated key without a restart", async () => {
      const old = await openbao.token('trader');
      expect((await act('get_balance', old, { account: 'paper' })).status).toBe(200);
      const publishedBefore = await openbao.keyIds();
      await openbao.rotate();
      const rotated = await openbao.token('trader');
      const kid = (token: string) =>
        (JSON.parse(Buffer.from(part(token, 0), 'base64url').toString()) as { kid: string }).kid;
      expect(kid(rotated)).not.toBe(kid(old));
      // OpenBao publishes the next key ahead of its rotation, so the key set cofre cached may already hold it; either
      // way cofre refetches the set for a key id it does not know.
      expect(publishedBefore).toContain(kid(rotated));
      const before = ordersAtExchange();
      const answer = await act('place_order', rotated);
      expect(answer.status).toBe(200);
      expect(ordersAtExchange()).toBe(before + 1);
      // The old key is still published for its verification TTL: tokens signed before the rotation still work.
      expect((await act('get_balance', old, { account: 'paper' })).status).toBe(200);
    });

    // Last: looks through everything the tests above made cofre write.
    it('never writes an access token to the log, the audit log or a response', () => {
      expect(presented.length).toBeGreaterThan(10);
      const written = [readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8'), ...fx.logLines, ...answers].join(
        '\n',
      );
      for (const token of presented) {
        expect(written).not.toContain(token);
        // The signature alone is as good as a fingerprint of the token.
        if (part(token, 2) !== '') expect(written).not.toContain(part(token, 2));
      }
    });
  },
);
