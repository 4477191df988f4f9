import { CofreError } from '../../errors.js';
import { describeSecret, targetName } from '../../rotation/rotation-audit.js';
import type { RotationRecord } from '../../rotation/rotation-types.js';
import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

const ACTIVE_STEP: Partial<Record<RotationRecord['status'], string>> = {
  created: 'step 1-3 (pending written or being written; test next)',
  tested: 'step 4 (tested; promotion next)',
};

/**
 * `cofre rotate --status [id]`: the rotations of the state file, unfinished ones first (each with the command that
 * finishes it), then the rest newest first; or one rotation. `--json` prints the records. Reads only the state file:
 * no backend is opened, no value read.
 */
export async function rotateStatus(
  io: CliIo,
  global: GlobalOptions,
  id: string | undefined,
  json: boolean,
): Promise<void> {
  const config = await loadCliConfig(io, global);
  const { state, close: closeState } = await openCliState(io, config);
  try {
    let records: readonly RotationRecord[];
    if (id !== undefined) {
      const record = await state.rotation(id);
      if (record === undefined) {
        throw new CofreError(
          'COFRE_ROTATION_NOT_FOUND',
          `no rotation ${id}; cofre rotate --status lists them`,
        );
      }
      records = [record];
    } else {
      const active = await state.rotations({ active: true });
      const ended = (await state.rotations()).filter((r) => !active.some((a) => a.id === r.id));
      records = [...active, ...ended];
    }
    if (json) {
      println(io.stdout, JSON.stringify(records.map(toJson), null, 2));
      return;
    }
    if (records.length === 0) println(io.stderr, 'No rotations yet.');
    for (const record of records) printRecord(io, record);
  } finally {
    await closeState();
  }
}

function printRecord(io: CliIo, record: RotationRecord): void {
  const step = ACTIVE_STEP[record.status];
  println(
    io.stdout,
    `${record.id}  ${record.status}  ${targetName(record)}  started ${record.startedAt.toISOString()} by ${record.by}`,
  );
  for (const secret of record.secrets) println(io.stdout, `    ${describeSecret(secret)}`);
  if (step !== undefined)
    println(io.stdout, `    at ${step}: finish with cofre rotate --resume ${record.id}`);
  if (record.promotedAt !== undefined) println(io.stdout, `    promoted ${record.promotedAt.toISOString()}`);
  if (record.error !== undefined) println(io.stdout, `    error: ${record.error}`);
}

function toJson(record: RotationRecord): Record<string, unknown> {
  return {
    ...record,
    active: ACTIVE_STEP[record.status] !== undefined,
    startedAt: record.startedAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    ...(record.promotedAt === undefined ? {} : { promotedAt: record.promotedAt.toISOString() }),
  };
}
