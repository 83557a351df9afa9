import type { Execution, OutboxEntry, OutboxNotification, StepExecution } from '../execution.js';
import { runbookStatusEntries } from '../status-events.js';

// Status events and `Runbook Image Created` are never sent straight from memory: they are put into the execution's
// outbox, written by the same conditional write as the change they announce, and published after it. A worker that
// dies between the write and the publish leaves them for the tick, so none is lost; each has a stable ID, so one
// published twice is recognisable as the same event.

/** PutEvents takes at most 256 KB an entry; the detail is kept well under it, leaving room for the envelope. */
export const EVENT_DETAIL_LIMIT_BYTES = 200_000;
/** The tick publishes an outbox the worker could not publish once this much time has passed. */
export const OUTBOX_RETRY_MS = 60_000;

/**
 * Adds the events for this change to the execution's outbox, keyed by the version of the write that will hold them
 * (so that they sort in publication order, no two events share an ID, and an ID stays the same when published
 * again). Returns the entries added.
 */
export function stageEvents(ex: Execution, steps: readonly StepExecution[], executionChanged: boolean, now: Date, version: number): OutboxEntry[] {
  const entries = runbookStatusEntries(ex, steps, executionChanged);
  if (entries.length === 0) return [];
  const outbox = (ex.outbox ??= {});
  const added = entries.map((entry, i) => {
    const key = `${String(version).padStart(8, '0')}-${String(i).padStart(3, '0')}`;
    const id = `${ex.executionId}/${key}`;
    const detail = withinLimit({ ...(entry.Detail as unknown as Record<string, unknown>), EventId: id });
    const staged: OutboxEntry = { id, detailType: entry.DetailType, detail };
    outbox[key] = staged;
    return staged;
  });
  ex.outboxRetryAt = new Date(now.getTime() + OUTBOX_RETRY_MS).toISOString();
  return added;
}

/**
 * Adds SNS notifications (aws:approve's requests) to the outbox, in the same write as the step state that asked
 * for them: a step attempt's request is staged once, by the write that records it as sent, and published after it
 * (again, with the same ID, only if that publish failed or the worker died before clearing it).
 */
export function stageNotifications(ex: Execution, notifications: readonly { detailType: string; detail: Record<string, unknown>; notification: OutboxNotification }[], now: Date, version: number): void {
  if (notifications.length === 0) return;
  const outbox = (ex.outbox ??= {});
  notifications.forEach((n, i) => {
    const key = `${String(version).padStart(8, '0')}-n${String(i).padStart(2, '0')}`;
    const id = `${ex.executionId}/${key}`;
    outbox[key] = { id, detailType: n.detailType, detail: { ...n.detail, EventId: id }, notification: n.notification };
  });
  ex.outboxRetryAt = new Date(now.getTime() + OUTBOX_RETRY_MS).toISOString();
}

/** The outbox's entries in publication order. */
export function pendingEvents(ex: Execution): OutboxEntry[] {
  return Object.keys(ex.outbox ?? {})
    .sort()
    .map((key) => ex.outbox![key]);
}

/** Empties the outbox in memory (after a publish; the store is told with clearOutbox or the next save). */
export function emptyOutbox(ex: Execution): void {
  ex.outbox = undefined;
  ex.outboxRetryAt = undefined;
}

/** A detail whose JSON exceeds the limit loses its Outputs (the largest part), with a note saying where to read them. */
function withinLimit(detail: Record<string, unknown>): Record<string, unknown> {
  const size = Buffer.byteLength(JSON.stringify(detail));
  if (size <= EVENT_DETAIL_LIMIT_BYTES) return detail;
  const rest = { ...detail };
  delete rest.Outputs;
  return { ...rest, OutputsOmitted: `the outputs (${size} bytes with the event) exceed the event size limit; read them with GetExecution (opsauto runbook status)` };
}
