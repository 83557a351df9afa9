import * as z from 'zod/mini';
import '../zod-locale.js';
import { ValidationError } from '../errors.js';
import type { ExecutionStatus, RateControl, RateCounters } from './execution.js';

// Rate control of an execution that runs its runbook once per target (a child execution per target), after SSM
// Automation's MaxConcurrency and MaxErrors.
// - API: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartAutomationExecution.html
// - Guide: https://docs.aws.amazon.com/systems-manager/latest/userguide/running-automations-scale-controls.html

/**
 * MaxConcurrency when none is given. StartAutomationExecution: "The default value is 10."
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartAutomationExecution.html)
 */
export const DEFAULT_MAX_CONCURRENCY = '10';

/**
 * MaxErrors when none is given. StartAutomationExecution documents no default for MaxErrors. Run Command documents
 * 0 for its own max-errors (awsdocs/aws-systems-manager-user-guide send-commands-multiple, PR #14), and 0 is the safe
 * reading for an operations tool: stop launching after the first failure. Our choice, not an AWS-documented rule.
 */
export const DEFAULT_MAX_ERRORS = '0';

// Patterns and lengths as the API defines them (MaxConcurrency / MaxErrors, "Minimum length of 1. Maximum length of
// 7."): https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartAutomationExecution.html
// MaxConcurrency never allows 0 (nor 0%); MaxErrors allows 0 and 0%.
const maxConcurrencySchema = z
  .string()
  .check(
    z.maxLength(7, 'must be at most 7 characters'),
    z.regex(
      /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/,
      'must be a number of targets from 1 (such as 10) or a percentage from 1% to 100% (such as 10%), without leading zeros',
    ),
  );
const maxErrorsSchema = z
  .string()
  .check(
    z.maxLength(7, 'must be at most 7 characters'),
    z.regex(
      /^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/,
      'must be a number of errors from 0 (such as 3) or a percentage from 0% to 100% (such as 10%), without leading zeros',
    ),
  );

function checked(schema: typeof maxConcurrencySchema, field: 'MaxConcurrency' | 'MaxErrors', value: string | number): string {
  const text = String(value);
  const result = schema.safeParse(text);
  if (result.success) return result.data;
  throw new ValidationError(`${field} ${JSON.stringify(text)} ${result.error.issues[0]?.message ?? 'is not valid'}`, field);
}

/**
 * A count (`10`) is taken as is; a percentage (`10%`) is that share of the targets. How AWS rounds a percentage is
 * not documented for Automation (nor for Run Command or State Manager, which share the same wording). We round down,
 * as CloudFormation StackSets documents for its own percentages ("rounds down to the next whole number"): the
 * cautious direction for both limits. Concurrency is then raised to at least 1, since its pattern forbids 0 and an
 * execution with targets must run at least one at a time; the error limit may round to 0 (stop at the first failure).
 */
function resolve(value: string, targetCount: number): number {
  if (!value.endsWith('%')) return Number(value);
  return Math.floor((Number(value.slice(0, -1)) * targetCount) / 100);
}

/** What MaxConcurrency and MaxErrors come to for a given number of targets. */
export type ResolvedRateControl = Pick<RateControl, 'maxConcurrency' | 'maxErrors' | 'concurrencyLimit' | 'errorLimit'>;

/**
 * Checks MaxConcurrency and MaxErrors (a count or a percentage of the targets, as StartAutomationExecution takes
 * them), fills in the defaults (10 and 0) and resolves them against the number of targets.
 * `errorLimit` is the number of failures allowed: launching stops when failures exceed it (see shouldStopLaunching).
 * Throws ValidationError naming `MaxConcurrency` or `MaxErrors` for a value outside AWS's patterns.
 *
 * @example
 * resolveRateControl({ maxConcurrency: '10%', maxErrors: '10%' }, 50) // { concurrencyLimit: 5, errorLimit: 5, … }
 * resolveRateControl({ maxConcurrency: '1%', maxErrors: '1%' }, 3)   // { concurrencyLimit: 1, errorLimit: 0, … }
 */
export function resolveRateControl(
  given: { maxConcurrency?: string | number | undefined; maxErrors?: string | number | undefined },
  targetCount: number,
): ResolvedRateControl {
  if (!Number.isSafeInteger(targetCount) || targetCount < 0) throw new RangeError(`targetCount must be a whole number ≥ 0, not ${targetCount}`);
  const maxConcurrency = checked(maxConcurrencySchema, 'MaxConcurrency', given.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY);
  const maxErrors = checked(maxErrorsSchema, 'MaxErrors', given.maxErrors ?? DEFAULT_MAX_ERRORS);
  return {
    maxConcurrency,
    maxErrors,
    concurrencyLimit: Math.max(1, resolve(maxConcurrency, targetCount)),
    errorLimit: resolve(maxErrors, targetCount),
  };
}

/**
 * True once no new target may start because of failures. AWS: "If you specify 3, for example, the system stops
 * running the automation when the fourth error is received. If you specify 0, then the system stops running the
 * automation on additional targets after the first error result is returned" — the limit is the number of failures
 * allowed, and launching stops when failures exceed it (MaxErrors 2: the 3rd failure stops it). Children already
 * running are left to finish. (API_StartAutomationExecution, MaxErrors.)
 * The guide's percentage example contradicts its own count rule ("10%" of 50 "stops … when the fifth error is
 * received", running-automations-scale-controls.html); the API reference says the sixth, consistent with the count
 * rule, and that is what this follows.
 */
export function shouldStopLaunching(counters: Pick<RateCounters, 'failed'>, errorLimit: number): boolean {
  return counters.failed > errorLimit;
}

/**
 * Whether one more target may start now: targets remain, fewer than `concurrencyLimit` children run, and failures
 * have not exceeded `errorLimit`. The same rule ExecutionStore.reserveTarget applies atomically.
 */
export function canLaunchTarget(counters: RateCounters, total: number, limits: Pick<RateControl, 'concurrencyLimit' | 'errorLimit'>): boolean {
  return counters.launched < total && counters.running < limits.concurrencyLimit && !shouldStopLaunching(counters, limits.errorLimit);
}

/**
 * The concurrency to allow now, ramping up as AWS describes: "The queueing system delivers the automation to a single
 * resource and waits until the initial invocation is complete before sending the automation to two more resources.
 * The system exponentially sends the automation to more resources until the concurrency value is met."
 * (running-automations-scale-controls.html). One more slot per finished child doubles the window each round: 1, 2, 4…
 * Pass the result as `concurrencyLimit` to ExecutionStore.reserveTarget to follow AWS's ramp-up.
 */
export function rampedConcurrencyLimit(counters: Pick<RateCounters, 'succeeded' | 'failed'>, concurrencyLimit: number): number {
  return Math.max(1, Math.min(concurrencyLimit, counters.succeeded + counters.failed + 1));
}

/**
 * The status of a rate-controlled (parent) execution from its children's counters: `InProgress` while a child runs
 * or targets remain that may still start; then
 * - `Success` when no child failed (AWS's own example of a rate-controlled run shows `"AutomationExecutionStatus":
 *   "Success"`: running-automations-scale.html, awsdocs/aws-systems-manager-user-guide);
 * - `Failed` when failures exceeded MaxErrors (launching stopped early, some targets never ran);
 * - `CompletedWithFailure` when some children failed but no more than MaxErrors allowed, every target having run.
 * AWS documents no parent status for the last two cases (automation-statuses.html lists no rate-control rule;
 * CompletedWithSuccess/CompletedWithFailure appear in AutomationExecutionStatus without a description). This is our
 * choice, after Run Command's documented statuses: Success, Incomplete (some failed, fewer than MaxErrors) and Failed
 * (MaxErrors reached) (API_Command.html, StatusDetails). A run with no targets at all is a Success.
 */
export function rateControlledStatus(counters: RateCounters, total: number, errorLimit: number): ExecutionStatus {
  const stopped = shouldStopLaunching(counters, errorLimit);
  if (counters.running > 0 || (!stopped && counters.launched < total)) return 'InProgress';
  if (stopped) return 'Failed';
  return counters.failed === 0 ? 'Success' : 'CompletedWithFailure';
}
