// The process entry point of a worker of `cofre serve --workers N`: node:cluster runs this file (serve-workers.ts).
import type { IpcChannel } from '../../audit/ipc-audit-sink.js';
import { runServeWorker } from './serve-worker.js';

const served = await runServeWorker(process as unknown as IpcChannel);
if (process.connected) process.disconnect();
// Open handles a closed runtime may leave behind (a venue's keep-alive socket) must not keep a stopped worker alive.
process.exit(served ? 0 : 1);
