import { useCallback, useEffect, useState } from 'preact/hooks';
import { apiGet, toApiError, type ApiError } from './api.js';

/** How often the current view asks its API again (the page is live as the virtual clock moves). */
export const POLL_MS = 2000;

export interface Polled<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  /** Asks again now (after a button changed something). */
  refresh: () => void;
}

/**
 * GETs `path` now and every `intervalMs` while the tab is visible; stops while it is hidden and asks again when it
 * shows. Keeps the last answer when a later request fails, so that an error shows above data instead of a blank
 * page. A new `path` drops the old answer.
 */
export function usePoll<T>(path: string, intervalMs = POLL_MS): Polled<T> {
  const [state, setState] = useState<{ path: string; data?: T; error?: ApiError; loading: boolean }>({ path, loading: true });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;
    const load = async () => {
      clearTimeout(timer);
      controller?.abort();
      const mine = (controller = new AbortController());
      try {
        const data = await apiGet<T>(path, mine.signal);
        if (!stopped && controller === mine) setState({ path, data, loading: false });
      } catch (error) {
        if (stopped || controller !== mine) return;
        setState((s) => ({ path, data: s.path === path ? s.data : undefined, error: toApiError(error), loading: false }));
      }
      if (!stopped && controller === mine && !document.hidden) timer = setTimeout(() => void load(), intervalMs);
    };
    const onVisibility = () => {
      if (document.hidden) {
        clearTimeout(timer);
        controller?.abort();
        controller = undefined;
      } else void load();
    };
    setState((s) => (s.path === path ? s : { path, loading: true }));
    void load();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [path, intervalMs, nonce]);
  const refresh = useCallback(() => setNonce((n) => n + 1), []);
  if (state.path !== path) return { loading: true, refresh };
  return { data: state.data, error: state.error, loading: state.loading && state.data === undefined, refresh };
}
