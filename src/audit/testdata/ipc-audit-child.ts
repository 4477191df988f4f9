// A forked process appending through an IpcAuditSink, for ipc-audit-sink.test.ts. Waits for commands from its parent
// and prints each command's outcomes (`ok` or an error code) as one JSON line on stdout (which outlives the channel).
import type { AuditEvent } from '../audit-log.js';
import { IpcAuditSink, type IpcChannel } from '../ipc-audit-sink.js';

const sink = new IpcAuditSink(process as unknown as IpcChannel);
const event = (id: string): AuditEvent => ({
  kind: 'intent',
  requestId: id,
  agent: 'bot',
  action: 'get_balance',
});
const outcome = (append: Promise<void>): Promise<string> =>
  append.then(
    () => 'ok',
    (err: unknown) => (err as { code?: string }).code ?? 'not a cofre error',
  );
const print = (results: readonly string[]): void => {
  process.stdout.write(`${JSON.stringify(results)}\n`);
};

process.on('message', (message: { do: string; count?: number }) => {
  if (message.do === 'append') {
    const appends = Array.from({ length: message.count ?? 1 }, (_, i) =>
      outcome(sink.append(event(`req_${i}`), i % 2 === 1 ? { wait: 'written' } : undefined)),
    );
    void Promise.all(appends).then(print);
  } else if (message.do === 'append-then-lose-the-channel') {
    const pending = outcome(sink.append(event('req_pending')));
    // After the sink's own flush (immediates run in order): the parent gets the append first.
    setImmediate(() => process.send?.({ sent: true }));
    void pending.then(async (first) => {
      print([first, await outcome(sink.append(event('req_after')))]);
      await sink.close();
    });
  }
});
process.send?.({ ready: true });
