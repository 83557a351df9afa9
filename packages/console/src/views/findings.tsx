import { useLocation } from 'preact-iso';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatUsd } from '../format.js';
import { useMore, usePoll } from '../hooks.js';
import { pageSize, toQuery } from '../query.js';
import type { FindingsResponse, SavingsPoint, StaleVolume } from '../types.js';
import { Empty, href, MoreButton, View } from '../ui.js';

const DAY_S = 86_400;
/** Ticks on the time axis: whole days (scan days), never hours. */
const DAY_INCRS = [DAY_S, 2 * DAY_S, 7 * DAY_S, 14 * DAY_S, 30 * DAY_S, 91 * DAY_S, 365 * DAY_S];
const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);

/** Monthly waste and remediated savings per scan day, as a uPlot line chart (and a table for screen readers). */
function SavingsChart({ history }: { history: SavingsPoint[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const data: uPlot.AlignedData = [history.map((p) => Date.parse(`${p.date.slice(0, 10)}T00:00:00Z`) / 1000), history.map((p) => p.monthlyWasteUsd), history.map((p) => p.remediatedMonthlySavingsUsd)];
  useEffect(() => {
    if (!box.current) return;
    if (!plot.current) {
      const usd = (_: uPlot, values: number[]) => values.map((v) => formatUsd(v));
      plot.current = new uPlot(
        {
          width: Math.min(Math.max(box.current.clientWidth, 320), 900),
          height: 240,
          padding: [12, 48, 0, 0],
          tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
          series: [{ label: 'Day', value: (_, v) => (v == null ? '' : day(v)) }, { label: 'Monthly waste', stroke: '#c0392b', width: 2, value: (_, v) => (v == null ? '' : formatUsd(v)) }, { label: 'Remediated savings', stroke: '#27ae60', width: 2, value: (_, v) => (v == null ? '' : formatUsd(v)) }],
          axes: [{ values: (_, splits) => splits.map(day), incrs: DAY_INCRS }, { values: usd, size: 70 }],
        },
        data,
        box.current,
      );
    } else plot.current.setData(data);
  });
  useEffect(
    () => () => {
      plot.current?.destroy();
      plot.current = undefined;
    },
    [],
  );
  return (
    <figure data-testid="savings-chart">
      <div ref={box} class="chart" aria-hidden="true" />
      <figcaption>Monthly waste and savings by scan day (USD per month)</figcaption>
      <details>
        <summary>Chart data</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Stale volumes</th>
              <th scope="col">Monthly waste</th>
              <th scope="col">Remediated savings</th>
            </tr>
          </thead>
          <tbody>
            {history.map((p) => (
              <tr key={p.date}>
                <td>{p.date.slice(0, 10)}</td>
                <td>{p.volumes}</td>
                <td>{formatUsd(p.monthlyWasteUsd)}</td>
                <td>{formatUsd(p.remediatedMonthlySavingsUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

const volumesOf = (f: FindingsResponse) => ({ items: f.volumes, nextToken: f.volumesNextToken });
const volumeKey = (v: StaleVolume) => `${v.accountId}/${v.region}/${v.volumeId}`;

/** Findings and savings: the stale volumes of the last scan (a page at a time), the totals and their history. */
export function Findings() {
  const path = `/findings${toQuery({}, { limit: pageSize(useLocation().query.limit) })}`;
  const polled = usePoll<FindingsResponse>(path);
  const volumes = useMore(path, polled.data, volumesOf, volumeKey);
  // The API's order already (most expensive first); a stable sort keeps it, and orders an answer that is not.
  const sorted = [...volumes.items].sort((a, b) => b.monthlyCostUsd - a.monthlyCostUsd);
  return (
    <View title="Findings and savings" testid="view-findings" polled={polled} what="findings">
      {(f) => (
        <>
          <div class="cards">
            <div class="card" data-testid="total-waste">
              <span class="label">Monthly waste</span>
              <span class="value">{formatUsd(f.totals.monthlyWasteUsd)}</span>
            </div>
            <div class="card" data-testid="total-saved">
              <span class="label">Saved by remediation (monthly)</span>
              <span class="value">{formatUsd(f.totals.remediatedMonthlySavingsUsd)}</span>
            </div>
            <div class="card" data-testid="total-volumes">
              <span class="label">Stale volumes</span>
              <span class="value">{f.totals.volumes}</span>
            </div>
          </div>
          <h2>Stale volumes</h2>
          {volumes.items.length ? (
            <table data-testid="volumes-table">
              <thead>
                <tr>
                  <th scope="col">Volume</th>
                  <th scope="col">Account</th>
                  <th scope="col">Region</th>
                  <th scope="col">Size</th>
                  <th scope="col">Type</th>
                  <th scope="col">State</th>
                  <th scope="col">Days unattached</th>
                  <th scope="col">Monthly cost</th>
                  <th scope="col">OpsItem</th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((v) => (
                  <tr key={volumeKey(v)} data-testid="volume-row" data-volume-id={v.volumeId}>
                    <td>
                      <code>{v.volumeId}</code>
                    </td>
                    <td>{v.accountId}</td>
                    <td>{v.region}</td>
                    <td class="num">{v.sizeGiB} GiB</td>
                    <td>{v.volumeType}</td>
                    <td>{v.state}</td>
                    <td class="num">{v.daysUnattached}</td>
                    <td class="num">{formatUsd(v.monthlyCostUsd)}</td>
                    <td>{v.opsItemId ? <code>{v.opsItemId}</code> : <span class="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No stale volume found by the last scan.</Empty>
          )}
          <MoreButton list={volumes} what="volumes" />
          <h2>History</h2>
          {f.history.length ? <SavingsChart history={f.history} /> : <Empty>No scan has run yet.</Empty>}
          {f.history.length ? (
            <p class="muted">
              Last scan day: {f.history[f.history.length - 1].date.slice(0, 10)}
            </p>
          ) : null}
          <p class="next">
            Next: <a href={href('images')}>images</a>
          </p>
        </>
      )}
    </View>
  );
}
