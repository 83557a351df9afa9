import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../packages/cli/src/project.js';
import { BENCHES, END_MARKER, RELIABILITY_FILES, renderFigures, replaceSection, START_MARKER, type BenchResult, type FiguresInput } from '../../scripts/figures/render.js';
import { recordFigure } from '../helpers/figures.js';

/*
 * `npm run figures` renders the README's "Performance and reliability" section from bench/results/*.json and the
 * reliability suite's counts. Fed fixture results shaped as the benches write them: a missing bench is named with
 * its command, a missed target reads missed, the counts appear per file, and rewriting the README is idempotent.
 */

const machine = { at: '2026-12-03T10:00:00.000Z', node: 'v20.20.2', cpus: 2, cpuModel: 'Test CPU 9000', loadavg: [1.5, 1.2, 1] };

const staleScan = (wallMet: boolean): BenchResult => ({
  name: 'stale-scan',
  ...machine,
  fleet: { regions: 4, volumes: 10_000, unattached: 1000, generatedMs: 300 },
  latencyMs: 20,
  filing: {
    filed: 1000,
    totalCalls: 1073,
    callsLowerBound: { pages: 4, newOpsItems: 1000, dynamoBatchWrites: 40, total: 1044 },
    callsRatio: 1.028,
    wallMs: wallMet ? 25 : 2982,
    wallLowerBoundMs: 20,
    wallRatio: wallMet ? 1.25 : 149.1,
    wallLowerBoundWithFilingMs: 660,
    wallRatioWithFiling: 4.52,
  },
  steadyState: { totalCalls: 25, createOpsItem: 0, wallMs: 120 },
  met: { calls: true, wall: wallMet, steadyState: true },
});

const cliStart: BenchResult = {
  name: 'cli-start',
  at: '2026-12-02T09:00:00.000Z',
  node: 'v20.20.2',
  reps: 15,
  commands: [
    { command: 'node -e 0', medianMs: 83, minMs: 80, ratioToNode: 1, target: '', ok: '' },
    { command: 'opsauto --help', medianMs: 115, minMs: 110, ratioToNode: 1.38, target: '≤ 4×', ok: true },
    { command: 'opsauto runbook list', medianMs: 557, minMs: 500, ratioToNode: 6.71, target: '', ok: '' },
  ],
};

const LOAD_FAULTS = [{ throttleRate: 0.2, errorRate: 0.05, latencyMs: 50 }];

/** As bench/stale-scan.ts `runFaults` writes it (the run of 2026-12-03 in the README before the figures script). */
const staleScanFaults: BenchResult = {
  name: 'stale-scan-faults',
  ...machine,
  fleet: { regions: 4, volumes: 10_000, staleShare: 0.1 },
  faults: LOAD_FAULTS,
  runs: [
    { totals: { filed: 886, alreadyFiled: 0, leftForNextRun: 114, errors: 2 }, errors: 2, ms: 2100 },
    { totals: { filed: 114, alreadyFiled: 886, leftForNextRun: 0, errors: 0 }, errors: 0, ms: 900 },
  ],
  clean: { totals: { filed: 0, alreadyFiled: 1000, leftForNextRun: 0, errors: 0 }, errors: 0, ms: 400 },
  calls: 1448,
  faultsInjected: 346,
  filed: 1000,
  opsItems: 1000,
  volumesWithOpsItem: 1000,
  filedTwice: 0,
  met: { filedOnce: true, allFiled: true },
};

/** As bench/activation-api.ts `runFaults` writes it: 1,867 × 500 from timeouts, so `unexpected` missed. */
const activationApiFaults: BenchResult = {
  name: 'activation-api-faults',
  ...machine,
  servers: 1000,
  connections: 1000,
  faults: LOAD_FAULTS,
  secondMs: 1000,
  seed: 1414,
  requests: 3754,
  byStatus: { '200': 1000, '503': 887, '500': 1867 },
  unexpected: 1867,
  unexpectedSamples: ['500 "Internal Server Error"'],
  retryWithoutHint: 0,
  booted: 1000,
  gaveUp: 0,
  maxAttemptsUsed: 7,
  wallMs: 185_000,
  liveActivations: 999,
  duplicates: 0,
  serversWithWithdrawnActivation: 1,
  tokenUses: 997,
  createActivation: 1045,
  deleteActivation: 45,
  failedInvocations: 1867,
  faultsInjected: 7446,
  awsCalls: 31_278,
  met: { unexpected: false, allBooted: true, noDuplicates: false, uses: false },
};

const input = (over: Partial<FiguresInput> = {}): FiguresInput => ({
  benches: { 'stale-scan': staleScan(false), 'cli-start': cliStart },
  reliability: [
    { file: 'faults.test.ts', key: 'phases', value: 6, at: '2026-12-03T11:00:00.000Z' },
    { file: 'faults.test.ts', key: 'faults injected', value: 40, at: '2026-12-03T11:00:00.000Z' },
    { file: 'faults.test.ts', key: 'faults injected', value: 41, at: '2026-12-03T11:00:01.000Z' },
    { file: 'hostile-events.test.ts', key: 'event cases', value: 800, at: '2026-12-03T11:00:00.000Z' },
    { file: 'hostile-events.test.ts', key: 'fast-check seed', value: '1414', at: '2026-12-03T11:00:00.000Z' },
  ],
  reliabilityFiles: ['faults.test.ts', 'hostile-events.test.ts', 'crash-worker.test.ts'],
  ...over,
});

/** The table row whose first cell starts with `start`. */
const rowOf = (text: string, start: string) => text.split('\n').find((l) => l.startsWith(`| ${start}`));

describe('renderFigures', () => {
  it('names every bench without a result, with the command that produces it', () => {
    const text = renderFigures(input());
    for (const bench of Object.keys(BENCHES).filter((b) => !['stale-scan', 'cli-start'].includes(b))) {
      expect(rowOf(text, `\`${bench}\`: not measured`), bench).toContain(`\`npm run bench ${bench}\``);
    }
    expect(text).not.toContain('`stale-scan`: not measured');
  });

  it('shows a missed target as missed and a met one as met, each with its command and run', () => {
    const missed = rowOf(renderFigures(input()), 'scan of 10,000 volumes in 4 regions, 20 ms a call: wall time');
    expect(missed).toContain('| **missed** |');
    expect(missed).toContain('149.10× the slowest region');
    expect(missed).toContain('`npm run bench stale-scan`');
    expect(missed).toContain('2026-12-03, v20.20.2, 2 CPUs, load 1.5');
    const met = rowOf(renderFigures(input({ benches: { 'stale-scan': staleScan(true) } })), 'scan of 10,000 volumes in 4 regions, 20 ms a call: wall time');
    expect(met).toContain('| met |');
    expect(rowOf(renderFigures(input()), 'scan of 10,000 volumes in 4 regions, 20 ms a call: AWS calls')).toContain('| 1,073 | 1.03× the lower bound (1,044) | ≤ 1.05× | met |');
  });

  it('shows a figure without a target as such, and a result from before the machine was recorded as unknown', () => {
    const row = rowOf(renderFigures(input()), '`opsauto runbook list`');
    expect(row).toContain('| 6.71× `node -e 0` (83 ms) | – | – |');
    expect(row).toContain('2026-12-02, v20.20.2, ? CPUs |');
    expect(rowOf(renderFigures(input()), '`opsauto --help`')).toContain('| ≤ 4× | met |');
  });

  it('states the environment: the local stage, the CPU and cores, baselines in the same run, AWS differs', () => {
    const text = renderFigures(input());
    expect(text).toMatch(/Measured on the local stage on this machine \(Test CPU 9000, 2 cores;/);
    expect(text).toContain('ratios are against a baseline measured in the same run. Absolute times on AWS differ.');
    expect(text).toContain('[docs/benchmarks.md](docs/benchmarks.md)');
  });

  it('names a result it cannot read rather than failing, so the other figures still render', () => {
    const text = renderFigures(input({ benches: { 'stale-scan': { name: 'stale-scan', ...machine } } }));
    expect(rowOf(text, '`stale-scan`: result unreadable (no filing)')).toContain('`npm run bench stale-scan`');
  });

  it('lists each reliability file with its counts (the last value of a key) and its command; a file without counts says so', () => {
    const text = renderFigures(input());
    expect(rowOf(text, '`faults.test.ts`')).toContain('| 6 phases, 41 faults injected | `npx vitest run test/reliability/faults.test.ts` |');
    expect(rowOf(text, '`hostile-events.test.ts`')).toContain('| 800 event cases, fast-check seed 1414 |');
    expect(rowOf(text, '`crash-worker.test.ts`')).toContain('not recorded');
    expect(text).toContain('last run 2026-12-03');
  });

  it('renders the same text from the same inputs, between the markers', () => {
    const text = renderFigures(input());
    expect(renderFigures(input())).toBe(text);
    expect(text.startsWith(`${START_MARKER}\n## Performance and reliability\n`)).toBe(true);
    expect(text.endsWith(END_MARKER)).toBe(true);
  });

  it('renders the stale scan with faults on: scans, calls and faults, OpsItems per stale volume, the clean rerun', () => {
    const text = renderFigures(input({ benches: { 'stale-scan-faults': staleScanFaults } }));
    expect(rowOf(text, 'scan of 10,000 volumes in 4 regions with faults on (20% throttling, 5% 5xx, 50 ms): scans until nothing is left')).toContain(
      '| 2 scans | 886 filed, 114 left, 2 region errors; 114 filed, 0 left | – | – |',
    );
    expect(rowOf(text, 'stale scan with faults on: AWS calls')).toContain('| 1,448 calls, 346 faults |');
    expect(rowOf(text, 'stale scan with faults on: OpsItems per stale volume')).toContain('| 1,000 OpsItems for 1,000 volumes, 0 filed twice | 1,000 stale volumes filed by the scans | one each | met |');
    expect(rowOf(text, 'stale scan with faults on: clean rerun')).toContain('| files 0 (1,000 already filed, 0 left) | – | files 0, nothing left | met |');
    expect(rowOf(text, 'stale scan with faults on: clean rerun')).toContain('`npm run bench stale-scan-faults`');
    const failed = renderFigures(input({ benches: { 'stale-scan-faults': { ...staleScanFaults, runs: [{ errors: 1, error: 'ThrottlingException', ms: 5 }], clean: { errors: 1, error: 'ThrottlingException', ms: 5 }, met: { filedOnce: true, allFiled: false } } } }));
    expect(rowOf(failed, 'scan of 10,000 volumes')).toContain('| 1 scan | failed (ThrottlingException) |');
    expect(rowOf(failed, 'stale scan with faults on: clean rerun')).toContain('| failed (ThrottlingException) | – | files 0, nothing left | **missed** |');
  });

  it('renders the activation storm with faults on: requests, answers by status, anything but 2xx or 503 with Retry-After (target 0), duplicates, servers booted', () => {
    const text = renderFigures(input({ benches: { 'activation-api-faults': activationApiFaults } }));
    expect(rowOf(text, '1,000 servers booting at once on 1,000 connections with faults on (20% throttling, 5% 5xx, 50 ms), retrying as register-node.sh does: requests')).toContain(
      '| 3,754 | 7,446 faults in 31,278 AWS calls; 185 s | – | – |',
    );
    expect(rowOf(text, 'activations with faults on: answers by status')).toContain('| 1,000 × 200, 1,867 × 500, 887 × 503 | 1,867 failed invocations of activations-api |');
    expect(rowOf(text, 'activations with faults on: answers other than 2xx or 503 with Retry-After')).toContain('| 1,867 | 0 503s without Retry-After; e.g. 500 "Internal Server Error" | 0 | **missed** |');
    expect(rowOf(text, 'activations with faults on: duplicates')).toContain('| 0 hostnames with two live activations, 1 servers holding a withdrawn one | 999 live activations, 997 token uses;');
    expect(rowOf(text, 'activations with faults on: duplicates')).toContain('| **missed** |');
    expect(rowOf(text, 'activations with faults on: servers booted / gave up')).toContain('| 1,000 booted, 0 gave up | at most 7 attempts a server | all booted | met |');
    const clean = renderFigures(input({ benches: { 'activation-api-faults': { ...activationApiFaults, byStatus: { '200': 1000, '503': 900 }, unexpected: 0, unexpectedSamples: [], met: { unexpected: true, allBooted: true, noDuplicates: true, uses: true } } } }));
    expect(rowOf(clean, 'activations with faults on: answers other than 2xx or 503 with Retry-After')).toContain('| 0 | 0 503s without Retry-After | 0 | met |');
    expect(rowOf(clean, 'activations with faults on: duplicates')).toContain('| met |');
    expect(rowOf(renderFigures(input({ benches: { 'activation-api-faults': { name: 'activation-api-faults', ...machine } } })), '`activation-api-faults`: result unreadable (no servers)')).toBeDefined();
  });

  it('describes every file of test/reliability/', () => {
    const files = readdirSync(join(projectRoot, 'test/reliability')).filter((f) => f.endsWith('.test.ts'));
    expect(files.filter((f) => !RELIABILITY_FILES[f])).toEqual([]);
  });

  it('knows every bench that `npm run bench` runs', () => {
    const run = readFileSync(join(projectRoot, 'bench/run.ts'), 'utf8');
    const benches = /^const benches: .*?> = \{(.*)\};$/m.exec(run)![1];
    const names = [...benches.matchAll(/'([a-z-]+)':/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(5);
    expect(Object.keys(BENCHES).sort()).toEqual(names.sort());
  });
});

describe('replaceSection', () => {
  const readme = `# opsauto\n\nintro\n\n${START_MARKER}\nold table\n${END_MARKER}\n\n## Development\n`;

  it('replaces the text between the markers and nothing else, the same way every time', () => {
    const section = renderFigures(input());
    const once = replaceSection(readme, section);
    expect(once.startsWith('# opsauto\n\nintro\n\n')).toBe(true);
    expect(once.endsWith('\n\n## Development\n')).toBe(true);
    expect(once).not.toContain('old table');
    expect(replaceSection(once, section)).toBe(once);
  });

  it('refuses a README without the markers, naming them', () => {
    expect(() => replaceSection('# opsauto\n', 'x')).toThrow(/no <!-- figures:start --> … <!-- figures:end --> section/);
  });

  it('finds the markers in the README', () => {
    const text = readFileSync(join(projectRoot, 'README.md'), 'utf8');
    expect(text.indexOf(START_MARKER)).toBeGreaterThan(0);
    expect(text.indexOf(END_MARKER)).toBeGreaterThan(text.indexOf(START_MARKER));
  });
});

describe('recordFigure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opsauto-figures-'));
  const file = join(dir, 'reliability.jsonl');
  const saved = { on: process.env.OPSAUTO_FIGURES, file: process.env.OPSAUTO_FIGURES_FILE };
  afterEach(() => {
    for (const [key, value] of [['OPSAUTO_FIGURES', saved.on], ['OPSAUTO_FIGURES_FILE', saved.file]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes nothing unless OPSAUTO_FIGURES=1', () => {
    delete process.env.OPSAUTO_FIGURES;
    process.env.OPSAUTO_FIGURES_FILE = file;
    recordFigure('faults.test.ts', 'phases', 6);
    expect(existsSync(file)).toBe(false);
  });

  it('appends one JSON line a count, named by the test file', () => {
    process.env.OPSAUTO_FIGURES = '1';
    process.env.OPSAUTO_FIGURES_FILE = file;
    recordFigure(new URL('../reliability/faults.test.ts', import.meta.url).href, 'phases', 6);
    recordFigure('hostile-events.test.ts', 'fast-check seed', '1414');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map(({ file: f, key, value }) => [f, key, value])).toEqual([
      ['faults.test.ts', 'phases', 6],
      ['hostile-events.test.ts', 'fast-check seed', '1414'],
    ]);
    expect(() => recordFigure('faults.test.ts', 'phases', Number.NaN)).toThrow(/faults\.test\.ts phases: value must be a finite number/);
  });
});
