import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from './logger.js';
import { METRICS_NAMESPACE, stageDimension, type MetricName } from './observability.js';

export { METRIC_NAMES } from './observability.js';

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
