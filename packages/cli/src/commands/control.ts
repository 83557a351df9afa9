import { readFileSync } from 'node:fs';
import { MAX_ADVANCE_MS, parseDuration } from '@opsauto/localcloud/clock.js';
import type { InvocationRecord } from '@opsauto/localcloud/lambda.js';
import type { Command } from 'commander';
import { ControlClient, localcloudUrl } from '../control-client.js';
import { requireLocalStage } from '../local-stage.js';
import { isoSeconds, print, table, wantsJson } from '../output.js';

const client = (program: Command) => new ControlClient(localcloudUrl(program.opts<{ endpoint?: string }>().endpoint));

const DAY_MS = 86_400_000;

function readEvent(file: string | undefined): unknown {
  if (!file) return {};
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`--event ${file} is not JSON: ${(e as Error).message}`);
  }
}

/**
 * The clock's offset from real time in days, hours and minutes (seconds only under a day).
 *
 * @example
 * formatOffset(2 * 86_400_000 + 3 * 3_600_000); // '+2d 3h'
 */
export function formatOffset(ms: number): string {
  if (Math.abs(ms) < 1000) return '0';
  const sign = ms < 0 ? '-' : '+';
  let rest = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(rest / 86_400);
  rest -= d * 86_400;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, d === 0 && s && `${s}s`].filter((p): p is string => Boolean(p));
  return sign + parts.join(' ');
}

interface ClockState {
  now: string;
  offsetMs: number;
}

const clockLine = (c: ClockState) => `virtual time ${isoSeconds(c.now)} (offset ${formatOffset(c.offsetMs)})`;

/** One step of a long advance in words: what ran (per function; idle ticks counted apart) and what failed. */
export function stepSummary(records: InvocationRecord[], deadLettered: number): string {
  const ran = new Map<string, number>();
  let idle = 0;
  let failed = 0;
  for (const r of records) {
    if (!r.ok) failed++;
    if (r.ok && r.idle) idle++;
    else ran.set(r.function, (ran.get(r.function) ?? 0) + 1);
  }
  const parts = [...ran].map(([fn, n]) => `${fn} ${n}`);
  const what = parts.length ? parts.join(', ') : 'nothing ran';
  const idleText = idle ? ` (+${idle} idle)` : '';
  const failures = failed === 0 ? 'no failures' : `${failed} failed${deadLettered ? `, ${deadLettered} to the failure queue` : ''}`;
  return `${what}${idleText}; ${failures}`;
}

/**
 * `clock advance` in steps of one day (the remainder last), printing after each step the day's line: what ran and
 * what failed. On a terminal, a bar on standard error shows how far it got.
 */
async function advanceWithProgress(c: ControlClient, total: number): Promise<ClockState> {
  const bar = process.stderr.isTTY ? (done: number) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${formatOffset(done).slice(1) || '0'} of ${formatOffset(total).slice(1)}`);
  } : undefined;
  const clearBar = () => bar && process.stderr.write('\r\x1b[K');
  let state = await c.request<ClockState>('GET', 'clock');
  let done = 0;
  bar?.(0);
  while (done < total) {
    const step = Math.min(DAY_MS, total - done);
    // Records of this step only: those started after the previous step ended.
    const since = new Date(Date.parse(state.now) + 1).toISOString();
    state = await c.request<ClockState>('POST', 'clock', { advance: `${step}ms` });
    done += step;
    const q = `?since=${encodeURIComponent(since)}`;
    const [records, deadLettered] = await Promise.all([c.request<InvocationRecord[]>('GET', `invocations${q}`), c.request<unknown[]>('GET', `failures${q}`)]);
    clearBar();
    console.log(`${isoSeconds(state.now).replace(/:\d\dZ$/, 'Z')}  ${stepSummary(records, deadLettered.length)}`);
    bar?.(done);
  }
  clearBar();
  return state;
}

/** A function's result in a few lines: a one-line summary, then its fields as a table when it is an object. */
function printResult(fn: string, result: unknown): void {
  if (result === null || typeof result !== 'object') {
    console.log(`${fn}: ok${result === null || result === undefined ? '' : `, result ${JSON.stringify(result)}`}`);
    return;
  }
  if (Array.isArray(result)) {
    console.log(`${fn}: ok, ${result.length} item${result.length === 1 ? '' : 's'}`);
    const objects = result.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r));
    if (objects && result.length) console.log(table(result as Record<string, unknown>[], [...new Set(result.flatMap((r) => Object.keys(r as object)))]));
    else for (const r of result) console.log(JSON.stringify(r));
    return;
  }
  console.log(`${fn}: ok`);
  const entries = Object.entries(result as Record<string, unknown>);
  if (entries.length) console.log(table(entries.map(([field, value]) => ({ field, value })), ['field', 'value']));
}

/**
 * The event types a function of the manifest takes, from its triggers: the detail-types of its rules, `Scheduled
 * Event` for its schedules, the routes of its HTTP API. Undefined when the function is not in the manifest.
 */
async function eventTypesOf(fn: string): Promise<string[] | undefined> {
  const [{ manifest }, { loadProjectConfig }] = await Promise.all([import('@opsauto/functions/manifest.js'), import('../project.js')]);
  const definition = manifest(await loadProjectConfig()).find((d) => d.name === fn);
  if (!definition) return undefined;
  const types = definition.triggers.flatMap((t) => {
    if (t.type === 'schedule') return ['Scheduled Event'];
    if (t.type === 'http') return [`HTTP ${t.method} ${t.path}`];
    const detailTypes = t.pattern['detail-type'];
    return Array.isArray(detailTypes) ? detailTypes.map(String) : [`events of ${JSON.stringify(t.pattern.source ?? t.pattern)}`];
  });
  return [...new Set(types)];
}

interface FaultRuleListing {
  rules: Record<string, unknown>[];
}

const FAULT_COLUMNS = ['service', 'operation', 'throttleRate', 'errorRate', 'latencyMs', 'timeoutRate', 'timeoutMs', 'emptyPageRate'];

function printFaults(program: Command, listing: FaultRuleListing): void {
  if (wantsJson(program)) return print(listing, program);
  if (listing.rules.length === 0) return console.log('no fault rules');
  const columns = FAULT_COLUMNS.filter((c, i) => i < 2 || listing.rules.some((r) => r[c] !== undefined));
  console.log(`${listing.rules.length} fault rule${listing.rules.length === 1 ? '' : 's'}`);
  console.log(table(listing.rules.map((r) => ({ ...r, service: r.service ?? '*', operation: r.operation ?? '*' })), columns));
}

/** What `GET /_localcloud/health` says of the stage. */
interface Health {
  now: string;
  services: string[];
  functions: string[];
  rules: string[];
  routes: { method: string; path: string; function: string }[];
  schedules: { name: string; expression: string; timezone?: string; target: string; source: string; next?: string }[];
}

/** The stage in a few lines: time and counts, then each function with its triggers (one row per trigger). */
function printHealth(url: string, health: Health, clockState: ClockState): void {
  console.log(`local stage at ${url}: ${clockLine(clockState)}`);
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  console.log(`${n(health.functions.length, 'function')}, ${n(health.rules.length, 'rule')}, ${n(health.schedules.length, 'schedule')}, ${n(health.routes.length, 'route')}; services: ${health.services.join(', ')}`);
  const rows: Record<string, string>[] = [];
  const own = (fn: string, name: string) => (name.startsWith(`${fn}.`) ? name.slice(fn.length + 1) : name);
  // Schedules created through the Scheduler API (a function's wake-ups) aim at the function's ARN.
  const targetOf = (s: Health['schedules'][number]) => /^arn:aws:lambda:[^:]*:\d*:function:([^:]+)$/.exec(s.target)?.[1] ?? s.target;
  const listed = new Set<string>();
  for (const fn of health.functions) {
    const triggers = [
      ...health.schedules.filter((s) => targetOf(s) === fn).map((s) => ({ trigger: s.source === 'api' ? 'schedule (api)' : 'schedule', name: own(fn, s.name), detail: `${s.expression}${s.timezone ? ` ${s.timezone}` : ''}`, next: s.next ? isoSeconds(s.next) : '' })),
      ...health.rules.filter((r) => r.startsWith(`${fn}.`)).map((r) => ({ trigger: 'rule', name: own(fn, r), detail: '', next: '' })),
      ...health.routes.filter((r) => r.function === fn).map((r) => ({ trigger: 'route', name: `${r.method} ${r.path}`, detail: '', next: '' })),
    ];
    triggers.forEach((t, i) => rows.push({ function: i === 0 ? fn : '', ...t }));
    if (triggers.length === 0) rows.push({ function: fn, trigger: '-', name: '', detail: '', next: '' });
    for (const t of health.schedules.filter((s) => targetOf(s) === fn)) listed.add(t.name);
  }
  for (const s of health.schedules.filter((x) => !listed.has(x.name))) rows.push({ function: s.target, trigger: `schedule (${s.source})`, name: s.name, detail: s.expression, next: s.next ? isoSeconds(s.next) : '' });
  console.log(table(rows, ['function', 'trigger', 'name', 'detail', 'next']));
}

export function controlCommands(program: Command): void {
  program
    .command('status')
    .action(async () => {
      requireLocalStage(program, 'status', 'describes the local stage (localcloud)', `on --stage ${program.opts<{ stage: string }>().stage}, GET /status of its HTTP API (SigV4) reports the fleet`);
      const c = client(program);
      const health = await c.request<Health>('GET', 'health');
      if (wantsJson(program)) return print(health, program);
      printHealth(c.baseUrl, health, await c.request<ClockState>('GET', 'clock'));
    });

  program
    .command('invoke <function>')
    .option('--event <file>', 'the event as a JSON file (- for standard input); default {}')
    .action(async (fn: string, opts: { event?: string }) => {
      requireLocalStage(program, 'invoke', 'invokes functions of the local stage only', `on --stage ${program.opts<{ stage: string }>().stage}, use aws lambda invoke with the function's name from the stack`);
      const event = readEvent(opts.event);
      let result: unknown;
      try {
        result = await client(program).request('POST', `invoke/${encodeURIComponent(fn)}`, event);
      } catch (e) {
        // The event did not match the function's schema: say which events it takes.
        if (e instanceof Error && e.message.startsWith('InvalidEventError:')) {
          const types = await eventTypesOf(fn).catch(() => undefined);
          if (types) throw new Error(`${e.message}; ${fn} takes: ${types.length ? types.join(', ') : 'no event of its own (no trigger)'}`);
        }
        throw e;
      }
      if (wantsJson(program)) return print(result, program);
      printResult(fn, result);
    });

  const clock = program.command('clock');
  clock.hook('preAction', () => requireLocalStage(program, 'clock', 'the virtual clock exists only on the local stage'));
  clock
    .command('show', { isDefault: true })
    .description('print the virtual time')
    .action(async () => {
      const state = await client(program).request<ClockState>('GET', 'clock');
      if (wantsJson(program)) return print(state, program);
      console.log(clockLine(state));
    });
  clock
    .command('advance <duration>')
    .description('move forward (46d, 2h, 90s, P46D, PT2H; at most 366d at once), running every schedule, lifecycle change and retry due on the way; prints a line per day as it goes (--json: the end only)')
    // `-1d` reads as an option to commander: let it through to say what is wrong with it.
    .allowUnknownOption()
    .action(async (duration: string) => {
      if (duration.startsWith('-')) throw new Error(`clock advance: durations are positive (46d, 2h, 90s), not ${duration}; to go back, clock set <time> --backwards`);
      let total: number;
      try {
        total = parseDuration(duration);
      } catch (e) {
        throw new Error(`clock advance: ${(e as Error).message}`);
      }
      if (total > MAX_ADVANCE_MS) throw new Error(`clock advance: at most 366 days (366d) at once, not ${duration}: move in several steps`);
      const c = client(program);
      if (wantsJson(program)) return print(await c.request('POST', 'clock', { advance: duration }), program);
      console.log(clockLine(await advanceWithProgress(c, total)));
    });
  clock
    .command('set <time>')
    .description('jump to an ISO-8601 time (forward jumps run what is due on the way)')
    .option('--backwards', 'allow a time before the current virtual time (schedules already armed keep their later times)')
    .action(async (time: string, opts: { backwards?: boolean }) => {
      const target = Date.parse(time);
      if (!opts.backwards && Number.isFinite(target)) {
        const { now } = await client(program).request<{ now: string }>('GET', 'clock');
        if (target < Date.parse(now)) throw new Error(`clock set: ${time} is before the virtual time ${now}; pass --backwards to move the clock back`);
      }
      const state = await client(program).request<ClockState>('POST', 'clock', { set: time });
      if (wantsJson(program)) return print(state, program);
      console.log(clockLine(state));
    });

  const faults = program.command('faults');
  faults.hook('preAction', () => requireLocalStage(program, 'faults', "fault injection is localcloud's, on the local stage only"));
  faults
    .command('set')
    .description('replace the fault rules with one rule')
    .option('--service <name>', 'only this service (ssm, ec2, dynamodb, events, sts)')
    .option('--operation <name>', 'only this operation (e.g. DescribeImages)')
    .option('--throttle-rate <0..1>', "share of calls answered with the service's throttling error", Number)
    .option('--error-rate <0..1>', 'share of calls answered with a 5xx', Number)
    .option('--latency-ms <ms>', 'latency added to every matching call', Number)
    .action(async (opts: Record<string, unknown>) => printFaults(program, await client(program).request<FaultRuleListing>('POST', 'faults', opts)));
  faults
    .command('clear')
    .description('remove every fault rule')
    .action(async () => printFaults(program, await client(program).request<FaultRuleListing>('DELETE', 'faults')));
  faults
    .command('show', { isDefault: true })
    .description('print the fault rules')
    .action(async () => printFaults(program, await client(program).request<FaultRuleListing>('GET', 'faults')));

  program
    .command('failures')
    .action(async () => {
      requireLocalStage(program, 'failures', "lists the local stage's failed asynchronous invocations", `on --stage ${program.opts<{ stage: string }>().stage} they are in the stack's FailedInvocations queue (output FailedInvocationsQueueUrl)`);
      const failures = await client(program).request<(InvocationRecord & { event: unknown })[]>('GET', 'failures');
      if (wantsJson(program)) return print(failures, program);
      if (failures.length === 0) return console.log('no failed invocations');
      console.log(`${failures.length} failed invocation${failures.length === 1 ? '' : 's'} (after their retries)`);
      console.log(table(failures.map((f) => ({ function: f.function, time: isoSeconds(f.startedAt), trigger: f.trigger, attempts: f.attempt, error: f.error })), ['function', 'time', 'trigger', 'attempts', 'error']));
    });
}
