// The login form: an operator token becomes a session cookie (the server sets it); the token is not kept here.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

import type { ConsoleSessionJson } from '../../src/surfaces/http/operator-api-types.js';
import { ApiError, logIn } from './api.js';

/** The login form, with why the last session ended when it did. */
export function LoginPage(props: {
  /** Why the login page shows (the session ended), if not a first visit. */
  readonly notice: string | undefined;
  readonly onLoggedIn: (session: ConsoleSessionJson) => void;
}): JSX.Element {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    input.current?.focus();
  }, []);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (token.trim() === '') {
      setError('Paste an operator token (from `cofre operator add`).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const session = await logIn(token.trim());
      setToken('');
      props.onLoggedIn(session);
    } catch (cause) {
      setError(loginMessage(cause));
      input.current?.select();
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login" id="main">
      <form class="login-card" onSubmit={(event) => void submit(event)} noValidate>
        <h1>
          <span class="brand">cofre</span> operator console
        </h1>
        {props.notice === undefined ? null : (
          <p class="notice" role="status">
            {props.notice}
          </p>
        )}
        <div class="field">
          <label for="login-token">Operator token</label>
          <input
            id="login-token"
            ref={input}
            type="password"
            name="token"
            autocomplete="off"
            spellcheck={false}
            aria-describedby="login-help"
            aria-invalid={error === undefined ? undefined : true}
            value={token}
            onInput={(event) => {
              setToken(event.currentTarget.value);
            }}
          />
          <p id="login-help" class="help">
            An operator token from <code>cofre operator add</code>. Agent tokens cannot log in.
          </p>
        </div>
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <p class="error" role="alert">
          {error ?? ''}
        </p>
      </form>
    </main>
  );
}

/** What to tell a person whose login was refused; never echoes the token. */
function loginMessage(cause: unknown): string {
  if (!(cause instanceof ApiError)) return 'Login failed.';
  if (cause.code === 'COFRE_OPERATOR_TOKEN_REQUIRED') {
    return 'That is an agent token. The console takes operator tokens only (cofre operator add).';
  }
  if (cause.status === 429) {
    const wait = cause.retryAfter === undefined ? 'a while' : `${cause.retryAfter} s`;
    return `Too many login attempts. Wait ${wait} and try again.`;
  }
  if (cause.status === 401) return 'That token was not accepted: unknown, expired or revoked.';
  if (cause.status === 403) return `Login refused: ${cause.message}`;
  return cause.message;
}
