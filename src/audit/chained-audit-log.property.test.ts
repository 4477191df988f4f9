// Property: whatever the bursts of concurrent appends and whichever writes or syncs fail, the file holds exactly the
// acknowledged records, in the order they were appended, as one valid chain (no record of a failed batch, no torn
// line), and the log recovers after every failure.
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { nodeFileOps } from './audit-file-ops.js';
import { ChainedAuditLog } from './chained-audit-log.js';
import { checkChain } from './testdata/check-chain.js';

type Fault = 'none' | 'write' | 'short-write' | 'sync';

describe('ChainedAuditLog under failing writes and syncs', () => {
  it('keeps exactly the acknowledged records, in order, as one chain', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            size: fc.integer({ min: 1, max: 20 }),
            fault: fc.constantFrom<Fault>('none', 'none', 'write', 'short-write', 'sync'),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.integer({ min: 2, max: 30 }),
        async (bursts, every) => {
          const dir = await mkdtemp(join(tmpdir(), 'cofre-chain-prop-'));
          const path = join(dir, 'audit.jsonl');
          let fault: Fault = 'none';
          const log = new ChainedAuditLog(
            { path, checkpoint: { every, interval: 60_000 }, rotate: { maxSize: 1024 ** 3, keep: 10 } },
            {
              reporter: { warn: () => undefined, error: () => undefined },
              fileOps: {
                write: async (file: FileHandle, data: Buffer) => {
                  if (fault === 'write') throw new Error('EIO');
                  if (fault === 'short-write') {
                    await nodeFileOps.write(file, data.subarray(0, Math.floor(data.length / 2)));
                    throw new Error('ENOSPC');
                  }
                  await nodeFileOps.write(file, data);
                },
                sync: async (file: FileHandle) => {
                  if (fault === 'sync') throw new Error('EIO');
                  await nodeFileOps.sync(file);
                },
              },
            },
          );
          try {
            const acknowledged: string[] = [];
            let n = 0;
            for (const burst of bursts) {
              fault = burst.fault;
              const ids = Array.from({ length: burst.size }, () => `r${n++}`);
              const results = await Promise.allSettled(
                ids.map((requestId) => log.append({ kind: 'intent', requestId, agent: 'a', action: 'x' })),
              );
              results.forEach((r, i) => {
                if (r.status === 'fulfilled') acknowledged.push(ids[i]!);
                else expect(isCofreError(r.reason, 'COFRE_AUDIT_UNAVAILABLE')).toBe(true);
              });
              expect(
                results.every((r) => r.status === (burst.fault === 'none' ? 'fulfilled' : 'rejected')),
              ).toBe(true);
            }
            fault = 'none';
            await log.close();
            const records = await checkChain([path]).catch((err: unknown) => {
              if (acknowledged.length === 0) return []; // nothing was ever written
              throw err;
            });
            expect(
              records.filter((r) => r.record.kind === 'intent').map((r) => r.record['requestId']),
            ).toEqual(acknowledged);
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
