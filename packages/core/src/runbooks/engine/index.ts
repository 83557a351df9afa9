export * from './deps.js';
export * from './start.js';
export * from './run.js';
export * from './signals.js';
export { STEP_HISTORY_LIMIT, STEP_OUTPUT_LIMIT_BYTES, EXECUTION_SIZE_LIMIT_BYTES } from './bounds.js';
export { EVENT_DETAIL_LIMIT_BYTES, OUTBOX_RETRY_MS, pendingEvents } from './outbox.js';
export type { RunOutcome } from './turn.js';
