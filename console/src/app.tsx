// The console's shell: session (resume or log in), the header with navigation and the kill switch, the halted banner
// on every page, the live-events indicator, and hash routing (#/approvals, #/activity/<id>, …) so the server needs
// no route per page.
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';

import type {
  ApprovalsJson,
  ConsoleSessionJson,
  HaltJson,
} from '../../src/surfaces/http/operator-api-types.js';
import { ActivityPage } from './activity-page.js';
import { AgentsPage } from './agents-page.js';
import { Api, currentSession, logOut } from './api.js';
import { ApprovalsPage } from './approvals-page.js';
import { AuditPage } from './audit-page.js';
import { HaltBanner, HaltControl } from './kill-switch.js';
import { LimitsPage } from './limits-page.js';
import { LiveEvents, LiveEventsContext, type LiveState, useLiveEvent } from './live-events.js';
import { LoginPage } from './login-page.js';
import { OperatorsPage } from './operators-page.js';
import { ApiContext, OperatorContext, useResource } from './use-api.js';

const PAGES = [
  { path: 'approvals', title: 'Approvals' },
  { path: 'limits', title: 'Limits' },
  { path: 'activity', title: 'Activity' },
  { path: 'audit', title: 'Audit' },
  { path: 'agents', title: 'Agents' },
  { path: 'operators', title: 'Operators' },
] as const;
type PagePath = (typeof PAGES)[number]['path'];

type SessionState =
  | { readonly kind: 'loading' }
  | { readonly kind: 'out'; readonly notice: string | undefined }
  | { readonly kind: 'in'; readonly session: ConsoleSessionJson };

/** The whole console: the login page until there is a session, then the pages. */
export function App(): JSX.Element {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });

  useEffect(() => {
    currentSession()
      .then((session) => {
        setState(session === undefined ? { kind: 'out', notice: undefined } : { kind: 'in', session });
      })
      .catch((cause: unknown) => {
        setState({ kind: 'out', notice: cause instanceof Error ? cause.message : 'cofre did not answer' });
      });
  }, []);

  const ended = useCallback(() => {
    setState((current) =>
      current.kind === 'in' ? { kind: 'out', notice: 'Your session ended. Log in again.' } : current,
    );
  }, []);

  if (state.kind === 'loading') {
    return (
      <main class="login" id="main">
        <p role="status">Loading…</p>
      </main>
    );
  }
  if (state.kind === 'out') {
    return (
      <LoginPage
        notice={state.notice}
        onLoggedIn={(session) => {
          setState({ kind: 'in', session });
        }}
      />
    );
  }
  return (
    <Console
      session={state.session}
      onSessionEnded={ended}
      onLoggedOut={() => {
        setState({ kind: 'out', notice: 'You are logged out.' });
      }}
    />
  );
}

function Console(props: {
  readonly session: ConsoleSessionJson;
  readonly onSessionEnded: () => void;
  readonly onLoggedOut: () => void;
}): JSX.Element {
  const { session, onSessionEnded } = props;
  const api = useMemo(() => new Api(session.csrfToken, onSessionEnded), [session.csrfToken, onSessionEnded]);
  const events = useMemo(
    () =>
      new LiveEvents('/v1/operator/events', () => {
        // The browser gave up on the stream: if the session is gone, go back to the login page.
        void currentSession()
          .then((current) => {
            if (current === undefined) onSessionEnded();
          })
          .catch(() => undefined);
      }),
    [onSessionEnded],
  );
  useEffect(() => {
    events.open();
    return () => {
      events.close();
    };
  }, [events]);
  useOperatorActivity(onSessionEnded);

  return (
    <ApiContext.Provider value={api}>
      <OperatorContext.Provider value={session.operator}>
        <LiveEventsContext.Provider value={events}>
          <Shell session={session} events={events} onLoggedOut={props.onLoggedOut} />
        </LiveEventsContext.Provider>
      </OperatorContext.Provider>
    </ApiContext.Provider>
  );
}

function Shell(props: {
  readonly session: ConsoleSessionJson;
  readonly events: LiveEvents;
  readonly onLoggedOut: () => void;
}): JSX.Element {
  const route = useHashRoute();
  const halt = useResource((api) => api.get<HaltJson>('/v1/operator/halt'), 'halt');
  useLiveEvent('halt', halt.reload);
  const pending = usePendingCount();
  const live = useLiveState(props.events);
  const mainRef = useRef<HTMLElement>(null);

  useEffect(() => {
    document.title = `${PAGES.find((p) => p.path === route.page)?.title ?? 'Approvals'} · cofre console`;
  }, [route.page]);

  const logout = async (): Promise<void> => {
    await logOut(props.session.csrfToken).catch(() => undefined);
    props.onLoggedOut();
  };

  return (
    <>
      <a
        class="skip-link"
        href="#main"
        onClick={(event) => {
          event.preventDefault();
          mainRef.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <div class="top-row">
          <a class="brand" href="#/approvals">
            cofre
          </a>
          <span class={`live live-${live}`} role="status">
            {/* On a phone the coloured dot says it; screen readers still read the word. */}
            <span class="wide-only">
              {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
            </span>
          </span>
          <span class="top-spacer" />
          <HaltControl halted={halt.data?.halted === true} onChanged={halt.reload} />
          <span class="operator" title="The operator of this session">
            {props.session.operator}
          </span>
          <button type="button" class="button button-plain" onClick={() => void logout()}>
            Log out
          </button>
        </div>
        <nav aria-label="Console pages">
          <ul class="nav">
            {PAGES.map((page) => (
              <li key={page.path}>
                <a href={`#/${page.path}`} aria-current={route.page === page.path ? 'page' : undefined}>
                  {page.title}
                  {page.path === 'approvals' && pending.count > 0 ? (
                    <span class="badge" aria-label={`${pending.count} pending`}>
                      {pending.count}
                    </span>
                  ) : null}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      {halt.data === undefined ? null : <HaltBanner halt={halt.data} onChanged={halt.reload} />}
      <p class="visually-hidden" aria-live="polite">
        {pending.announcement}
      </p>
      <main id="main" ref={mainRef} tabIndex={-1} class="page">
        <Page route={route} />
      </main>
    </>
  );
}

function Page(props: { readonly route: HashRoute }): ComponentChildren {
  switch (props.route.page) {
    case 'limits':
      return <LimitsPage />;
    case 'activity':
      return <ActivityPage requestId={props.route.rest} />;
    case 'audit':
      return <AuditPage />;
    case 'agents':
      return <AgentsPage />;
    case 'operators':
      return <OperatorsPage />;
    case 'approvals':
      return <ApprovalsPage />;
  }
}

interface HashRoute {
  readonly page: PagePath;
  /** What follows the page in the hash (`#/activity/<requestId>`), decoded. */
  readonly rest: string | undefined;
}

function routeOf(hash: string): HashRoute {
  const [page = '', ...rest] = hash.replace(/^#\/?/, '').split('/');
  const known = PAGES.find((p) => p.path === page);
  const tail = rest.join('/');
  return { page: known?.path ?? 'approvals', rest: tail === '' ? undefined : decodeURIComponent(tail) };
}

function useHashRoute(): HashRoute {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const changed = (): void => {
      setRoute(routeOf(location.hash));
    };
    addEventListener('hashchange', changed);
    return () => {
      removeEventListener('hashchange', changed);
    };
  }, []);
  return route;
}

/** How often, at most, the operator's clicks and keys count as activity for the server's idle timeout. */
const ACTIVITY_EVERY_MS = 60_000;

/**
 * Tells the server the operator is here: polls and the event stream do not restart the session's idle timer (an
 * unattended tab must still time out), so a page change, and a click or key at most once a minute, call
 * `GET /console/session`, which does. An answer of "no session" goes back to the login page.
 */
function useOperatorActivity(onSessionEnded: () => void): void {
  useEffect(() => {
    let last = Date.now();
    const touch = (force: boolean): void => {
      const now = Date.now();
      if (!force && now - last < ACTIVITY_EVERY_MS) return;
      last = now;
      void currentSession()
        .then((session) => {
          if (session === undefined) onSessionEnded();
        })
        .catch(() => undefined);
    };
    const onPage = (): void => {
      touch(true);
    };
    const onInput = (): void => {
      touch(false);
    };
    addEventListener('hashchange', onPage);
    addEventListener('click', onInput, { capture: true, passive: true });
    addEventListener('keydown', onInput, { capture: true, passive: true });
    return () => {
      removeEventListener('hashchange', onPage);
      removeEventListener('click', onInput, { capture: true });
      removeEventListener('keydown', onInput, { capture: true });
    };
  }, [onSessionEnded]);
}

function useLiveState(events: LiveEvents): LiveState {
  const [state, setState] = useState(events.state);
  useEffect(() => events.onState(setState), [events]);
  return state;
}

/** The pending approvals count for the nav badge, and a line for screen readers when new ones arrive. */
function usePendingCount(): { readonly count: number; readonly announcement: string } {
  const pending = useResource(
    (api) => api.get<ApprovalsJson>('/v1/operator/approvals', { status: 'pending' }),
    'pending-count',
  );
  useLiveEvent('approvals', pending.reload);
  const count = pending.data?.approvals.filter((a) => a.status === 'pending').length ?? 0;
  const previous = useRef<number | undefined>(undefined);
  const [announcement, setAnnouncement] = useState('');
  useEffect(() => {
    if (pending.data === undefined) return;
    if (previous.current !== undefined && count > previous.current) {
      setAnnouncement(`New approval request: ${count} pending.`);
    }
    previous.current = count;
  }, [count, pending.data]);
  return { count, announcement };
}
