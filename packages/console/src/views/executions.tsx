import { useLocation, useRoute } from 'preact-iso';
import { compactJson, elapsed } from '../format.js';
import { usePoll } from '../hooks.js';
import { childrenProgress } from '../progress.js';
import { FILTERS, parseFilters, toQuery, type Filters } from '../query.js';
import { stepBars } from '../timeline.js';
import type { Children, ExecutionDetail, ExecutionSummary, Page } from '../types.js';
import { Empty, ExecutionLink, href, SignalButtons, Status, Time, View } from '../ui.js';

const STATUSES = ['Pending', 'InProgress', 'Waiting', 'Success', 'TimedOut', 'Cancelling', 'Cancelled', 'Failed'];

/** Executions: the filters (in the query string, so a filtered list can be bookmarked) and one page of the list. */
export function Executions() {
  const { query, route } = useLocation();
  const filters = parseFilters(query);
  const nextToken = query.nextToken;
  const polled = usePoll<Page<ExecutionSummary>>(`/executions${toQuery(filters, { limit: '50', nextToken })}`);
  const onSubmit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const next: Filters = {};
    for (const key of FILTERS) {
      const value = form.get(key);
      next[key] = typeof value === 'string' ? value.trim() : '';
    }
    route(href(`executions${toQuery(next)}`));
  };
  return (
    <View title="Executions" testid="view-executions" polled={polled} what="executions">
      {(page) => (
        <>
          <form class="filters" onSubmit={onSubmit} data-testid="filters" key={toQuery(filters)}>
            <label>
              Status
              <select name="status" value={filters.status ?? ''}>
                <option value="">any</option>
                {STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Runbook <input name="runbook" value={filters.runbook ?? ''} placeholder="AWS-RestartEC2Instance" />
            </label>
            <label>
              Automation <input name="automation" value={filters.automation ?? ''} />
            </label>
            <label>
              Target <input name="target" value={filters.target ?? ''} placeholder="i-0123…" />
            </label>
            <button type="submit">Filter</button>
            {Object.keys(filters).length ? <a href={href('executions')}>Clear</a> : null}
          </form>
          {page.items.length ? (
            <table data-testid="executions-table">
              <thead>
                <tr>
                  <th scope="col">Execution</th>
                  <th scope="col">Runbook</th>
                  <th scope="col">Status</th>
                  <th scope="col">Started</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Targets</th>
                  <th scope="col">Automation</th>
                  <th scope="col">Children</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((e) => (
                  <tr key={e.executionId} data-testid="execution-row" data-execution-id={e.executionId}>
                    <td>
                      <ExecutionLink id={e.executionId} />
                    </td>
                    <td>{e.runbook}</td>
                    <td>
                      <Status status={e.status} />
                    </td>
                    <td>
                      <Time at={e.startedAt} />
                    </td>
                    <td>{elapsed(e.startedAt, e.endedAt, new Date().toISOString())}</td>
                    <td>{e.targets.join(', ')}</td>
                    <td>{e.automation ?? ''}</td>
                    <td>{e.children ? `${e.children.success + e.children.failed}/${e.children.total}` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No execution matches.</Empty>
          )}
          <p class="pager">
            {nextToken ? <a href={href(`executions${toQuery(filters)}`)}>First page</a> : null}{' '}
            {page.nextToken ? (
              <a href={href(`executions${toQuery(filters, { nextToken: page.nextToken })}`)} data-testid="next-page">
                Next page
              </a>
            ) : null}
          </p>
          <p class="next">
            Next: <a href={href('findings')}>findings and savings</a>
          </p>
        </>
      )}
    </View>
  );
}

export function ChildrenBar({ children }: { children: Children }) {
  const p = childrenProgress(children);
  return (
    <div class="children" data-testid="children">
      <div class="bar" role="img" aria-label={`${p.done} of ${children.total} children ended: ${children.success} succeeded, ${children.failed} failed, ${children.running} running, ${children.pending} pending`}>
        {p.segments.map((s) => (s.count ? <span key={s.kind} class={`seg ${s.kind}`} style={{ width: `${s.percent}%` }} title={`${s.count} ${s.kind}`} /> : null))}
      </div>
      <p>
        {children.success} succeeded, {children.failed} failed, {children.running} running, {children.pending} pending of {children.total} (MaxConcurrency {String(children.maxConcurrency)}).{' '}
        <span class={p.exceeded ? 'err' : ''} data-testid="max-errors">
          {p.label}
          {p.exceeded ? ': no new child starts' : ''}
        </span>
      </p>
    </div>
  );
}

/** One execution: its summary, buttons, children (a rate-controlled parent) and step timeline. */
export function Execution() {
  const { params } = useRoute();
  const id = params.id ?? '';
  const polled = usePoll<{ execution: ExecutionDetail }>(`/executions/${encodeURIComponent(id)}`);
  return (
    <View title={`Execution ${id}`} testid="view-execution" polled={polled} what={`execution ${id}`}>
      {({ execution: e }) => {
        const end = e.endedAt ?? new Date().toISOString();
        const bars = stepBars(e.steps, e.startedAt, end);
        return (
          <>
            <dl class="summary">
              <dt>Runbook</dt>
              <dd>
                <a href={href(`executions?runbook=${encodeURIComponent(e.runbook)}`)}>{e.runbook}</a>
              </dd>
              <dt>Status</dt>
              <dd>
                <Status status={e.status} /> {e.waitingFor ? `waiting for ${e.waitingFor}` : ''}
              </dd>
              <dt>Started</dt>
              <dd>
                <Time at={e.startedAt} />
              </dd>
              <dt>Ended</dt>
              <dd>
                <Time at={e.endedAt} /> {e.endedAt ? `(${elapsed(e.startedAt, e.endedAt)})` : ''}
              </dd>
              <dt>Targets</dt>
              <dd>{e.targets.join(', ') || '—'}</dd>
              {e.automation ? (
                <>
                  <dt>Automation</dt>
                  <dd>{e.automation}</dd>
                </>
              ) : null}
              {e.parentExecutionId ? (
                <>
                  <dt>Parent</dt>
                  <dd>
                    <ExecutionLink id={e.parentExecutionId} />
                  </dd>
                </>
              ) : null}
              <dt>Actions</dt>
              <dd>
                <SignalButtons execution={e} onSent={polled.refresh} />
              </dd>
            </dl>
            {e.failureMessage ? (
              <p class="error" data-testid="failure-message">
                {e.failureMessage}
              </p>
            ) : null}
            {e.children ? (
              <section aria-labelledby="children-title">
                <h2 id="children-title">Children</h2>
                <ChildrenBar children={e.children} />
                {e.childExecutions?.length ? (
                  <table data-testid="child-executions">
                    <thead>
                      <tr>
                        <th scope="col">Child</th>
                        <th scope="col">Target</th>
                        <th scope="col">Status</th>
                        <th scope="col">Started</th>
                        <th scope="col">Duration</th>
                      </tr>
                    </thead>
                    <tbody>
                      {e.childExecutions.map((c) => (
                        <tr key={c.executionId} data-testid="child-row">
                          <td>
                            <ExecutionLink id={c.executionId} />
                          </td>
                          <td>{c.targets.join(', ')}</td>
                          <td>
                            <Status status={c.status} />
                          </td>
                          <td>
                            <Time at={c.startedAt} />
                          </td>
                          <td>{elapsed(c.startedAt, c.endedAt, end)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ) : null}
              </section>
            ) : null}
            <section aria-labelledby="steps-title">
              <h2 id="steps-title">Steps</h2>
              {e.steps.length ? (
                <table class="steps" data-testid="steps">
                  <thead>
                    <tr>
                      <th scope="col">Step</th>
                      <th scope="col">Action</th>
                      <th scope="col">Status</th>
                      <th scope="col">Start</th>
                      <th scope="col">End</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">Timeline</th>
                      <th scope="col">Outputs / error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {e.steps.map((s, i) => (
                      <tr key={`${s.name}-${i}`} data-testid="step-row">
                        <td>{s.name}</td>
                        <td>
                          <code>{s.action}</code>
                        </td>
                        <td>
                          <Status status={s.status} />
                        </td>
                        <td>
                          <Time at={s.startedAt} />
                        </td>
                        <td>
                          <Time at={s.endedAt} />
                        </td>
                        <td>{s.attempts}</td>
                        <td class="track">{bars[i] ? <span class="span" style={{ marginLeft: `${bars[i].left}%`, width: `${bars[i].width}%` }} title={elapsed(s.startedAt, s.endedAt ?? end)} /> : null}</td>
                        <td>
                          {s.error ? <div class="err">{s.error}</div> : null}
                          {s.outputs ? <code class="json">{compactJson(s.outputs)}</code> : null}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <Empty>No step has run yet.</Empty>
              )}
            </section>
            {e.outputs ? (
              <section aria-labelledby="outputs-title">
                <h2 id="outputs-title">Outputs</h2>
                <pre class="json">{JSON.stringify(e.outputs, null, 2)}</pre>
              </section>
            ) : null}
            <p class="next">
              Back to <a href={href('executions')}>executions</a>
            </p>
          </>
        );
      }}
    </View>
  );
}

