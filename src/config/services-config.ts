import { z } from 'zod';

import { byteSizeSchema } from './byte-size.js';
import { configNameSchema } from './config-name.js';
import { durationSchema } from './duration.js';
import { secretRefSchema } from './secret-ref-schema.js';
import { isLoopbackHost } from './vault-config.js';

// Issue 15: HTTP APIs an agent's tools use (news, market data, LLM providers), called through cofre so that no tool
// holds their credential. `http_request` (the service proxy) and `cofre run` (the egress proxy for a third-party
// tool) both read this: the host a credential may go to, and how it is put into a request.

/** Where the credential goes in the upstream request; `{secret}` stands for its value, once. */
const injectSchema = z
  .discriminatedUnion('type', [
    z
      .strictObject({
        type: z.literal('header').describe('In a header.'),
        name: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/, { error: 'invalid header name' })
          .describe('The header, e.g. `Authorization` or `X-API-Key`.'),
        template: z
          .string()
          .max(256)
          .default('{secret}')
          .describe('The header value; `{secret}` is replaced by the credential, e.g. `Bearer {secret}`.'),
      })
      .describe('In a header.'),
    z
      .strictObject({
        type: z.literal('query').describe('As a query parameter.'),
        name: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'invalid query parameter name' })
          .describe('The query parameter, e.g. `auth_token` (CryptoPanic).'),
      })
      .describe('As a query parameter.'),
    z
      .strictObject({
        type: z.literal('basic').describe('HTTP basic authentication.'),
        username: z.string().min(1).max(256).describe('The user name; the credential is the password.'),
      })
      .describe('HTTP basic authentication.'),
  ])
  .describe('How the credential is put into each request.');

const serviceSchema = z
  .strictObject({
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'invalid baseUrl; expected an https URL' })
      .refine((url) => !/^http:/i.test(url) || isLoopbackUrl(url), {
        error: 'baseUrl must use https (http is allowed only to 127.0.0.1, [::1] or localhost)',
      })
      .describe(
        'The API root, e.g. `https://cryptopanic.com/api/developer/v2`. https, or http to a loopback host only. Requests go to this host and port only.',
      ),
    secret: secretRefSchema.describe('The credential, by secret reference (never the value).'),
    inject: injectSchema,
    methods: z
      .array(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']))
      .min(1)
      .default(['GET'])
      .describe('HTTP methods agents may use.'),
    paths: z
      .array(z.string().regex(/^\/[\x21-\x7e]*$/, { error: 'a path glob starts with / and has no spaces' }))
      .min(1)
      .default(['/*'])
      .describe(
        'Path globs under the base URL that agents may call (`*` within one segment, `**` across segments).',
      ),
    local: z
      .boolean()
      .default(false)
      .describe(
        'Allow the upstream to resolve to a loopback, private or link-local address (an API on this host or network). Off: such addresses are refused at connect time (SSRF).',
      ),
    timeout: durationSchema({ min: 100 })
      .prefault('10s')
      .describe('Whole request timeout. Parsed to milliseconds.'),
    maxResponseSize: byteSizeSchema({ min: 1, max: 64 * 1_048_576 })
      .prefault('1MiB')
      .describe('Largest response body accepted; a larger one is refused. Parsed to bytes.'),
    rateLimit: z
      .strictObject({
        requestsPerSecond: z.number().positive().max(10_000).describe('Sustained rate to this service.'),
        burst: z.int().min(1).max(10_000).default(10).describe('Requests allowed at once above the rate.'),
      })
      .optional()
      .describe('Requests to this service from all agents together.'),
  })
  .describe('An HTTP API whose credential cofre holds.');

/** `services`: HTTP APIs by name (`http_request { service }`, `cofre run --env VAR=service`). */
export const servicesSchema = z
  .record(configNameSchema('service'), serviceSchema)
  .prefault({})
  .describe('HTTP APIs by name whose credentials cofre injects (issue 15).');

/** True for a URL whose host is a loopback address or `localhost`. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false; // the url check reports it
  }
}

export type ServiceConfigInput = z.input<typeof serviceSchema>;
