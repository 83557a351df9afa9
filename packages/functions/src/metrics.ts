import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from './logger.js';

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
 * The one Metrics of every function (Powertools, CloudWatch embedded metric format: log lines, no IAM): namespace
 * `opsauto`, dimensions `service` = `opsauto` and `stage`. Flushed once per invocation by `logMetrics` (handler.ts).
 * Off where POWERTOOLS_METRICS_DISABLED=true or POWERTOOLS_DEV=true (the local stage): no EMF line reaches its log.
 * Dimensions and metadata never carry a secret: they are the stage and the service only.
 * Powertools' own notices ("no application metrics to publish") go to the logger at debug level.
 *
 * @example
 * count(METRIC_NAMES.amisPublished, published.length);
 */
export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: 'opsauto',
  defaultDimensions: { stage: stageDimension() },
  logger: {
    debug: (...args: unknown[]) => logger.debug(String(args[0])),
    info: (...args: unknown[]) => logger.debug(String(args[0])),
    warn: (...args: unknown[]) => logger.debug(String(args[0])),
    error: (...args: unknown[]) => logger.error(String(args[0])),
  },
});

/**
 * Adds `value` to a count metric of this invocation (a metric added twice is one metric with both values; the
 * count 0 is emitted too, so that an alarm sees "nothing happened" rather than missing data).
 */
export function count(name: MetricName, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

/** A duration in milliseconds. */
export function milliseconds(name: MetricName, value: number): void {
  metrics.addMetric(name, MetricUnit.Milliseconds, Math.max(0, value));
}
