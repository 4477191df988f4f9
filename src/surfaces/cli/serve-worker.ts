/**
 * One worker of `cofre serve --workers N` (the process node:cluster forks; see serve-workers.ts). It serves the
 * config the primary sends, on the socket the primary shares, and records through the primary's audit log.
 */
import { bufferedDestination, createLogger } from '../../audit/create-logger.js';
import { IpcAuditSink, type IpcChannel } from '../../audit/ipc-audit-sink.js';
import type { BrokerControl } from '../../broker/broker-control.js';
import { CofreError } from '../../errors.js';
import type { HaltState } from '../../state/control-store.js';
import { type BrokerServer, startBrokerServer } from './broker-server.js';
import {
  type Halt,
  type HaltedAll,
  isMessage,
  type Resume,
  type WorkerMessage,
  type WorkerStart,
} from './worker-messages.js';

/**
 * Runs a worker on `channel` (the worker's `process`): waits for the start message, serves, and closes on the
 * primary's stop message, on SIGTERM, or when the channel to the primary closes (the primary is gone: with it the
 * audit log, so every action would be refused anyway). Resolves once closed: true, or false when it could not start
 * (the primary was told why).
 *
 * SIGINT is ignored: a terminal's Ctrl-C reaches every process of the group, and the primary stops the workers in
 * order (it must outlive them: it writes their audit records).
 */
export async function runServeWorker(channel: IpcChannel): Promise<boolean> {
  process.on('SIGINT', () => undefined);
  const start = await new Promise<WorkerStart>((done) => {
    const first = (message: unknown): void => {
      if (!isMessage<WorkerStart>(message, 'cofre-worker-start')) return;
      channel.off('message', first);
      done(message);
    };
    channel.on('message', first);
    send(channel, { type: 'cofre-worker-waiting' });
  });
  const logger = createLogger({ destination: bufferedDestination() }).child({ worker: process.pid });
  let server: BrokerServer;
  try {
    server = await startBrokerServer(start.config, {
      logger,
      verify: false, // the primary checked the config before forking
      host: start.host,
      port: start.port,
      audit: new IpcAuditSink(channel),
      venueRateShare: start.venueRateShare,
      reconcile: start.reconcile,
      console: start.console,
      operatorBroker: (broker) => haltingEveryWorker(broker, channel),
    });
  } catch (err) {
    const code = err instanceof CofreError ? err.code : 'COFRE_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    send(channel, { type: 'cofre-worker-failed', code, message });
    return false;
  }
  const unfollow = followPeerHalts(server, channel);
  send(channel, { type: 'cofre-worker-ready', url: server.url, consoleUrl: server.consoleUrl });
  await new Promise<void>((done) => {
    channel.on('message', (message) => {
      if (isMessage(message, 'cofre-worker-stop')) done();
    });
    channel.on('disconnect', done);
    process.once('SIGTERM', () => {
      done();
    });
  });
  unfollow();
  logger.info('worker stopping: finishing the requests in flight');
  await server.close();
  return true;
}

/**
 * The operator API's view of the broker in a worker: a halt stops this worker and, through the primary, every
 * other one, and resolves once none of them has a venue write in flight (so "halted" means halted everywhere); a
 * resume lifts the halt held in each worker's memory. The persisted halt (the state store) is what a worker started
 * later, or one the message misses, sees.
 */
export function haltingEveryWorker(broker: BrokerControl, channel: IpcChannel): BrokerControl {
  let next = 1;
  const everyOther = (state: HaltState): Promise<void> =>
    new Promise((done) => {
      const id = next++;
      const finish = (): void => {
        channel.off('message', answer);
        channel.off('disconnect', finish);
        done();
      };
      const answer = (message: unknown): void => {
        if (isMessage<HaltedAll>(message, 'cofre-halted-all') && message.id === id) finish();
      };
      channel.on('message', answer);
      // No primary, no other worker: they stop on their own when the channel closes.
      channel.on('disconnect', finish);
      if (!send(channel, { type: 'cofre-halt-all', id, state })) finish();
    });
  return {
    executeApproved: (requestId, operator) => broker.executeApproved(requestId, operator),
    cancelAllOpenOrders: (by) => broker.cancelAllOpenOrders(by),
    halt: async (state) => {
      await Promise.all([broker.halt(state), everyOther(state)]);
    },
    resume: () => {
      broker.resume();
      send(channel, { type: 'cofre-resume-all' });
    },
  };
}

/** Halts and resumes this worker's broker when another worker's operator API did; returns a function to stop. */
function followPeerHalts(server: BrokerServer, channel: IpcChannel): () => void {
  const listener = (message: unknown): void => {
    if (isMessage<Halt>(message, 'cofre-halt')) {
      void server.runtime.broker.halt(message.state).then(() => {
        send(channel, { type: 'cofre-halted', id: message.id });
      });
    } else if (isMessage<Resume>(message, 'cofre-resume')) {
      server.runtime.broker.resume();
    }
  };
  channel.on('message', listener);
  return () => {
    channel.off('message', listener);
  };
}

/** Sends if the channel is open; false when it is not (the primary is gone). */
function send(channel: IpcChannel, message: WorkerMessage): boolean {
  if (!channel.connected) return false;
  try {
    channel.send(message, () => undefined);
    return true;
  } catch {
    return false;
  }
}
