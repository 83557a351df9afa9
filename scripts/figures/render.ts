/**
 * The README's "Performance and reliability" section, rendered from the benchmarks' results (bench/results/*.json,
 * written by `npm run bench`) and the reliability suite's counts (bench/results/reliability.jsonl, written by the
 * suite under OPSAUTO_FIGURES=1). Pure: the same inputs render the same text, so `npm run figures` is idempotent.
 *
 * @example
 * const section = renderFigures({ benches: { 'stale-scan': json }, reliability: records, reliabilityFiles: ['faults.test.ts'] });
 * writeFileSync('README.md', replaceSection(readFileSync('README.md', 'utf8'), section));
 */

export const START_MARKER = '<!-- figures:start -->';
export const END_MARKER = '<!-- figures:end -->';

/** What `writeResult` (bench/report.ts) puts in every result; older results lack the machine fields. */
export interface BenchResult {
  name?: string;
  at?: string;
  node?: string;
  cpus?: number;
  cpuModel?: string;
  loadavg?: number[];
  [field: string]: unknown;
}

/** One row of the table: a figure, what it is measured against, and its target. */
export interface Figure {
  what: string;
  value: string;
  baseline: string;
  target: string;
  /** undefined: the figure has no target (for reference). */
  met: boolean | undefined;
}

/** One count of one reliability test file (test/helpers/figures.ts writes them). */
export interface ReliabilityRecord {
  file: string;
  key: string;
  value: number | string;
  at?: string;
}

export interface FiguresInput {
  /** Each benchmark's parsed result by its name; a benchmark without one is listed as missing. */
  benches: Record<string, BenchResult | undefined>;
  reliability: ReliabilityRecord[];
  /** The files of test/reliability/ (`*.test.ts`); one without records is listed as recording none. */
  reliabilityFiles: string[];
}

// The fields below are read from JSON written by bench/*.ts: loosely typed, checked by `need` where a row cannot do without.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument */
type Json = any;

const num = (n: unknown, digits = 2): string => {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '?';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
};
const ms = (n: unknown): string => (typeof n === 'number' && n >= 10_000 ? `${num(n / 1000, 1)} s` : `${num(n, 1)} ms`);
const x = (n: unknown): string => (typeof n === 'number' && Number.isFinite(n) ? `${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}×` : '?×');
const all = (...checks: unknown[]): boolean => checks.every((c) => c === true);
/** The fault rules a run injected on every service, e.g. `20% throttling, 5% 5xx, 50 ms`. */
const faultsText = (rules: unknown): string =>
  Array.isArray(rules) && rules.length
    ? rules
        .map((f: { throttleRate?: number; errorRate?: number; latencyMs?: number }) =>
          [f.throttleRate ? `${num(f.throttleRate * 100, 1)}% throttling` : '', f.errorRate ? `${num(f.errorRate * 100, 1)}% 5xx` : '', f.latencyMs ? `${num(f.latencyMs, 0)} ms` : ''].filter(Boolean).join(', '),
        )
        .join('; ')
    : 'faults not recorded';

/** The field at `path` of a result, or an error naming it (the result is then shown as unreadable). */
function need(result: Json, path: string): Json {
  let at: Json = result;
  for (const part of path.split('.')) at = at?.[part];
  if (at === undefined || at === null) throw new Error(`no ${path}`);
  return at;
}

/**
 * Every benchmark `npm run bench` runs (bench/run.ts), in its order, with the figures of its result: one row per
 * target, and the reference figures the analysis in docs/benchmarks.md leans on.
 */
export const BENCHES: Record<string, (r: Json) => Figure[]> = {
  'bundle-init': (r) =>
    (need(r, 'functions') as Json[])
      .filter((f) => f.deployed)
      .map((f) => ({
        what: `\`${f.function}\` cold start: bundle, module init`,
        value: `${num(f.bundleKB, 0)} KB, ${ms(f.initMsMedian)} (median of ${num(r.reps, 0)})`,
        baseline: `${x(f.initRatio)} ${f.baselineClients ?? 'its SDK clients'} alone (${ms(f.baselineInitMsMedian)})`,
        target: `≤ ${num(f.bundleTargetKB, 0)} KB, ≤ ${x(r.targets?.initRatio ?? 1.25)}`,
        met: f.bundleOk && f.initOk,
      })),
  'describe-volumes': (r) =>
    (need(r, 'filters') as Json[]).map((f) => ({
      what: `DescribeVolumes page of ${num(r.pageSize, 0)} of ${num(r.volumes, 0)} volumes (${f.filter})`,
      value: `served in ${ms(f.servedMsMedian)}; ${ms(f.sdkPageMsMedian)} through the SDK`,
      baseline: `SDK page ${x(f.ratio)} a GetCallerIdentity (${ms(f.baselineMsMedian)})`,
      target: `served ≤ ${ms(r.targets?.servedMsMedian ?? 25)}`,
      met: f.ok,
    })),
  'stale-scan': (r) => {
    const filing = need(r, 'filing');
    const steady = need(r, 'steadyState');
    const at = `scan of ${num(r.fleet?.volumes, 0)} volumes in ${num(r.fleet?.regions, 0)} regions, ${num(r.latencyMs, 0)} ms a call`;
    return [
      { what: `${at}: AWS calls`, value: num(filing.totalCalls, 0), baseline: `${x(filing.callsRatio)} the lower bound (${num(filing.callsLowerBound?.total, 0)})`, target: '≤ 1.05×', met: r.met?.calls },
      {
        what: `${at}: wall time`,
        value: ms(filing.wallMs),
        baseline: `${x(filing.wallRatio)} the slowest region's pages (${ms(filing.wallLowerBoundMs)}); ${x(filing.wallRatioWithFiling)} with filing (${ms(filing.wallLowerBoundWithFilingMs)})`,
        target: '≤ 1.3× (pages)',
        met: r.met?.wall,
      },
      { what: 'stale scan: steady-state rerun', value: `${num(steady.totalCalls, 0)} calls, ${num(steady.createOpsItem, 0)} CreateOpsItem`, baseline: '–', target: 'no CreateOpsItem', met: r.met?.steadyState },
    ];
  },
  'cli-start': (r) => {
    const rows = need(r, 'commands') as Json[];
    const node = rows.find((c) => c.command === 'node -e 0');
    return rows
      .filter((c) => c !== node)
      .map((c) => ({
        what: `\`${c.command}\`, a fresh process`,
        value: `${ms(c.medianMs)} (median of ${num(r.reps, 0)})`,
        baseline: `${x(c.ratioToNode)} \`node -e 0\` (${ms(node?.medianMs)})`,
        target: c.target || '–',
        met: c.ok === '' ? undefined : c.ok,
      }));
  },
  'runbook-rate': (r) => {
    const at = `AWS-StopEC2Instance over ${num(need(r, 'targets'), 0)} instances, MaxConcurrency ${num(r.concurrency, 0)}, ${num(r.latencyMs, 0)} ms a call`;
    const rounds = Math.ceil(r.targets / r.concurrency);
    return [
      {
        what: `${at}: makespan`,
        value: ms(need(r, 'makespanMs')),
        baseline: `${x(r.makespanRatio)} ${rounds} rounds × one target alone (${ms(r.perTargetPathMs)}); ${x(r.makespanRatioToLoadedPath)} the path under load`,
        target: '≤ 1.25×',
        met: r.met?.makespan,
      },
      { what: 'runbook rate: DynamoDB writes per step transition', value: num(r.writesPerTransition), baseline: `${num(r.dynamoWrites, 0)} writes for ${num(r.stepTransitions, 0)} transitions`, target: '≤ 3', met: r.met?.writes },
      { what: 'runbook rate: hand-off to the next target', value: `${num(r.handoffSequentialCalls, 0)} sequential calls`, baseline: `median gap ${ms(r.handoffMedianGapMs)}`, target: '≤ 3 calls', met: r.met?.handoff },
      { what: 'runbook rate: outcome', value: `${r.status}, ${num(r.lambdaInvocations, 0)} worker invocations`, baseline: '–', target: 'Success', met: r.met?.completed },
    ];
  },
  'office-hours': (r) => {
    const sum = (o: Json) => Object.values(o ?? {}).reduce((a: number, b) => a + (b as number), 0);
    const met = r.met ?? { calls: r.callsOverLowerBound <= 1.1, nothingStarted: !r.startedAny, stoppedEachOnce: r.stoppedEachOnce, allSucceeded: r.allSucceeded };
    const at = `office-hours stop of ${num(need(r, 'ec2'), 0)} EC2 + ${num(r.rds, 0)} RDS in ${num(r.regions?.length, 0)} regions, ${num(r.latencyMs, 0)} ms a call`;
    return [
      { what: `${at}: AWS calls`, value: num(sum(need(r, 'made')), 0), baseline: `${x(r.callsOverLowerBound)} the lower bound (${num(sum(r.lowerBound), 0)})`, target: '≤ 1.1×', met: met.calls },
      {
        what: 'office hours: effects',
        value: `${num(r.executions, 0)} executions${r.allSucceeded ? ', all Success' : ', not all Success'}; ${r.startedAny ? 'something started' : 'nothing started'}; ${r.stoppedEachOnce ? 'each stopped once' : 'not each stopped once'}`,
        baseline: '–',
        target: 'all Success, each stopped once',
        met: all(met.nothingStarted, met.stoppedEachOnce, met.allSucceeded),
      },
      { what: 'office hours: wall time until every stop ended', value: ms(r.wallMs), baseline: `${x(r.wallOverBaseline)} 1 EC2 + 1 RDS a region (${ms(r.baselineWallMs)})`, target: '–', met: undefined },
    ];
  },
  'param-sweep': (r) => {
    const runs = need(r, 'runs') as Json[];
    const big = runs.at(-1);
    const mid = runs.at(-2);
    const at = `parameter sweep of ${num(big.parameters, 0)} parameters, ${num(r.latencyMs, 0)} ms a call`;
    return [
      { what: `${at}: DescribeParameters`, value: `${num(big.describeParameters, 0)} calls`, baseline: `${x(big.describeRatio)} the page lower bound (${num(big.describeLowerBound, 0)})`, target: '≤ 1.05×', met: r.met?.calls },
      { what: 'parameter sweep: ListTagsForResource', value: `${num(big.listTagsForResource, 0)} calls`, baseline: `${num(big.listTagsBound, 0)} parameters with deadlines`, target: 'one each', met: r.met?.tagsOncePerParameter },
      {
        what: 'parameter sweep: peak live heap growth',
        value: `${num(big.peakHeapGrowthMB, 1)} MB`,
        baseline: `${x(r.memoryRatios?.['20k/5k'])} the ${num(mid?.parameters, 0)}-parameter run (${num(mid?.peakHeapGrowthMB, 1)} MB)`,
        target: '≤ 1.2× + 1 MB (flat)',
        met: r.met?.memoryFlat,
      },
      { what: 'parameter sweep: wall time', value: ms(big.wallMs), baseline: `${x(big.wallMs / big.wallBoundMs)} its own call sequence (${ms(big.wallBoundMs)}); ${x(r.wallRatios?.['20k/baseline'])} the ${num(runs[0]?.parameters, 0)}-parameter run`, target: '–', met: undefined },
    ];
  },
  'activation-api': (r) => {
    const storms = need(r, 'storms') as Json[];
    const p99 = r.targets?.p99Ms ?? 50;
    const ratio = r.targets?.throughputRatio ?? 0.5;
    const rows: Figure[] = storms.flatMap((s) => {
      const at = `${num(s.servers, 0)} boot-storm activations, ${num(s.connections, 0)} connections`;
      const a = s.activations;
      const failed = Object.entries(a.byStatus ?? {})
        .filter(([status]) => !status.startsWith('2'))
        .map(([status, count]) => `${num(count, 0)} × ${status}`);
      return [
        { what: `${at}: throughput`, value: `${num(a.rps, 0)} req/s`, baseline: `${x(s.throughputRatio)} a trivial route (${num(s.ping?.rps, 0)} req/s)`, target: `≥ ${x(ratio)}`, met: s.checks?.throughputRatio },
        { what: `${at}: latency`, value: `p99 ${ms(a.p99)}, p50 ${ms(a.p50)}`, baseline: `trivial route p99 ${ms(s.ping?.p99)}`, target: `p99 ≤ ${ms(p99)}`, met: s.checks?.p99 },
        {
          what: `${at}: effects`,
          value: `${num(a.ok, 0)} issued${failed.length ? ` (${failed.join(', ')})` : ''}, ${num(s.activationsCreated, 0)} activations, ${num(s.duplicates, 0)} duplicates, ${num(s.tokenUses, 0)} token uses`,
          baseline: '–',
          target: 'each issued once',
          met: all(s.checks?.allIssued, s.checks?.noDuplicates, s.checks?.usesEqualSuccesses, s.checks?.activationsEqualSuccesses),
        },
      ];
    });
    const u = r.unloaded;
    if (u)
      rows.push({
        what: 'activation request, one at a time',
        value: `p50 ${ms(u.activations?.p50)}, p99 ${ms(u.activations?.p99)}`,
        baseline: `trivial route p50 ${ms(u.ping?.p50)}; one DynamoDB GetItem ${ms(u.getItemMs?.p50)}`,
        target: '–',
        met: undefined,
      });
    return rows;
  },
  'stale-scan-faults': (r) => {
    const runs = need(r, 'runs') as Json[];
    const at = `scan of ${num(r.fleet?.volumes, 0)} volumes in ${num(r.fleet?.regions, 0)} regions with faults on (${faultsText(r.faults)})`;
    const perRun = runs.map((s) => (s.totals ? `${num(s.totals.filed, 0)} filed, ${num(s.totals.leftForNextRun, 0)} left${s.errors ? `, ${num(s.errors, 0)} region errors` : ''}` : `failed (${s.error ?? 'error'})`));
    const clean = r.clean?.totals;
    return [
      { what: `${at}: scans until nothing is left`, value: `${num(runs.length, 0)} scan${runs.length === 1 ? '' : 's'}`, baseline: perRun.join('; '), target: '–', met: undefined },
      { what: 'stale scan with faults on: AWS calls, faults injected', value: `${num(need(r, 'calls'), 0)} calls, ${num(r.faultsInjected, 0)} faults`, baseline: '–', target: '–', met: undefined },
      {
        what: 'stale scan with faults on: OpsItems per stale volume',
        value: `${num(r.opsItems, 0)} OpsItems for ${num(r.volumesWithOpsItem, 0)} volumes, ${num(r.filedTwice, 0)} filed twice`,
        baseline: `${num(r.filed, 0)} stale volumes filed by the scans`,
        target: 'one each',
        met: r.met?.filedOnce,
      },
      {
        what: 'stale scan with faults on: clean rerun',
        value: clean ? `files ${num(clean.filed, 0)} (${num(clean.alreadyFiled, 0)} already filed, ${num(clean.leftForNextRun, 0)} left)` : `failed (${r.clean?.error ?? 'no totals'})`,
        baseline: '–',
        target: 'files 0, nothing left',
        met: r.met?.allFiled,
      },
    ];
  },
  'activation-api-faults': (r) => {
    const at = `${num(need(r, 'servers'), 0)} servers booting at once on ${num(r.connections, 0)} connections with faults on (${faultsText(r.faults)}), retrying as register-node.sh does`;
    const byStatus = Object.entries(need(r, 'byStatus') as Record<string, number>)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, count]) => `${num(count, 0)} × ${status === '0' ? 'no answer' : status}`);
    const samples = (r.unexpectedSamples ?? []) as string[];
    return [
      { what: `${at}: requests`, value: num(r.requests, 0), baseline: `${num(r.faultsInjected, 0)} faults in ${num(r.awsCalls, 0)} AWS calls; ${ms(r.wallMs)}`, target: '–', met: undefined },
      { what: 'activations with faults on: answers by status', value: byStatus.join(', '), baseline: `${num(r.failedInvocations, 0)} failed invocations of activations-api`, target: '–', met: undefined },
      {
        what: 'activations with faults on: answers other than 2xx or 503 with Retry-After',
        value: num(need(r, 'unexpected'), 0),
        baseline: `${num(r.retryWithoutHint, 0)} 503s without Retry-After${samples.length ? `; e.g. ${samples.slice(0, 3).join('; ')}` : ''}`,
        target: '0',
        met: r.met?.unexpected,
      },
      {
        what: 'activations with faults on: duplicates',
        value: `${num(r.duplicates, 0)} hostnames with two live activations, ${num(r.serversWithWithdrawnActivation, 0)} servers holding a withdrawn one`,
        baseline: `${num(r.liveActivations, 0)} live activations, ${num(r.tokenUses, 0)} token uses; ${num(r.createActivation, 0)} CreateActivation, ${num(r.deleteActivation, 0)} DeleteActivation`,
        target: '0; one activation and one use a server',
        met: all(r.met?.noDuplicates, r.met?.uses),
      },
      { what: 'activations with faults on: servers booted / gave up', value: `${num(r.booted, 0)} booted, ${num(r.gaveUp, 0)} gave up`, baseline: `at most ${num(r.maxAttemptsUsed, 0)} attempts a server`, target: 'all booted', met: r.met?.allBooted },
    ];
  },
  console: (r) => {
    const loads = need(r, 'loads');
    const sizes = need(r, 'sizes');
    return [
      { what: 'operator console: JavaScript, gzipped (all chunks)', value: `${num(sizes.jsGzipKB, 1)} KB`, baseline: `CSS ${num(sizes.cssGzipKB, 1)} KB`, target: `≤ ${num(r.targets?.jsGzipKB ?? 200, 0)} KB`, met: sizes.jsGzipKB <= (r.targets?.jsGzipKB ?? 200) },
      {
        what: `operator console on the local stage: first view with the seeded fleet (median of ${num(r.reps, 0)} loads in headless chromium)`,
        value: ms(loads.firstViewMs),
        baseline: `${x(loads.firstViewRatio)} a static one-file page's load (${ms(loads.staticLoadMs)}); the page's own load event ${ms(loads.consoleLoadMs)}`,
        target: `< ${ms(r.targets?.firstViewMs ?? 1000)}`,
        met: loads.firstViewMs < (r.targets?.firstViewMs ?? 1000),
      },
    ];
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument */

/** What each reliability test file proves (the table's second column); a file not named here shows its counts only. */
export const RELIABILITY_FILES: Record<string, string> = {
  'faults.test.ts':
    'the stale-volume scan, the runbook engine and the AMI publisher end to end on the local stage with 20% throttling, 5% 5xx and 50 ms latency on every service, then with one service down; a phase fails if no fault was injected',
  'faults-notices.test.ts': 'parameter-expiry notices and hybrid activations likewise; a failure reaches a booting server only as a retryable 503',
  'duplicates.test.ts': 'every event kind of the five jobs delivered two or three times and out of order, and `POST /activations` retried with one key (three at once): each effect once',
  'hostile-events.test.ts': 'every handler and HTTP route under generated hostile input: refused naming the field (or handled), nothing written by a refusal, nothing hostile logged',
  'hostile-runbooks.test.ts': 'malformed, cyclic, huge and deeply nested runbook documents through the path `runbook start` takes',
  'log-secrets.test.ts': 'no token, activation code or parameter value in any log line of the jobs run at DEBUG',
  'crash-runbooks.test.ts':
    'the runbook worker killed at seeded calls (store, AWS action, dispatch, wake-up, publish), before or after the call took effect, across a rate-controlled run (5 targets, 2 at a time) with waits, wake-ups and child runbooks; recovered by Lambda\'s retries and the tick: every execution Success, one child per target, each mutating call once or again with its idempotency token',
  'crash-scan.test.ts':
    'the stale-volume scanner killed the same way over eight daily scans of 2 accounts × 2 regions (pages of 3, concurrent filing, a resolve); recovered by Lambda\'s retries and the next daily scan: every stale volume filed exactly once (repeated CreateOpsItem calls are answered by OpsCenter\'s dedup)',
  'crash-stage.test.ts':
    'the scan, then the runbook worker (AWS-StopEC2Instance over 3 instances), killed through their real adapters on the local stage; the deployed functions recover (the scan after its 16-minute lease; the worker by Lambda\'s retries, its wake-ups and the tick): every volume filed once, every execution Success with each step run once, each instance stopped',
  'load.test.ts':
    'servers booting at once and the stale-volume scan with 20% throttling, 5% 5xx and 50 ms latency on every service: a booting server sees only 2xx or a 503 with Retry-After, one live activation and one token use each, every stale volume filed once',
};

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
const day = (at: unknown) => (typeof at === 'string' ? at.slice(0, 10) : '?');

/** The run a result came from, short: date, Node, CPUs, 1-minute load at its end. */
function runOf(r: BenchResult): string {
  const load = Array.isArray(r.loadavg) ? `, load ${num(r.loadavg[0])}` : '';
  return `${day(r.at)}, ${r.node ?? 'node ?'}, ${r.cpus === undefined ? '? CPUs' : `${r.cpus} CPUs`}${load}`;
}

const metCell = (met: boolean | undefined) => (met === undefined ? '–' : met ? 'met' : '**missed**');

/** The benchmark rows of `input`, and the benchmarks with no result. */
export function benchFigures(input: FiguresInput): { rows: { bench: string; figure: Figure; run: string }[]; missing: string[]; unreadable: { bench: string; error: string }[] } {
  const rows: { bench: string; figure: Figure; run: string }[] = [];
  const missing: string[] = [];
  const unreadable: { bench: string; error: string }[] = [];
  for (const [bench, figures] of Object.entries(BENCHES)) {
    const result = input.benches[bench];
    if (!result) {
      missing.push(bench);
      continue;
    }
    try {
      for (const figure of figures(result)) rows.push({ bench, figure, run: runOf(result) });
    } catch (e) {
      unreadable.push({ bench, error: (e as Error).message });
    }
  }
  return { rows, missing, unreadable };
}

/** The machines the results were measured on, e.g. `AMD EPYC, 2 cores`. */
function machines(results: BenchResult[]): string {
  const seen = [...new Set(results.filter((r) => r.cpus !== undefined).map((r) => `${r.cpuModel ?? 'CPU model not recorded'}, ${r.cpus} cores`))];
  return seen.length ? seen.join('; ') : 'CPU not recorded: rerun the benchmarks';
}

/** The reliability suite's counts by file (a key recorded twice counts as its last value), files in `order` first. */
export function reliabilityCounts(records: ReliabilityRecord[], order: string[]): Map<string, { counts: Map<string, number | string>; at: string | undefined }> {
  const byFile = new Map<string, { counts: Map<string, number | string>; at: string | undefined }>();
  for (const file of order) byFile.set(file, { counts: new Map(), at: undefined });
  for (const r of records) {
    const entry = byFile.get(r.file) ?? { counts: new Map(), at: undefined };
    entry.counts.set(r.key, r.value);
    if (r.at && (!entry.at || r.at > entry.at)) entry.at = r.at;
    byFile.set(r.file, entry);
  }
  return byFile;
}

const countText = (key: string, value: number | string) => (typeof value === 'number' ? `${num(value, 0)} ${key}` : `${key} ${value}`);

/** The whole section, markers included. */
export function renderFigures(input: FiguresInput): string {
  const { rows, missing, unreadable } = benchFigures(input);
  const results = Object.values(input.benches).filter((r): r is BenchResult => r !== undefined);
  const out = [
    START_MARKER,
    '## Performance and reliability',
    '',
    '<!-- Generated by `npm run figures` from bench/results/ (do not edit by hand). -->',
    `Measured on the local stage on this machine (${machines(results)}; localcloud, dynalite and the functions in one Node process, over loopback); ratios are against a baseline measured in the same run. Absolute times on AWS differ. What each benchmark does and the analysis of its runs: [docs/benchmarks.md](docs/benchmarks.md).`,
    '',
    row(['figure', 'measured', 'baseline / ratio', 'target', 'result', 'command', 'run']),
    '|---|---|---|---|---|---|---|',
    ...rows.map(({ bench, figure, run }) => row([figure.what, figure.value, figure.baseline, figure.target, metCell(figure.met), `\`npm run bench ${bench}\``, run])),
  ];
  for (const bench of missing) out.push(row([`\`${bench}\`: not measured`, '–', '–', '–', '–', `\`npm run bench ${bench}\``, 'no bench/results/' + bench + '.json']));
  for (const { bench, error } of unreadable) out.push(row([`\`${bench}\`: result unreadable (${error})`, '–', '–', '–', '–', `\`npm run bench ${bench}\``, 'rerun']));
  out.push('');
  const counts = reliabilityCounts(input.reliability, input.reliabilityFiles);
  const dates = [...counts.values()].map((c) => c.at).filter((a): a is string => a !== undefined);
  out.push(
    'The reliability suite is `test/reliability/` (part of `npm test`; alone: `npx vitest run test/reliability`). Its counts are recorded by the tests themselves (`OPSAUTO_FIGURES=1`, which `npm run figures` sets when it runs the suite' +
      (dates.length ? `; last run ${day(dates.sort().at(-1))}` : '') +
      '):',
    '',
    row(['file', 'what it proves', 'counts', 'command']),
    '|---|---|---|---|',
  );
  for (const [file, { counts: c }] of counts) {
    const text = c.size ? [...c].map(([k, v]) => countText(k, v)).join(', ') : 'not recorded (the file calls no `recordFigure`, or the suite has not run with `OPSAUTO_FIGURES=1`)';
    out.push(row([`\`${file}\``, RELIABILITY_FILES[file] ?? '', text, `\`npx vitest run test/reliability/${file}\``]));
  }
  out.push(END_MARKER);
  return out.join('\n');
}

/** `readme` with the text between the figures markers (markers included) replaced by `section`. */
export function replaceSection(readme: string, section: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START_MARKER} … ${END_MARKER} section to replace`);
  return readme.slice(0, start) + section + readme.slice(end + END_MARKER.length);
}
