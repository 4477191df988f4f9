import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server received. */
export interface RecordedRequest {
  /** `X-Amz-Target` without the service prefix, e.g. `GetSecretValue`. */
  readonly operation: string;
  readonly body: string;
}

/** What to answer: a canned AWS JSON-protocol reply, a raw body, a proxy to a real server, or nothing at all. */
export type ScriptedReply =
  | { readonly status: number; readonly awsError: string; readonly message?: string }
  | { readonly status: number; readonly rawBody: string }
  | { readonly proxyTo: string }
  | { readonly hang: true };

export interface ScriptedServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP server standing in for AWS Secrets Manager in failure tests: `script(n, request)` decides the
 * answer to the n-th request (0-based). Replies speak the AWS JSON 1.1 protocol (`__type` + `message`, a request
 * id header) so the SDK parses them as it would AWS's. Test-only.
 */
export async function startScriptedServer(
  script: (n: number, request: RecordedRequest) => ScriptedReply,
): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const target = req.headers['x-amz-target'];
    const operation = (typeof target === 'string' ? target : '').replace(/^secretsmanager\./, '');
    const request = { operation, body };
    const reply = script(requests.length, request);
    requests.push(request);
    const requestId = `scripted-${requests.length}`;
    if ('hang' in reply) {
      hanging.add(res);
      return;
    }
    if ('proxyTo' in reply) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
      }
      const upstream = await fetch(reply.proxyTo, { method: req.method ?? 'POST', headers, body });
      const text = await upstream.text();
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/x-amz-json-1.1',
        'x-amzn-requestid': upstream.headers.get('x-amzn-requestid') ?? requestId,
      });
      res.end(text);
      return;
    }
    res.writeHead(reply.status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': requestId,
    });
    res.end(
      'rawBody' in reply
        ? reply.rawBody
        : JSON.stringify({ __type: reply.awsError, message: reply.message ?? reply.awsError }),
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
