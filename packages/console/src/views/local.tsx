import { useState } from 'preact/hooks';
import { apiSend, toApiError } from '../api.js';
import { usePoll } from '../hooks.js';
import type { ClockResponse, FaultsResponse } from '../types.js';
import { ErrorBox, Time, View } from '../ui.js';

const STEPS = [
  { advance: '1h', label: '+1h' },
  { advance: '1d', label: '+1d' },
  { advance: '7d', label: '+7d' },
];

/** Local stage: the virtual clock with buttons that advance it (running what falls due), and the fault rules. */
export function Local() {
  const clock = usePoll<ClockResponse>('/local/clock');
  const faults = usePoll<FaultsResponse>('/local/faults');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();
  const act = async (what: string, call: () => Promise<unknown>, describe: (answer: unknown) => string) => {
    setBusy(true);
    setMessage(undefined);
    try {
      setMessage({ ok: true, text: describe(await call()) });
      clock.refresh();
      faults.refresh();
    } catch (error) {
      setMessage({ ok: false, text: `${what} failed: ${toApiError(error).message}` });
    } finally {
      setBusy(false);
    }
  };
  const advance = (by: string) =>
    act(`Advancing the clock by ${by}`, () => apiSend<{ now: string; ran?: Record<string, number> }>('POST', '/local/clock', { advance: by }), (answer) => {
      const a = answer as { now: string; ran?: Record<string, number> };
      const ran = Object.entries(a.ran ?? {}).map(([fn, n]) => `${fn} ×${n}`);
      return `Clock at ${a.now}; ran ${ran.length ? ran.join(', ') : 'nothing'}.`;
    });
  return (
    <View title="Local stage" testid="view-local" polled={clock} what="the virtual clock">
      {(c) => (
        <>
          <section aria-labelledby="clock-title">
            <h2 id="clock-title">Virtual clock</h2>
            <p>
              Now: <strong data-testid="clock-now"><Time at={c.now} /></strong> <span class="muted">(offset {Math.round(c.offsetMs / 3_600_000)} h from real time)</span>
            </p>
            <p class="actions">
              {STEPS.map((s) => (
                <button type="button" key={s.advance} disabled={busy} data-testid={`advance-${s.advance}`} onClick={() => void advance(s.advance)} aria-label={`Advance the virtual clock by ${s.advance}`}>
                  {s.label}
                </button>
              ))}
            </p>
            {message ? (
              <p role={message.ok ? 'status' : 'alert'} class={message.ok ? 'sent' : 'error'} data-testid={message.ok ? 'clock-result' : 'error'}>
                {message.text}
              </p>
            ) : null}
          </section>
          <section aria-labelledby="faults-title" data-testid="faults">
            <h2 id="faults-title">Fault rules</h2>
            {faults.error ? <ErrorBox error={faults.error} what="fault rules" /> : null}
            {faults.data ? (
              faults.data.rules.length ? (
                <>
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">#</th>
                        <th scope="col">Rule</th>
                      </tr>
                    </thead>
                    <tbody>
                      {faults.data.rules.map((r, i) => (
                        <tr key={i} data-testid="fault-rule">
                          <td>{i + 1}</td>
                          <td>
                            <code class="json">{JSON.stringify(r)}</code>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  <button type="button" disabled={busy} data-testid="clear-faults" onClick={() => void act('Clearing the fault rules', () => apiSend('DELETE', '/local/faults'), () => 'Fault rules cleared.')}>
                    Clear fault rules
                  </button>
                </>
              ) : (
                <p class="muted empty">No fault rule is set.</p>
              )
            ) : null}
          </section>
        </>
      )}
    </View>
  );
}
