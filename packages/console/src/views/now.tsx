import { formatLocalTime, relative } from '../format.js';
import { usePoll } from '../hooks.js';
import type { ExecutionSummary, NowResponse } from '../types.js';
import { Empty, ExecutionLink, href, SignalButtons, Status, Time, View } from '../ui.js';

function ExecutionRows({ items, waiting, onSent }: { items: ExecutionSummary[]; waiting: boolean; onSent: () => void }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Execution</th>
          <th scope="col">Runbook</th>
          <th scope="col">Status</th>
          {waiting ? <th scope="col">Waiting for</th> : null}
          <th scope="col">Started</th>
          <th scope="col">Targets</th>
          <th scope="col">Automation</th>
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody>
        {items.map((e) => (
          <tr key={e.executionId} data-testid="execution-row" data-execution-id={e.executionId}>
            <td>
              <ExecutionLink id={e.executionId} />
            </td>
            <td>{e.runbook}</td>
            <td>
              <Status status={e.status} />
            </td>
            {waiting ? <td>{e.waitingFor ?? ''}</td> : null}
            <td>
              <Time at={e.startedAt} />
            </td>
            <td>{e.targets.join(', ')}</td>
            <td>{e.automation ?? ''}</td>
            <td>
              <SignalButtons execution={e} onSent={onSent} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Now: executions running and waiting (with their buttons), the failure queue, the automations due next. */
export function Now() {
  const polled = usePoll<NowResponse>('/now');
  return (
    <View title="Now" testid="view-now" polled={polled} what="the current state">
      {(now) => (
        <>
          <p class="meta">
            Stage <strong data-testid="stage">{now.stage}</strong>, time <Time at={now.now} />
            {now.local ? ' (virtual clock)' : ''}
          </p>
          <section aria-labelledby="waiting-title" data-testid="waiting">
            <h2 id="waiting-title">Waiting ({now.waiting.length})</h2>
            {now.waiting.length ? <ExecutionRows items={now.waiting} waiting onSent={polled.refresh} /> : <Empty>No execution waits for approval or resume.</Empty>}
          </section>
          <section aria-labelledby="running-title" data-testid="running">
            <h2 id="running-title">Running ({now.running.length})</h2>
            {now.running.length ? <ExecutionRows items={now.running} waiting={false} onSent={polled.refresh} /> : <Empty>Nothing runs now.</Empty>}
          </section>
          <section aria-labelledby="failures-title" data-testid="failures">
            <h2 id="failures-title">Failure queue{now.failures.count === null ? '' : ` (${now.failures.count})`}</h2>
            {now.failures.items.length ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Function</th>
                    <th scope="col">Error</th>
                    <th scope="col">At</th>
                  </tr>
                </thead>
                <tbody>
                  {now.failures.items.map((f, i) => (
                    <tr key={i}>
                      <td>{f.function}</td>
                      <td class="err">{f.error}</td>
                      <td>
                        <Time at={f.at} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <Empty>{now.failures.note ?? (now.failures.count ? `${now.failures.count} failed invocations queued (details not available here).` : 'No failed invocation waits.')}</Empty>
            )}
          </section>
          <section aria-labelledby="automations-title" data-testid="automations">
            <h2 id="automations-title">Next automations</h2>
            {now.automations.length ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Automation</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Next run (local)</th>
                    <th scope="col">Timezone</th>
                    <th scope="col">Next run (UTC)</th>
                  </tr>
                </thead>
                <tbody>
                  {[...now.automations]
                    .sort((a, b) => (a.nextRun ?? '\uffff').localeCompare(b.nextRun ?? '\uffff'))
                    .map((a) => (
                      <tr key={a.name} data-testid="automation-row">
                        <td>
                          <a href={href(`executions?automation=${encodeURIComponent(a.name)}`)}>{a.name}</a>
                        </td>
                        <td>{a.kind}</td>
                        <td>{a.nextRunLocal === null ? 'never again' : formatLocalTime(a.nextRunLocal)}</td>
                        <td>{a.timezone}</td>
                        <td>{a.nextRun ? <><Time at={a.nextRun} /> <span class="muted">{relative(a.nextRun, now.now)}</span></> : <span class="muted">—</span>}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            ) : (
              <Empty>No automation is scheduled.</Empty>
            )}
          </section>
          <p class="next">
            Next: <a href={href('executions')}>all executions</a>
          </p>
        </>
      )}
    </View>
  );
}
