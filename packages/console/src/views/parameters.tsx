import { buildCalendar, calendarDays } from '../calendar.js';
import { useLocation } from 'preact-iso';
import { useMore, usePoll } from '../hooks.js';
import { pageSize, toQuery } from '../query.js';
import type { Deadline, ParametersResponse } from '../types.js';
import { Empty, href, MoreButton, Time, View } from '../ui.js';

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const DAYS = 30;
const deadlinesOf = (r: ParametersResponse) => ({ items: r.deadlines, nextToken: r.deadlinesNextToken });
const deadlineKey = (d: Deadline) => `${d.at}#${d.name}#${d.kind}`;

/** Parameters: a calendar of expiries, reminders and no-change deadlines for the next 30 days; notifications sent. */
export function Parameters() {
  const path = `/parameters${toQuery({}, { days: String(DAYS), limit: pageSize(useLocation().query.limit) })}`;
  const polled = usePoll<ParametersResponse>(path);
  const deadlines = useMore(path, polled.data, deadlinesOf, deadlineKey);
  return (
    <View title="Parameters" testid="view-parameters" polled={polled} what="parameter deadlines">
      {(r) => {
        const weeks = buildCalendar(r.from, calendarDays(r.from, r.to), deadlines.items);
        return (
          <>
            <p class="meta">
              Deadlines from <Time at={r.from} /> to <Time at={r.to} /> ({deadlines.items.length}{deadlines.nextToken ? ' shown, more below' : ''})
            </p>
            <table class="calendar" data-testid="calendar">
              <caption>Parameter deadlines, next {DAYS} days (UTC)</caption>
              <thead>
                <tr>
                  {WEEKDAYS.map((d) => (
                    <th scope="col" key={d}>
                      {d}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {weeks.map((week) => (
                  <tr key={week[0].date}>
                    {week.map((day) => (
                      <td key={day.date} class={day.inRange ? '' : 'outside'} data-date={day.date} data-testid={day.deadlines.length ? 'calendar-day-busy' : undefined}>
                        <span class="day">{day.date.slice(5)}</span>
                        {day.deadlines.map((d, i) => (
                          <div key={i} class={`deadline ${d.kind}`} title={`${d.kind} at ${d.at}`} data-testid="deadline">
                            <span class="kind">{d.kind}</span> <code>{d.name}</code>
                          </div>
                        ))}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
            <MoreButton list={deadlines} what="deadlines" />
            <h2>Notifications</h2>
            {r.notifications.length ? (
              <table data-testid="notifications">
                <thead>
                  <tr>
                    <th scope="col">Parameter</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Sent</th>
                    <th scope="col">Escalated</th>
                  </tr>
                </thead>
                <tbody>
                  {r.notifications.map((n, i) => (
                    <tr key={i}>
                      <td>
                        <code>{n.name}</code>
                      </td>
                      <td>{n.kind}</td>
                      <td>
                        <Time at={n.sentAt} />
                      </td>
                      <td>{n.escalated ? <span class="badge bad">escalated</span> : 'no'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <Empty>No notification sent yet.</Empty>
            )}
            <p class="next">
              Next: <a href={href('activations')}>activations</a>
            </p>
          </>
        );
      }}
    </View>
  );
}
