import { z } from 'zod';

import { configNameSchema } from './config-name.js';
import type { DeepReadonly } from './deep-freeze.js';
import { secretRefSchema } from './secret-ref-schema.js';
import { awsKmsShape } from './wallets-config.js';

// Issue 19, encryption as a service: agents encrypt and decrypt their own data (and get data keys for envelope
// encryption) under keys that stay in OpenBao/Vault Transit, AWS KMS or, for development, a secret backend. The
// encryption context binds the agent and a purpose label, so one agent's ciphertext does not open for another.

const encryptionKeySchema = z
  .discriminatedUnion('type', [
    z
      .strictObject({
        type: z.literal('transit').describe('Key source: `transit`.'),
        backend: configNameSchema('backend').describe(
          'A `vault` backend of `backends:`; its address and login are used.',
        ),
        mount: z
          .string()
          .regex(/^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/, { error: 'a mount path such as transit' })
          .default('transit')
          .describe('Where the Transit engine is mounted.'),
        key: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,128}$/, { error: 'a Transit key name' })
          .describe('The Transit key (created with `derived=true`, so each context derives its own key).'),
      })
      .describe('A key of the Transit secrets engine (OpenBao or Vault).'),
    z
      .strictObject({ type: z.literal('aws-kms').describe('Key source: `aws-kms`.'), ...awsKmsShape })
      .describe(
        'A symmetric KMS key (`SYMMETRIC_DEFAULT`). cofre needs `kms:Encrypt`, `kms:Decrypt` and `kms:GenerateDataKey` on it.',
      ),
    z
      .strictObject({
        type: z.literal('embedded').describe('Key source: `embedded`.'),
        secret: secretRefSchema.describe(
          'Secret reference to a 32-byte key (64 hex digits). For development: the key is read into cofre.',
        ),
      })
      .describe('A key kept in a secret backend (development).'),
  ])
  .describe('Where an encryption key lives.');

export const encryptionKeysSchema = z
  .record(configNameSchema('encryption key'), encryptionKeySchema)
  .prefault({})
  .describe(
    'Issue 19: keys agents may encrypt and decrypt with, by name (`encrypt`, `decrypt`, `generate_data_key`).',
  );

/** A Transit key names a configured `vault` backend. Reads defensively: runs when other parts failed too. */
export function checkEncryptionReferences(
  root: Record<string, unknown> | undefined,
  ctx: z.RefinementCtx,
): void {
  const backends = asRecord(root?.['backends']) ?? {};
  for (const [name, key] of Object.entries(asRecord(root?.['encryptionKeys']) ?? {})) {
    const k = asRecord(key);
    if (k?.['type'] !== 'transit' || typeof k['backend'] !== 'string') continue;
    const backend = asRecord(backends[k['backend']]);
    if (backend?.['type'] === 'vault') continue;
    ctx.addIssue({
      code: 'custom',
      path: ['encryptionKeys', name, 'backend'],
      message:
        backend === undefined
          ? `backend "${k['backend']}" is not configured`
          : `backend "${k['backend']}" is not a vault backend; Transit keys live in OpenBao or Vault`,
    });
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export type EncryptionKeyConfig = DeepReadonly<z.output<typeof encryptionKeySchema>>;
