import { type FileHandle, open } from 'node:fs/promises';

import { ensurePrivateFolder, securePrivateFile } from '../config/private-file.js';
import type { WitnessSink } from './witness-sink.js';

/**
 * A file witness: each checkpoint line appended, byte for byte as in the log, with `\n`, and fdatasync'ed. Best on
 * another disk or a mount the log's host cannot rewrite. Reopened after a failure. Lines are written in call order.
 */
export class FileWitness implements WitnessSink {
  readonly name: string;
  readonly #path: string;
  #file: FileHandle | undefined;
  #tail: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.#path = path;
    this.name = `file ${path}`;
  }

  write(line: string): Promise<void> {
    const next = this.#tail.then(async () => {
      try {
        if (this.#file === undefined) {
          ensurePrivateFolder(this.#path);
          securePrivateFile(this.#path, { create: true });
          this.#file = await open(this.#path, 'a', 0o600);
        }
        await this.#file.appendFile(`${line}\n`, 'utf8');
        await this.#file.datasync();
      } catch (err) {
        const file = this.#file;
        this.#file = undefined;
        await file?.close().catch(() => undefined);
        throw err;
      }
    });
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.#tail;
    const file = this.#file;
    this.#file = undefined;
    await file?.close();
  }
}
