import type { OpsautoConfig } from '@opsauto/core';

/** The CloudWatch namespace of every opsauto metric. */
export const METRICS_NAMESPACE = 'opsauto';

/**
 * Every metric a function emits, by name: what the stacks' dashboard and alarms read (stacks/observability.ts).
 * Counts unless said otherwise.
 */
export const METRIC_NAMES = {
  volumesScanned: 'VolumesScanned',
  volumesStale: 'VolumesStale',
  opsItemsFiled: 'OpsItemsFiled',
  opsItemsResolved: 'OpsItemsResolved',
  /** Regions a stale-volume scan could not finish (an error, a limit, throttling): 0 on a complete run. */
  scanIncomplete: 'ScanIncomplete',
  amisPublished: 'AmisPublished',
  /** Images not published because they must not be: untrusted owner, invalid family tag, refused by Parameter Store. */
  amisRefused: 'AmisRefused',
  executionsStarted: 'ExecutionsStarted',
  executionsSucceeded: 'ExecutionsSucceeded',
  /** Executions that ended Failed, TimedOut or CompletedWithFailure (not Cancelled). */
  executionsFailed: 'ExecutionsFailed',
  /** Milliseconds from a step's start to its end, one value per step run that ended. */
  stepDuration: 'StepDuration',
  notificationsSent: 'NotificationsSent',
  notificationsFailed: 'NotificationsFailed',
  activationsIssued: 'ActivationsIssued',
  activationsRefused: 'ActivationsRefused',
  /** AWS calls answered with a throttling error (each one is retried by the SDK, or given up after its retries). */
  throttles: 'Throttles',
} as const;

export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** The stage the function belongs to (OPSAUTO_STAGE, set by the stacks and the local stage). */
export const stageDimension = (): string => process.env.OPSAUTO_STAGE || 'unknown';

/**
 * The environment every Node.js function gets besides its manifest variables: its stage (the metrics' `stage`
 * dimension) and, with `observability.tracing`, Powertools Tracer on without recording responses.
 *
 * @example
 * observabilityEnvironment(config, 'prod') // { OPSAUTO_STAGE: 'prod' }
 */
export function observabilityEnvironment(config: OpsautoConfig, stage: string): Record<string, string> {
  return {
    OPSAUTO_STAGE: stage,
    ...(config.observability.tracing ? { POWERTOOLS_TRACE_ENABLED: 'true', POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false' } : {}),
  };
}
