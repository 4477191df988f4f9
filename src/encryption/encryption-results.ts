import { z } from 'zod';

// Issue 19: the results of encrypt, decrypt and generate_data_key. No key material except a data key the agent
// asked for, which is its own to use.

export const encryptResult = z.object({
  key: z.string(),
  purpose: z.string(),
  ciphertext: z.string().describe('Give it back to decrypt with the same key and purpose.'),
});

export const decryptResult = z.object({
  key: z.string(),
  purpose: z.string(),
  plaintext: z.string(),
  encoding: z.enum(['utf8', 'base64']),
});

export const generateDataKeyResult = z.object({
  key: z.string(),
  purpose: z.string(),
  plaintextKey: z.string().describe('The data key, base64: use it, then forget it.'),
  ciphertextKey: z
    .string()
    .describe('The data key encrypted under `key`: keep it; decrypt it with the same purpose.'),
  bits: z.union([z.literal(128), z.literal(256)]),
});
