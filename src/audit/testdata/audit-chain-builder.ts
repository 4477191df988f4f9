import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';

import {
  type AuditRecordKind,
  checkpointMessage,
  GENESIS_PREV,
  keyIdOf,
  recordHash,
  recordLine,
  rotatedPath,
} from '../audit-format.js';

/** An Ed25519 key pair for tests, with its public key in PEM and its key id. */
export interface TestSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyId: string;
}

/** A fresh Ed25519 key pair. */
export function testSigningKey(): TestSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey.export({ type: 'spki', format: 'der' })),
  };
}

/**
 * Builds valid format-v1 audit logs in memory, through the contract's own functions (`recordLine`, `recordHash`,
 * `checkpointMessage`), as the writer must: a stand-in for the real writer, so the verifier is tested against the
 * contract rather than against one implementation of it. Times come from a counter, not the clock.
 */
export class AuditChainBuilder {
  /** The lines of each file, oldest first; the last is the current file. */
  readonly files: string[][] = [[]];
  readonly checkpoints: string[] = [];
  readonly logId: string;
  #seq = 0;
  #prev = GENESIS_PREV;
  #time: number;
  readonly #key: TestSigningKey | undefined;

  constructor(options: { key?: TestSigningKey; logId?: string; keyInGenesis?: boolean; start?: Date } = {}) {
    this.#key = options.key;
    this.logId = options.logId ?? 'a1'.repeat(16);
    this.#time = (options.start ?? new Date('2026-01-01T00:00:00Z')).getTime();
    this.append('genesis', {
      logId: this.logId,
      publicKey: options.keyInGenesis === false ? undefined : this.#key?.publicKeyPem,
    });
  }

  /** Appends one record and returns its line. */
  append(kind: AuditRecordKind, fields: Readonly<Record<string, unknown>>): string {
    const ts = new Date(this.#time).toISOString();
    this.#time += 1000;
    const line = recordLine({ v: 1, seq: this.#seq, ts, prev: this.#prev, kind }, fields);
    this.files.at(-1)?.push(line);
    this.#seq += 1;
    this.#prev = recordHash(line);
    return line;
  }

  /** Appends a broker-like record. */
  event(kind: 'intent' | 'outcome' = 'intent', extra: Readonly<Record<string, unknown>> = {}): string {
    return this.append(kind, {
      requestId: `req-${this.#seq}`,
      agent: 'bot',
      action: 'place_order',
      account: 'paper',
      ...extra,
    });
  }

  /** Appends a checkpoint (signed when the builder has a key) and remembers it as a witness would. */
  checkpoint(): string {
    const ts = new Date(this.#time).toISOString();
    const base = { head: this.#prev, count: this.#seq };
    const key = this.#key;
    const fields =
      key === undefined
        ? { ...base, unsigned: true }
        : {
            ...base,
            keyId: key.keyId,
            signature: sign(
              null,
              checkpointMessage({ logId: this.logId, seq: this.#seq, head: this.#prev, ts }),
              key.privateKey,
            ).toString('base64'),
          };
    const line = this.append('checkpoint', fields);
    this.checkpoints.push(line);
    return line;
  }

  /** A signature (base64) by this builder's key over a checkpoint at `seq` with that head and time. */
  signatureFor(seq: number, head: string, ts: string): string {
    const key = this.#key;
    if (key === undefined) throw new Error('this builder has no key');
    const signature = sign(null, checkpointMessage({ logId: this.logId, seq, head, ts }), key.privateKey);
    return signature.toString('base64');
  }

  /** Rotates: the current file becomes rotated file n, and a new file starts with its `continue` record. */
  rotate(): void {
    const previous = this.files.at(-1) ?? [];
    const size = previous.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
    this.files.push([]);
    this.append('continue', { file: this.files.length - 1, prevFileSize: size, logId: this.logId });
  }

  /** The bytes of each file (path → content) for the log at `path`. */
  contents(path: string, files: readonly (readonly string[])[] = this.files): Map<string, string> {
    const out = new Map<string, string>();
    files.forEach((lines, i) => {
      const name = i === files.length - 1 ? path : rotatedPath(path, i + 1);
      out.set(name, lines.map((line) => `${line}\n`).join(''));
    });
    return out;
  }

  /** Writes the log's files at `path` (and, given `witness`, the checkpoint lines there). */
  write(path: string, witness?: string): void {
    for (const [name, content] of this.contents(path)) writeFileSync(name, content);
    if (witness !== undefined) writeFileSync(witness, this.checkpoints.map((l) => `${l}\n`).join(''));
  }
}
