// The operator event stream (`GET /v1/operator/events`, server-sent events): what changed, so pages refetch it.
import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';

import type { OperatorEventJson } from '../../src/surfaces/http/operator-api-types.js';

/** The names of the operator events (`event:` lines of the stream). */
export type EventName = OperatorEventJson['event'];
export type EventData<N extends EventName> = Extract<OperatorEventJson, { event: N }>['data'];
/** `live` while the stream is open; `reconnecting` while the browser retries it. */
export type LiveState = 'connecting' | 'live' | 'reconnecting';

const NAMES: readonly EventName[] = ['approvals', 'halt', 'requests', 'audit-verification', 'ping'];
/** How long to wait before opening a new stream once the browser gave up on one (it closes on a 4xx/5xx answer). */
const REOPEN_MS = 3000;

type Listener = (data: unknown) => void;

/**
 * One EventSource for the whole page, with listeners by event name. The browser reconnects a dropped stream by
 * itself (honouring `retry:`); when it gives up (the server answered an error, e.g. the session ended), this opens a
 * new one after a pause and lets `onClosed` check the session.
 */
export class LiveEvents {
  private source: EventSource | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stateListeners = new Set<(state: LiveState) => void>();
  private reopen: ReturnType<typeof setTimeout> | undefined;
  state: LiveState = 'connecting';

  constructor(
    private readonly url: string,
    private readonly onClosed: () => void,
  ) {}

  /** Same-origin, so the session cookie goes along. */
  open(): void {
    const source = new EventSource(this.url);
    this.source = source;
    source.onopen = () => {
      this.setState('live');
      // Whatever happened while the stream was down, the pages catch up now.
      for (const name of NAMES) this.emit(name, undefined);
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        this.setState('reconnecting');
        this.onClosed();
        this.reopen = setTimeout(() => {
          if (this.source === source) this.open();
        }, REOPEN_MS);
      } else {
        this.setState('reconnecting');
      }
    };
    for (const name of NAMES) {
      source.addEventListener(name, (event: MessageEvent<string>) => {
        this.emit(name, parseData(event.data));
      });
    }
  }

  close(): void {
    clearTimeout(this.reopen);
    this.source?.close();
    this.source = undefined;
  }

  on(name: EventName, listener: Listener): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  onState(listener: (state: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private emit(name: EventName, data: unknown): void {
    for (const listener of this.listeners.get(name) ?? []) listener(data);
  }

  private setState(state: LiveState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

function parseData(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The page's one event stream, for {@link useLiveEvent}. */
export const LiveEventsContext = createContext<LiveEvents | undefined>(undefined);

/**
 * Calls `listener` on each `name` event (data undefined: the stream reopened, refetch anyway). The latest listener
 * is used without resubscribing.
 */
export function useLiveEvent<N extends EventName>(
  name: N,
  listener: (data: EventData<N> | undefined) => void,
): void {
  const events = useContext(LiveEventsContext);
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => {
    if (events === undefined) return undefined;
    return events.on(name, (data) => {
      latest.current(data as EventData<N> | undefined);
    });
  }, [events, name]);
}
