import { z } from 'zod';

import { isLoopback } from './databases-config.js';
import { durationSchema } from './duration.js';
import { isLoopbackUrl } from './services-config.js';

/**
 * Issue 18: the operator console, a web page for people, served by `cofre serve` on a listener of its own (never on
 * the agent port). Served only when `server.console` is present (`cofre init` writes one on loopback).
 */
export const consoleSchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe(
        'Address the console binds to; loopback by default. Beyond loopback it needs `tls` or an https `publicUrl`.',
      ),
    port: z
      .int()
      .min(0)
      .max(65_535)
      .default(8789)
      .describe('TCP port of the console; 0 picks a free one. Never the agent port.'),
    publicUrl: z
      .url({ protocol: /^https?$/ })
      .refine((url) => url.startsWith('https://') || isLoopbackUrl(url), {
        error: 'the console publicUrl must be https (http only on loopback)',
      })
      .refine((url) => !/[?#]/.test(url) && !/^https?:\/\/[^/]+\/./.test(url), {
        error: 'the console publicUrl is an origin: scheme, host and port, no path, query or fragment',
      })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional()
      .describe(
        'The origin operators open, when a TLS proxy is in front of the console (`https://console.example.com`): browsers must send it as their `Origin`, and the session cookie is marked `Secure`.',
      ),
    tls: z
      .strictObject({
        certFile: z.string().min(1).describe('PEM certificate chain of the console.'),
        keyFile: z.string().min(1).describe('PEM private key of the console (mode 600 or stricter).'),
      })
      .optional()
      .describe('Serve the console over HTTPS itself; the session cookie is then marked `Secure`.'),
    allowedHosts: z
      .array(z.string().min(1).max(253))
      .optional()
      .describe(
        'Host names (without port) the console is reached by, besides localhost, 127.0.0.1 and [::1] (DNS-rebinding protection).',
      ),
    idleTimeout: durationSchema({ min: 60_000 })
      .prefault('15m')
      .describe(
        'A console session unused this long ends; the operator logs in again. Parsed to milliseconds.',
      ),
    sessionLifetime: durationSchema({ min: 5 * 60_000 })
      .prefault('12h')
      .describe(
        'A console session ends this long after login however it is used (and never outlives the operator token). Parsed to milliseconds.',
      ),
  })
  .superRefine((console, ctx) => {
    // SECURITY: beyond loopback without TLS, the session cookie and the operator token at login cross the network in
    // the clear.
    if (
      !isLoopback(console.host) &&
      console.tls === undefined &&
      console.publicUrl?.startsWith('https://') !== true
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['host'],
        message:
          'a console bound beyond loopback needs `tls` (certFile, keyFile) or an https `publicUrl` (a TLS proxy in front): operator tokens and session cookies must not cross the network in the clear',
      });
    }
    if (console.idleTimeout > console.sessionLifetime) {
      ctx.addIssue({
        code: 'custom',
        path: ['idleTimeout'],
        message: 'idleTimeout must not exceed sessionLifetime',
      });
    }
  })
  .describe(
    'The operator console (issue 18): approvals, limits, activity and audit, the kill switch, agents and operators, in a browser. Log in with an operator token (`cofre operator add`).',
  );

export type ConsoleConfig = z.output<typeof consoleSchema>;
