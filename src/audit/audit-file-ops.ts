import type { FileHandle } from 'node:fs/promises';

/**
 * The two calls of a batch that reach the disk, as a seam: tests count syncs (group commit) and make a write or a
 * sync fail; production uses {@link nodeFileOps}. Everything else the writer does uses the real file system.
 */
export interface AuditFileOps {
  /** Writes all of `data` at the end of `file` (opened for append), or throws. */
  write(file: FileHandle, data: Buffer): Promise<void>;
  /** Makes what was written durable (fdatasync), or throws. */
  sync(file: FileHandle): Promise<void>;
}

/** The real thing: a write loop (a short write continues where it stopped) and `fdatasync`. */
export const nodeFileOps: AuditFileOps = {
  async write(file, data) {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await file.write(data, done, data.length - done);
      done += bytesWritten;
    }
  },
  sync: (file) => file.datasync(),
};
