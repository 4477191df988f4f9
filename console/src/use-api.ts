// Data loading for the pages: the session's Api from context, and one hook for "fetch this, refetch on demand".
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';

import { type Api, ApiError } from './api.js';

/** The logged-in session's {@link Api}; absent on the login page. */
export const ApiContext = createContext<Api | undefined>(undefined);
/** The logged-in operator's id. */
export const OperatorContext = createContext<string>('');

/** The session's Api; throws outside the logged-in part of the page (a bug, not a state). */
export function useApi(): Api {
  const api = useContext(ApiContext);
  if (api === undefined) throw new Error('useApi outside a logged-in page');
  return api;
}

/** A value loaded from the operator API, with its last error and a way to load it again. */
export interface Resource<T> {
  /** The last good answer (kept while a refetch runs or fails, so the page does not flicker). */
  readonly data: T | undefined;
  readonly error: ApiError | undefined;
  readonly loading: boolean;
  readonly reload: () => void;
}

/**
 * Loads `load(api)` now, again whenever `key` changes, and on `reload()`. An answer that arrives after a newer
 * request started is dropped, so a slow old page never overwrites a fresh one.
 */
export function useResource<T>(load: (api: Api) => Promise<T>, key: string): Resource<T> {
  const api = useApi();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const latestLoad = useRef(load);
  latestLoad.current = load;

  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    latestLoad
      .current(api)
      .then((value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      })
      .catch((cause: unknown) => {
        if (mine !== generation.current) return;
        setError(asApiError(cause));
      })
      .finally(() => {
        if (mine === generation.current) setLoading(false);
      });
  }, [api, key, tick]);

  const reload = useCallback(() => {
    setTick((t) => t + 1);
  }, []);
  return { data, error, loading, reload };
}

/** Any thrown value as an ApiError, so every failure shows one way. */
export function asApiError(cause: unknown): ApiError {
  if (cause instanceof ApiError) return cause;
  return new ApiError(0, 'CONSOLE', cause instanceof Error ? cause.message : String(cause));
}
