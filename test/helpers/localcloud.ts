import { rmSync } from 'node:fs';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { startLocalcloud, type Localcloud, type LocalcloudOptions } from '@opsauto/localcloud';

/**
 * SDK client settings for localcloud: its endpoint, fixed test credentials, and a fast retry strategy
 * (the SDK's default throttling back-off starts at 1 s; tests must not sleep that long).
 */
export function clientConfig(cloud: Localcloud, region = 'us-east-1') {
  return {
    endpoint: cloud.url,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryStrategy: new ConfiguredRetryStrategy(5, () => 5),
  };
}

/** Starts an in-memory localcloud on a free port with the clock driven by the test (no real-time tick). */
export async function startTestCloud(options: LocalcloudOptions = {}): Promise<Localcloud> {
  return startLocalcloud({ port: 0, tickMs: 0, ...options });
}

/**
 * Removes a data folder, retrying for a while: on a loaded machine the file system can still be settling just
 * after a stop, and a single recursive rm then fails with ENOTEMPTY.
 */
export async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch (e) {
      if (attempt >= 50) throw e;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * The first Monday 00:00 UTC after now (09:00 that Monday in Seoul): a start for stages whose tests move the clock
 * to an hour of a weekday (StageOptions.startAt), so that a move covers the same hours, and runs the same checks,
 * whatever day the suite runs. Always ahead of the real time, as credentials' expiry times must be.
 */
export function nextMondayUtc(now = new Date()): Date {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const daysToMonday = ((8 - now.getUTCDay()) % 7) || 7;
  return new Date(midnight + daysToMonday * 86_400_000);
}
