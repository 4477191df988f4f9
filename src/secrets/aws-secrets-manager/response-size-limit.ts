/**
 * A ceiling on the size of AWS Secrets Manager answers, as SDK middleware.
 *
 * The SDK buffers each response body whole before it parses it, with no limit. The middleware sits in the
 * `deserialize` step at low priority, so it runs between the HTTP handler and the SDK's deserializer: it reads the
 * body with {@link readBounded} and hands the deserializer the bytes (the SDK's `collectBody` takes a `Uint8Array`
 * as is). An answer over the limit is refused with `COFRE_BACKEND_RESPONSE_TOO_LARGE` before anything parses it;
 * the SDK's retry strategy does not retry that error (it is neither throttling, a 5xx nor a network error).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { readBounded } from '../bounded-body.js';

type Stack = SecretsManagerClient['middlewareStack'];

/** What the middleware reads of the SDK's raw HTTP response (smithy's `HttpResponse`). */
interface RawResponse {
  headers?: Record<string, string | undefined>;
  body?: unknown;
}

/** Adds the limit to `client`; `source` names the backend in messages (`AWS Secrets Manager backend "aws"`). */
export function limitResponseSize(client: SecretsManagerClient, maxBytes: number, source: string): void {
  const stack: Stack = client.middlewareStack;
  const middleware = ((next: (args: unknown) => Promise<{ response: unknown }>) => async (args: unknown) => {
    const result = await next(args);
    const response = result.response as RawResponse | undefined;
    if (response !== undefined && response.body !== undefined && !(response.body instanceof Uint8Array)) {
      const target = (args as { request?: { headers?: Record<string, string> } }).request?.headers?.[
        'x-amz-target'
      ];
      response.body = await readBounded(
        response.body as AsyncIterable<Uint8Array>,
        maxBytes,
        {
          source,
          subject: target?.replace(/^secretsmanager\./, '') ?? 'a request',
          setting: 'maxResponseSize',
        },
        response.headers?.['content-length'],
      );
    }
    return result;
  }) as unknown as Parameters<Stack['add']>[0];
  stack.add(middleware, { step: 'deserialize', priority: 'low', name: 'cofreResponseSizeLimit' });
}
