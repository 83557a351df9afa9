import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { apiSend, toApiError, type ApiError } from './api.js';
import { formatTime, statusTone } from './format.js';
import type { More } from './hooks.js';
import type { ExecutionSummary, Signal } from './types.js';

/** The console's base path ('/console/'); every view's address starts with it. */
export const BASE = import.meta.env.BASE_URL;
export const href = (path = '') => `${BASE}${path.replace(/^\/+/, '')}`;

export function ErrorBox({ error, what }: { error: ApiError; what?: string }) {
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{what ? `Could not load ${what}: ` : 'Error: '}</strong>
      {error.message}
      {error.code && error.status ? <span class="muted"> ({error.code}, HTTP {error.status})</span> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" data-testid="loading">
      Loading {what}…
    </p>
  );
}

/** Loading, error and data states of a polled view in one place: never a blank screen. */
export function View<T>({ title, testid, polled, what, children }: { title: string; testid: string; polled: { data?: T; error?: ApiError; loading: boolean }; what: string; children: (data: T) => ComponentChildren }) {
  return (
    <section data-testid={testid} aria-labelledby={`${testid}-title`}>
      <h1 id={`${testid}-title`}>{title}</h1>
      {polled.error ? <ErrorBox error={polled.error} what={what} /> : null}
      {polled.loading ? <Loading what={what} /> : null}
      {polled.data !== undefined ? children(polled.data) : null}
    </section>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`badge ${statusTone(status)}`} data-testid="status">{status}</span>;
}

export function Time({ at }: { at?: string }) {
  return at ? <time dateTime={at}>{formatTime(at)}</time> : <span class="muted">—</span>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>;
}

export function ExecutionLink({ id }: { id: string }) {
  return (
    <a href={href(`executions/${encodeURIComponent(id)}`)} data-testid="execution-link">
      <code>{id}</code>
    </a>
  );
}

const SIGNAL_LABEL: Record<Signal, string> = { approve: 'Approve', deny: 'Deny', resume: 'Resume', cancel: 'Cancel' };

/** The signals the API says the caller may send to an execution, as buttons that POST them. */
export function SignalButtons({ execution, onSent }: { execution: Pick<ExecutionSummary, 'executionId' | 'actions'>; onSent: () => void }) {
  const [busy, setBusy] = useState<Signal | undefined>();
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();
  const send = async (signal: Signal) => {
    setBusy(signal);
    setResult(undefined);
    try {
      await apiSend('POST', `/executions/${encodeURIComponent(execution.executionId)}/signal`, { signal });
      setResult({ ok: true, text: `${SIGNAL_LABEL[signal]} sent` });
      onSent();
    } catch (error) {
      setResult({ ok: false, text: toApiError(error).message });
    } finally {
      setBusy(undefined);
    }
  };
  if (!execution.actions.length) return <span class="muted">—</span>;
  return (
    <span class="actions">
      {execution.actions.map((signal) => (
        <button type="button" key={signal} class={`signal ${signal}`} data-testid={`signal-${signal}`} disabled={busy !== undefined} onClick={() => void send(signal)} aria-label={`${SIGNAL_LABEL[signal]} execution ${execution.executionId}`}>
          {SIGNAL_LABEL[signal]}
        </button>
      ))}
      {result ? (
        <span role={result.ok ? 'status' : 'alert'} class={result.ok ? 'sent' : 'error inline'} data-testid={result.ok ? 'signal-sent' : 'error'}>
          {result.text}
        </span>
      ) : null}
    </span>
  );
}

/** The "More" button of a paged list (when there is more), and why the last "More" failed. */
export function MoreButton<I>({ list, what }: { list: More<I>; what: string }) {
  return (
    <>
      {list.error ? <ErrorBox error={list.error} what={`more ${what}`} /> : null}
      {list.nextToken ? (
        <p class="pager">
          <button type="button" data-testid="more" disabled={list.busy} onClick={list.more}>
            {list.busy ? 'Loading…' : `More ${what}`}
          </button>
        </p>
      ) : null}
    </>
  );
}
