import { isIPv4 } from 'node:net';

import { z } from 'zod';

import { configNameSchema } from './config-name.js';
import { secretRefSchema } from './secret-ref-schema.js';

// Issue 15, part 3: databases whose credentials cofre holds (typically Vault/OpenBao dynamic credentials). A tool
// connects to cofre's listener with its agent token as the password; cofre opens the upstream connection with the
// current credentials and relays bytes (the approach of CyberArk's Secretless Broker).

/**
 * SECURITY: the listener takes the agent token as a cleartext password without TLS, which is safe only where no one
 * else can see the bytes: the loopback interface.
 */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

const databaseSchema = z
  .strictObject({
    type: z.literal('postgres').describe('The upstream protocol; PostgreSQL only for now.'),
    host: z.string().min(1).max(253).describe('Upstream host name or address.'),
    port: z.int().min(1).max(65_535).default(5432).describe('Upstream port.'),
    database: z.string().min(1).max(63).describe('Database name on the upstream.'),
    credentials: z
      .strictObject({
        username: secretRefSchema.describe(
          'The user name, by secret reference (e.g. `vault:database/creds/app#username`).',
        ),
        password: secretRefSchema.describe(
          'The password, by secret reference (e.g. `vault:database/creds/app#password`).',
        ),
      })
      .describe('By secret reference; dynamic credentials roll with their lease.'),
    listen: z
      .strictObject({
        host: z
          .string()
          .default('127.0.0.1')
          .refine(isLoopback, {
            error:
              'the listener must be on loopback (127.0.0.1, ::1 or localhost): tools authenticate with their agent token in cleartext, over no TLS',
          })
          .describe('Loopback address cofre listens on for this database.'),
        port: z.int().min(0).max(65_535).describe('Port of the listener; 0 picks a free one.'),
      })
      .describe('Where tools connect (loopback only).'),
  })
  .describe('A PostgreSQL database tools reach through cofre without its password.');

/** `databases`: PostgreSQL upstreams by name (`cofre serve` listens for each). */
export const databasesSchema = z
  .record(configNameSchema('database'), databaseSchema)
  .prefault({})
  .describe('Databases by name whose credentials cofre holds (issue 15).');
