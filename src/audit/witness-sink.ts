/**
 * Witnesses: places outside the log file that keep a copy of every checkpoint line (issue 10), so that cutting the
 * log after its last local checkpoint is detectable from a copy the attacker does not also control.
 */
import type { AuditWitnessConfig } from '../config/config-schema.js';
import { FileWitness } from './witness-file.js';
import { HttpWitness } from './witness-http.js';
import { StdoutWitness } from './witness-stdout.js';

/**
 * One witness. `write` gets each checkpoint line (without `\n`) once it is durable in the log; it may be slow or
 * fail, and the writer never waits on it to acknowledge an append (a witness failure is logged, never fatal).
 * `write` may be called again before an earlier call settled; a witness keeps its lines in call order.
 */
export interface WitnessSink {
  /** For log messages, e.g. `file /var/log/cofre-witness.jsonl`. Holds no secret. */
  readonly name: string;
  write(line: string): Promise<void>;
  /** Waits for lines already given (within the witness's own retry bound), then releases resources. */
  close(): Promise<void>;
}

/**
 * The witnesses of `audit.witnesses`. `stdout` is where a `stdout` witness writes (default `process.stdout`): pass
 * `process.stderr` where stdout is a protocol channel (`cofre mcp`) or a command's output (`--json`).
 */
export function createWitnesses(
  configs: readonly AuditWitnessConfig[],
  options: { readonly stdout?: NodeJS.WritableStream } = {},
): WitnessSink[] {
  return configs.map((c) => {
    switch (c.type) {
      case 'file':
        return new FileWitness(c.path);
      case 'stdout':
        return new StdoutWitness(options.stdout);
      case 'http':
        return new HttpWitness(c.url, { timeoutMs: c.timeout });
    }
  });
}
