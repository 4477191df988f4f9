// A small Server-Sent Events reader for the tests of `GET /v1/operator/events`, over fetch's stream: it parses
// `event:`/`data:` blocks and lets a test wait for the next event of a name whose data passes a check.

/** An open event stream. */
export interface EventStream {
  readonly headers: Headers;
  /** Every event received so far, in order. */
  readonly events: readonly { readonly event: string; readonly data: unknown }[];
  /** The data of the first event named `name` not yet taken whose data passes `check`; fails after `timeoutMs`. */
  next(name: string, check?: (data: unknown) => boolean, timeoutMs?: number): Promise<unknown>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

export async function openEventStream(url: string, token: string): Promise<EventStream> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: abort.signal,
  });
  if (response.status !== 200 || response.body === null) {
    throw new Error(`event stream answered ${response.status}: ${await response.text()}`);
  }
  const events: { event: string; data: unknown }[] = [];
  let taken = 0;
  const waiters = new Set<() => void>();
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const ended = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value as Uint8Array, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name !== undefined && data !== undefined) events.push({ event: name, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        for (const wake of waiters) wake();
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    headers: response.headers,
    events,
    ended,
    async next(name, check = () => true, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (let i = taken; i < events.length; i++) {
          const e = events[i];
          if (e !== undefined && e.event === name && check(e.data)) {
            taken = i + 1;
            return e.data;
          }
        }
        if (Date.now() > deadline) {
          throw new Error(`no "${name}" event in time; got ${JSON.stringify(events.slice(taken))}`);
        }
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, 100);
          waiters.add(wake);
        });
      }
    },
    close() {
      abort.abort();
    },
  };
}
