import { AwsClients } from '@opsauto/aws';
import { count, METRIC_NAMES } from './metrics.js';

/**
 * The SDK clients of a function's container, in its own region; reused across invocations. Every throttling answer
 * an AWS call meets (retried by the SDK or not) counts one Throttles.
 */
export const clients = new AwsClients(process.env.AWS_REGION ?? 'us-east-1', {}, { throttled: () => count(METRIC_NAMES.throttles) });
