import type { Execution } from '../execution.js';

// An execution is one DynamoDB item, which may not exceed 400 KB. The document, the parameters and the step history
// live in it, so every part that grows is bounded here: each step's outputs, the number of step runs kept, and,
// should the rest still be too large, the execution ends with a message saying so rather than failing every save.

/** A step's outputs, as JSON, at most this large; larger values are replaced by a note (per output, in order). */
export const STEP_OUTPUT_LIMIT_BYTES = 100_000;
/** `steps` keeps this many of the most recent step runs; older ones are counted in `omittedSteps`. */
export const STEP_HISTORY_LIMIT = 100;
/** What an execution item may take, as JSON, leaving DynamoDB's 400 KB room for attribute names and types. */
export const EXECUTION_SIZE_LIMIT_BYTES = 350_000;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');

/**
 * A step's outputs within STEP_OUTPUT_LIMIT_BYTES: outputs are kept in order while they fit; each that does not is
 * replaced by a note naming its size.
 */
export function boundedOutputs(outputs: Record<string, unknown>): Record<string, unknown> {
  if (jsonBytes(outputs) <= STEP_OUTPUT_LIMIT_BYTES) return outputs;
  const kept: Record<string, unknown> = {};
  let budget = STEP_OUTPUT_LIMIT_BYTES;
  for (const [name, value] of Object.entries(outputs)) {
    const size = jsonBytes(value) + name.length + 4;
    if (size <= budget) {
      kept[name] = value;
      budget -= size;
    } else {
      kept[name] = `[output of ${size} bytes left out: a step's outputs are limited to ${STEP_OUTPUT_LIMIT_BYTES} bytes]`;
    }
  }
  return kept;
}

/** Drops the oldest step runs beyond STEP_HISTORY_LIMIT (the open one is always the last, and kept). */
export function trimHistory(ex: Execution, limit = STEP_HISTORY_LIMIT): void {
  const excess = ex.steps.length - limit;
  if (excess <= 0) return;
  ex.steps.splice(0, excess);
  ex.omittedSteps = (ex.omittedSteps ?? 0) + excess;
}

/**
 * Whether the execution fits an item; when it does not, the history is cut to its last few runs first. Returns the
 * size that remains too large, or undefined when it fits.
 */
export function fitItem(ex: Execution): number | undefined {
  if (jsonBytes(ex) <= EXECUTION_SIZE_LIMIT_BYTES) return undefined;
  trimHistory(ex, 5);
  if (jsonBytes(ex) <= EXECUTION_SIZE_LIMIT_BYTES) return undefined;
  // The step runs' outputs are also in `stepOutputs` (what later steps read), and events' Outputs in the execution.
  for (const entry of ex.steps) if (entry.outputs && entry.endedAt) entry.outputs = { '@omitted': 'kept in the execution\'s stepOutputs only, to fit one item' };
  for (const entry of Object.values(ex.outbox ?? {})) delete entry.detail.Outputs;
  const size = jsonBytes(ex);
  return size <= EXECUTION_SIZE_LIMIT_BYTES ? undefined : size;
}

/**
 * Cuts an execution that cannot fit to what ending it needs: no outputs, no inputs, its last few step runs. The
 * open step run ends Failed.
 */
export function shrinkToEnd(ex: Execution): void {
  ex.outputs = undefined;
  ex.stepOutputs = undefined;
  trimHistory(ex, 5);
  for (const entry of ex.steps) {
    entry.outputs = undefined;
    entry.inputs = undefined;
    entry.actionState = undefined;
  }
  for (const entry of Object.values(ex.outbox ?? {})) delete entry.detail.Outputs;
}
