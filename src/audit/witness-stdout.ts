import type { WitnessSink } from './witness-sink.js';

/** A stdout witness: one checkpoint line each, for a log shipper reading cofre's standard output. */
export class StdoutWitness implements WitnessSink {
  readonly name = 'stdout';
  readonly #out: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream = process.stdout) {
    this.#out = out;
  }

  write(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#out.write(`${line}\n`, (err) => {
        if (err == null) resolve();
        else reject(err);
      });
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
