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

export interface More<I> {
  /** The polled first page's items, then those of the pages "More" added (each once, by key). */
  items: I[];
  /** The token of the page after the last one loaded (none: everything is loaded). */
  nextToken?: string;
  busy: boolean;
  error?: ApiError;
  more: () => void;
}

/**
 * A paged list inside a polled answer (`volumes` and `volumesNextToken` of `/findings`, …), with the pages a "More"
 * button adds kept below the first page while polling re-reads it: a poll never drops a page loaded. A token refused
 * (the list changed since: 400) drops the added pages and shows the error; the next "More" starts from the first page.
 *
 * @example
 * const volumes = useMore('/findings', polled.data, (f) => ({ items: f.volumes, nextToken: f.volumesNextToken }), (v) => v.volumeId);
 */
export function useMore<R, I>(path: string, answer: R | undefined, pick: (r: R) => { items: I[]; nextToken?: string }, key: (item: I) => string): More<I> {
  const [tail, setTail] = useState<{ path: string; items: I[]; nextToken?: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const first = answer === undefined ? undefined : pick(answer);
  const added = tail?.path === path ? tail : undefined;
  const seen = new Set<string>();
  const items = [...(first?.items ?? []), ...(added?.items ?? [])].filter((item) => !seen.has(key(item)) && Boolean(seen.add(key(item))));
  const nextToken = added ? added.nextToken : first?.nextToken;
  const more = useCallback(() => {
    if (!nextToken) return;
    setBusy(true);
    apiGet<R>(`${path}${path.includes('?') ? '&' : '?'}nextToken=${encodeURIComponent(nextToken)}`)
      .then((r) => {
        const page = pick(r);
        setTail((t) => ({ path, items: [...(t?.path === path ? t.items : []), ...page.items], nextToken: page.nextToken }));
        setError(undefined);
      })
      .catch((e: unknown) => {
        setTail(undefined);
        setError(toApiError(e));
      })
      .finally(() => setBusy(false));
  }, [path, nextToken, pick]);
  return { items, ...(nextToken ? { nextToken } : {}), busy, ...(error ? { error } : {}), more };
}
