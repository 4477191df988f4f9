import { isUtf8 } from 'node:buffer';

import type { z } from 'zod';

import type {
  decryptResult,
  encryptResult,
  generateDataKeyResult,
} from '../encryption/encryption-results.js';
import type { EncryptionBinding } from '../encryption/encryption-service.js';
import { CofreError } from '../errors.js';
import { type ActionInput, type ActionName, MAX_PLAINTEXT } from './actions.js';
import { principalOf } from './agent-tokens.js';
import type { ActionResponse, BrokerContext, Claimed } from './broker-types.js';
import { isEncryptionAction } from './run-action.js';

/**
 * Issue 19, the send step of an allowed `encrypt`, `decrypt` or `generate_data_key`: runs it with the named key,
 * its encryption context binding the requesting agent's principal (`principalOf`: a delegated sub-agent encrypts
 * and decrypts as its root) and the purpose.
 *
 * SECURITY: the plaintext and data key exist only in the buffers here (zeroed after) and in the answer to the agent;
 * nothing is logged, and the stored request row keeps neither ({@link keptInputOf}, {@link keptAnswerOf}).
 */
export async function runEncryptionAction(
  ctx: BrokerContext,
  request: Claimed,
  input: unknown,
): Promise<unknown> {
  const service = ctx.deps.encryption;
  const { key, purpose } = input as { key: string; purpose: string };
  if (service === undefined) {
    throw new CofreError('COFRE_ENCRYPTION_KEY_UNKNOWN', `no encryption key "${key}" is configured`);
  }
  const binding: EncryptionBinding = { agent: principalOf(request.agent), purpose };
  switch (request.action) {
    case 'encrypt': {
      const { plaintext, encoding } = input as ActionInput<'encrypt'>;
      const bytes = plaintextBytes(plaintext, encoding);
      try {
        const ciphertext = await service.encrypt(key, binding, bytes);
        return { key, purpose, ciphertext } satisfies z.input<typeof encryptResult>;
      } finally {
        bytes.fill(0);
      }
    }
    case 'decrypt': {
      const { ciphertext, encoding } = input as ActionInput<'decrypt'>;
      const opened = await service.decrypt(key, binding, ciphertext);
      try {
        const as = encoding;
        if (as === 'utf8' && !isUtf8(opened.bytes())) {
          throw new CofreError(
            'COFRE_INPUT_INVALID',
            'the plaintext is not UTF-8 text; ask again with encoding "base64"',
          );
        }
        return {
          key,
          purpose,
          plaintext: opened.bytes().toString(as),
          encoding: as,
        } satisfies z.input<typeof decryptResult>;
      } finally {
        opened.zero();
      }
    }
    case 'generate_data_key': {
      const { bits } = input as ActionInput<'generate_data_key'>;
      const size = bits;
      const dataKey = await service.generateDataKey(key, binding, size);
      try {
        return {
          key,
          purpose,
          plaintextKey: dataKey.plaintext.bytes().toString('base64'),
          ciphertextKey: dataKey.ciphertext,
          bits: size,
        } satisfies z.input<typeof generateDataKeyResult>;
      } finally {
        dataKey.plaintext.zero();
      }
    }
    default:
      throw new CofreError('COFRE_INTERNAL', `${request.action} is not an encryption action`);
  }
}

/** The bytes to encrypt, checked against the size limit. */
function plaintextBytes(plaintext: string, encoding: 'utf8' | 'base64'): Buffer {
  if (encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(plaintext)) {
    throw new CofreError('COFRE_INPUT_INVALID', 'plaintext: not base64 (encoding is "base64")');
  }
  const bytes = Buffer.from(plaintext, encoding);
  if (bytes.length > MAX_PLAINTEXT) {
    const size = bytes.length;
    bytes.fill(0);
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `plaintext: ${size} bytes, more than ${MAX_PLAINTEXT}; use generate_data_key and encrypt large data yourself with the data key`,
    );
  }
  return bytes;
}

/** The input fields of encryption actions that carry the agent's data: never stored. */
const DATA_FIELDS: ReadonlySet<string> = new Set(['plaintext', 'ciphertext']);

/**
 * What the state store keeps of a request's validated input. SECURITY: for an encryption action, only key, purpose
 * and encoding or bits — never the plaintext or ciphertext (the row outlives the request, and `get_request` and
 * operators read it). Other actions' input as it is.
 */
export function keptInputOf(action: ActionName, input: unknown): unknown {
  if (!isEncryptionAction(action) || typeof input !== 'object' || input === null) return input;
  return Object.fromEntries(Object.entries(input).filter(([field]) => !DATA_FIELDS.has(field)));
}

/**
 * What the state store keeps of a request's answer (and `get_request` returns later). SECURITY: for an executed
 * encryption action, not its result (the plaintext, the data key): the answer says it is not kept. Errors and other
 * actions' answers as they are.
 */
export function keptAnswerOf(action: ActionName, answer: ActionResponse): ActionResponse {
  if (!isEncryptionAction(action) || answer.result === undefined) return answer;
  const { result: _result, ...rest } = answer;
  return {
    ...rest,
    reason: `the result of ${action} is not kept: cofre stores no plaintext, ciphertext or data key, and gave it once, in the answer to the request`,
  };
}
