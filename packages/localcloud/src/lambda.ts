import { randomUUID } from 'node:crypto';
import type { VirtualClock } from './clock.js';

/** A Lambda handler as the Node.js runtime calls it. */
export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;

export interface LambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
  /**
   * Adds a line to this invocation's log (what `LogType: Tail` returns). localcloud's own runtimes (Python) write
   * their stdout and stderr here; in-process Node handlers log to the stage's console as before.
   */
  log?(line: string): void;
  done(): void;
  fail(): void;
  succeed(): void;
}

export interface FunctionRegistration {
  name: string;
  handler: LambdaHandler;
  /** Set in process.env for each invocation (functions run in this process). */
  environment?: Record<string, string>;
  timeoutSeconds?: number;
  memoryMB?: number;
}

/** The outcome of one synchronous invocation, with its log, as the Lambda API's Invoke reports it. */
export type InvocationOutcome = { requestId: string; logs: string[] } & ({ failed: false; result: unknown } | { failed: true; error: unknown });

/** The most log text kept per invocation (Lambda's Tail returns the last 4 KB; this keeps a little more). */
export const MAX_INVOCATION_LOG_CHARS = 64 * 1024;

export interface InvocationRecord {
  function: string;
  requestId: string;
  trigger: string;
  attempt: number;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  error?: string;
  /**
   * The function said it found nothing to do (its result has `idle: true`, as a periodic tick's does): kept among
   * the invocations, left out of the stage log, which is for people.
   */
  idle?: boolean;
}

/** Invocation records kept (the newest); older ones are dropped. */
export const MAX_INVOCATION_RECORDS = 50_000;

/** Lambda's retry schedule for asynchronous invocations: two retries, about 1 and 2 minutes apart. */
export const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000];

/**
 * Runs registered functions in this process, like the Lambda service: synchronous invokes return the result
 * or throw; asynchronous ones (events, schedules) are retried twice on the virtual clock, then kept as failures.
 */
export class LambdaRuntime {
  private readonly functions = new Map<string, FunctionRegistration>();
  private readonly inFlight = new Set<Promise<unknown>>();
  readonly invocations: InvocationRecord[] = [];
  readonly failures: (InvocationRecord & { event: unknown })[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly log: (line: string) => void,
    private readonly account: string,
    private readonly region: string,
  ) {}

  register(fn: FunctionRegistration): void {
    this.functions.set(fn.name, fn);
  }

  list(): string[] {
    return [...this.functions.keys()];
  }

  has(name: string): boolean {
    return this.functions.has(name);
  }

  /** RequestResponse invoke: the handler's result, or its error. */
  async invoke(name: string, event: unknown, trigger = 'invoke', attempt = 1): Promise<unknown> {
    const run = await this.run(name, event, trigger, attempt);
    if (run.failed) throw run.error;
    return run.result;
  }

  /** RequestResponse invoke that reports the outcome (result or error) with the invocation's log lines, never throwing. */
  async invokeWithLog(name: string, event: unknown, trigger: string): Promise<InvocationOutcome> {
    const run = await this.run(name, event, trigger, 1);
    return run.failed ? { requestId: run.record.requestId, logs: run.logs, failed: true, error: run.error } : { requestId: run.record.requestId, logs: run.logs, failed: false, result: run.result };
  }

  /**
   * Runs one invocation and records it. The outcome comes back with its own record, so that a caller that
   * reports a failure reports this invocation's, even while others finish around it.
   */
  private async run(
    name: string,
    event: unknown,
    trigger: string,
    attempt: number,
    requestId: string = randomUUID(),
  ): Promise<{ record: InvocationRecord; logs: string[] } & ({ failed: false; result: unknown } | { failed: true; error: unknown })> {
    const fn = this.functions.get(name);
    if (!fn) {
      const error = new Error(`no function named ${name} (registered: ${this.list().join(', ') || 'none'})`);
      // Recorded as a failed run, so that an event or a schedule aimed at a function that is not there shows up,
      // with the function's name, among the invocations and then the failures.
      const record: InvocationRecord = { function: name, requestId, trigger, attempt, startedAt: this.clock.now().toISOString(), durationMs: 0, ok: false, error: `${error.name}: ${error.message}` };
      this.record(record);
      return { record, logs: [], failed: true, error };
    }
    const started = Date.now();
    const timeoutMs = (fn.timeoutSeconds ?? 30) * 1000;
    // Lambda's own lines around the function's, as CloudWatch Logs (and Tail) show them.
    const logs: string[] = [`START RequestId: ${requestId} Version: $LATEST`];
    let logChars = 0;
    const log = (line: string) => {
      logs.push(line);
      logChars += line.length + 1;
      while (logChars > MAX_INVOCATION_LOG_CHARS && logs.length > 1) logChars -= logs.splice(1, 1)[0].length + 1;
    };
    const context: LambdaContext = {
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.region}:${this.account}:function:${fn.name}`,
      memoryLimitInMB: String(fn.memoryMB ?? 256),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: `local/${requestId}`,
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
      log,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    Object.assign(process.env, fn.environment ?? {});
    const record: InvocationRecord = { function: name, requestId, trigger, attempt, startedAt: this.clock.now().toISOString(), durationMs: 0, ok: true };
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Task timed out after ${fn.timeoutSeconds ?? 30}.00 seconds`)), timeoutMs);
      });
      const result = await Promise.race([fn.handler(event, context), timeout]);
      if (typeof result === 'object' && result !== null && (result as { idle?: unknown }).idle === true) record.idle = true;
      return { record, logs, failed: false, result };
    } catch (e) {
      record.ok = false;
      record.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      log(`${requestId}\tERROR\t${record.error}`);
      return { record, logs, failed: true, error: e };
    } finally {
      clearTimeout(timer);
      record.durationMs = Date.now() - started;
      logs.push(`END RequestId: ${requestId}`, `REPORT RequestId: ${requestId}\tDuration: ${record.durationMs.toFixed(2)} ms\tMemory Size: ${fn.memoryMB ?? 256} MB`);
      this.record(record);
    }
  }

  private record(record: InvocationRecord): void {
    this.invocations.push(record);
    // Enough for weeks of virtual time with a 5-minute tick (288 a day) beside the daily jobs.
    if (this.invocations.length > MAX_INVOCATION_RECORDS) this.invocations.splice(0, this.invocations.length - MAX_INVOCATION_RECORDS);
    if (record.ok && record.idle) return;
    const attemptText = record.attempt > 1 ? ` attempt ${record.attempt}` : '';
    this.log(`λ ${record.function} ← ${record.trigger}${attemptText}: ${record.ok ? 'ok' : `FAILED ${record.error}`} (${record.durationMs} ms)`);
  }

  /**
   * Event invoke: returns at once; failures are retried on the virtual clock, then recorded. As in Lambda, the
   * retries of one invocation keep its request ID (two deliveries of one event are two invocations, two IDs).
   */
  invokeAsync(name: string, event: unknown, trigger: string, attempt = 1, requestId: string = randomUUID()): void {
    const run = this.run(name, event, trigger, attempt, requestId).then((outcome) => {
      if (!outcome.failed) return;
      const delay = ASYNC_RETRY_DELAYS_MS[attempt - 1];
      if (delay !== undefined) {
        this.clock.at(this.clock.nowMs() + delay, () => this.invokeAsync(name, event, trigger, attempt + 1, requestId));
        return;
      }
      const e = outcome.error;
      this.failures.push({ ...outcome.record, error: e instanceof Error ? e.message : String(e), event });
    });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  /** Resolves when no asynchronous invocation is running (including ones started while waiting). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
