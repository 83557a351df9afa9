import { AwsError } from './errors.js';
import { mulberry32 } from './random.js';

/** One fault rule; `service` / `operation` narrow it (e.g. `ec2`, `DescribeVolumes`), absent means all. */
export interface FaultRule {
  service?: string;
  operation?: string;
  /** Share of calls answered with the service's own throttling error (0..1). */
  throttleRate?: number;
  /** Share of calls answered with a 5xx internal error (0..1). */
  errorRate?: number;
  /** Added latency in ms for every matching call. */
  latencyMs?: number;
  /**
   * Share of calls that time out (0..1): the request is held open without an answer for `timeoutMs`, then its
   * connection is dropped, so an SDK sees its own request timeout (when it has one) or a reset connection.
   */
  timeoutRate?: number;
  /** How long a timed-out call is held before its connection is dropped; default 5000, at most 60000. */
  timeoutMs?: number;
  /**
   * Share of paginated list/describe calls with a filter (0..1) answered, as AWS may, with an empty page and a
   * NextToken (RDS: Marker); the call that follows that token is served as the first one would have been. A
   * caller that stops at an empty page misses everything; one that follows the token to the end sees it all.
   */
  emptyPageRate?: number;
}

export const DEFAULT_TIMEOUT_MS = 5000;
const FIELDS = ['service', 'operation', 'throttleRate', 'errorRate', 'latencyMs', 'timeoutRate', 'timeoutMs', 'emptyPageRate'];

/** Thrown by `Faults.apply` for a call drawn to time out: the server holds the request, then drops it. */
export class TimeoutFault extends Error {
  override name = 'TimeoutFault';

  constructor(readonly holdMs: number) {
    super(`localcloud fault: request held for ${holdMs} ms, then its connection dropped`);
  }
}

/** What each service answers when it throttles, as AWS does (the SDK retries all of these). */
const throttleErrors: Record<string, { code: string; status: number; message: string }> = {
  ec2: { code: 'RequestLimitExceeded', status: 503, message: 'Request limit exceeded.' },
  dynamodb: {
    code: 'ProvisionedThroughputExceededException',
    status: 400,
    message: 'The level of configured provisioned throughput for the table was exceeded.',
  },
  sts: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  rds: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  sns: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  cloudformation: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  s3: { code: 'SlowDown', status: 503, message: 'Please reduce your request rate.' },
  scheduler: { code: 'ThrottlingException', status: 429, message: 'Rate exceeded' },
};
const internalErrors: Record<string, string> = {
  ec2: 'InternalError',
  sts: 'InternalFailure',
  rds: 'InternalFailure',
  cloudformation: 'InternalFailure',
  events: 'InternalException',
  s3: 'InternalError',
  scheduler: 'InternalServerException',
};

/**
 * The fault rules of a `POST /_localcloud/faults` body (one rule, or `{ rules: [...] }`). With `services`, a rule
 * naming another service is refused (it would never match), and so is a rule that injects nothing.
 */
export function parseFaultRules(body: unknown, services?: readonly string[]): FaultRule[] {
  const rules = Array.isArray((body as { rules?: unknown })?.rules) ? (body as { rules: unknown[] }).rules : [body];
  return rules.map((r, i) => {
    if (typeof r !== 'object' || r === null) throw new RangeError(`fault rule ${i} must be an object`);
    const rule = r as Record<string, unknown>;
    for (const key of Object.keys(rule)) {
      if (!FIELDS.includes(key)) throw new RangeError(`fault rule ${i}: unknown field ${key} (${FIELDS.join(', ')})`);
    }
    for (const key of ['throttleRate', 'errorRate', 'timeoutRate', 'emptyPageRate'] as const) {
      const v = rule[key];
      if (v !== undefined && (typeof v !== 'number' || v < 0 || v > 1)) throw new RangeError(`fault rule ${i}: ${key} must be a number from 0 to 1`);
    }
    if (rule.latencyMs !== undefined && (typeof rule.latencyMs !== 'number' || rule.latencyMs < 0 || rule.latencyMs > 60_000)) {
      throw new RangeError(`fault rule ${i}: latencyMs must be a number from 0 to 60000`);
    }
    if (rule.timeoutMs !== undefined && (typeof rule.timeoutMs !== 'number' || rule.timeoutMs < 1 || rule.timeoutMs > 60_000)) {
      throw new RangeError(`fault rule ${i}: timeoutMs must be a number from 1 to 60000`);
    }
    for (const key of ['service', 'operation'] as const) {
      if (rule[key] !== undefined && typeof rule[key] !== 'string') throw new RangeError(`fault rule ${i}: ${key} must be a string`);
    }
    if (services && typeof rule.service === 'string' && !services.includes(rule.service)) {
      throw new RangeError(`fault rule ${i}: service ${rule.service} is not one localcloud serves (${services.join(', ')})`);
    }
    if (services && !['throttleRate', 'errorRate', 'latencyMs', 'timeoutRate', 'emptyPageRate'].some((key) => rule[key] !== undefined)) {
      throw new RangeError(`fault rule ${i} injects nothing: give throttleRate, errorRate, latencyMs, timeoutRate or emptyPageRate`);
    }
    return rule as FaultRule;
  });
}

/** Decides, per call, the latency to add and whether to fail it. Seeded, so a test run is repeatable. */
export class Faults {
  private rules: FaultRule[] = [];
  private readonly random: () => number;

  constructor(seed = 0x5eed) {
    this.random = mulberry32(seed);
  }

  set(rules: FaultRule[]): void {
    this.rules = rules;
  }

  list(): FaultRule[] {
    return this.rules;
  }

  /**
   * Waits the injected latency, then throws the injected fault if one is drawn: an AwsError (throttling, 5xx), or
   * a TimeoutFault, which the server answers by holding the request and dropping its connection.
   */
  async apply(service: string, operation: string): Promise<void> {
    const matching = this.rules.filter((r) => (!r.service || r.service === service) && (!r.operation || r.operation === operation));
    if (matching.length === 0) return;
    const latency = Math.max(0, ...matching.map((r) => r.latencyMs ?? 0));
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    for (const rule of matching) {
      if (rule.timeoutRate && this.random() < rule.timeoutRate) throw new TimeoutFault(rule.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      if (rule.throttleRate && this.random() < rule.throttleRate) {
        const t = throttleErrors[service] ?? { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' };
        throw new AwsError(t.code, t.message, t.status);
      }
      if (rule.errorRate && this.random() < rule.errorRate) {
        throw new AwsError(internalErrors[service] ?? 'InternalServerError', 'We encountered an internal error. Please try again.', 500);
      }
    }
  }

  /** Whether this paginated call is drawn to answer an empty page with a token (`emptyPageRate`). */
  emptyPage(service: string, operation: string): boolean {
    const rate = Math.max(0, ...this.rules.filter((r) => (!r.service || r.service === service) && (!r.operation || r.operation === operation)).map((r) => r.emptyPageRate ?? 0));
    return rate > 0 && this.random() < rate;
  }
}

/** Counts calls per service and operation, for benchmarks (`GET /_localcloud/calls`). */
export class CallCounter {
  private counts = new Map<string, number>();

  record(service: string, operation: string): void {
    const key = `${service}:${operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [key, n] of [...this.counts].sort()) {
      const [service, operation] = key.split(':') as [string, string];
      (out[service] ??= {})[operation] = n;
    }
    return out;
  }

  reset(): void {
    this.counts.clear();
  }
}
