/**
 * `npm run figures [-- --run-tests | --no-tests]`: rewrites README.md's "Performance and reliability" section (between
 * `<!-- figures:start -->` and `<!-- figures:end -->`) from the benchmarks' results in bench/results/*.json (`npm run
 * bench [name]` writes them) and the reliability suite's counts in bench/results/reliability.jsonl.
 *
 * The counts are fresh when the file is newer than every file of test/reliability/ and test/helpers/; otherwise (or
 * with `--run-tests`) the suite is run here as `OPSAUTO_FIGURES=1 npx vitest run test/reliability`, and a failing
 * suite records nothing and stops the script. `--no-tests` never runs it and uses what is recorded. A benchmark
 * without a result is named in the table and here, with the command that produces it.
 *
 * @example
 * npm run bench stale-scan && npm run figures
 * npm run figures -- --no-tests
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCHES, renderFigures, replaceSection, type BenchResult, type ReliabilityRecord } from './figures/render.js';

const root = join(import.meta.dirname, '..');
const results = join(root, 'bench/results');
const reliabilityFile = join(results, 'reliability.jsonl');
const suite = join(root, 'test/reliability');

const args = process.argv.slice(2);
const unknown = args.filter((a) => !['--run-tests', '--no-tests'].includes(a));
if (unknown.length || (args.includes('--run-tests') && args.includes('--no-tests'))) {
  console.error(`npm run figures: unknown or conflicting option(s) ${args.join(' ')} (have: --run-tests or --no-tests)`);
  process.exit(2);
}

/** The newest modification time among the files under `dir`. */
const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((t, e) => Math.max(t, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0);

const fresh = existsSync(reliabilityFile) && statSync(reliabilityFile).mtimeMs > Math.max(newest(suite), newest(join(root, 'test/helpers')));
if (args.includes('--run-tests') || (!fresh && !args.includes('--no-tests'))) {
  console.log(`running the reliability suite for its counts (${fresh ? 'asked to' : 'bench/results/reliability.jsonl is missing or older than the suite'}): OPSAUTO_FIGURES=1 npx vitest run test/reliability`);
  rmSync(reliabilityFile, { force: true });
  const run = spawnSync('npx', ['vitest', 'run', 'test/reliability'], { cwd: root, stdio: 'inherit', env: { ...process.env, OPSAUTO_FIGURES: '1', OPSAUTO_FIGURES_FILE: reliabilityFile } });
  if (run.status !== 0) {
    // Counts of a failing suite are no figures.
    rmSync(reliabilityFile, { force: true });
    console.error(`npm run figures: the reliability suite failed (exit ${run.status ?? run.signal}); README.md is unchanged`);
    process.exit(1);
  }
}

const benches: Record<string, BenchResult | undefined> = {};
for (const name of Object.keys(BENCHES)) {
  const file = join(results, `${name}.json`);
  if (!existsSync(file)) continue;
  try {
    benches[name] = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  } catch (e) {
    console.error(`npm run figures: bench/results/${name}.json is not JSON (${(e as Error).message}); rerun \`npm run bench ${name}\``);
    process.exit(1);
  }
}
const reliability: ReliabilityRecord[] = existsSync(reliabilityFile)
  ? readFileSync(reliabilityFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ReliabilityRecord)
  : [];
const reliabilityFiles = readdirSync(suite)
  .filter((f) => f.endsWith('.test.ts'))
  .sort();

const readmeFile = join(root, 'README.md');
const readme = readFileSync(readmeFile, 'utf8');
const updated = replaceSection(readme, renderFigures({ benches, reliability, reliabilityFiles }));
if (updated !== readme) writeFileSync(readmeFile, updated);
console.log(`README.md: "Performance and reliability" ${updated === readme ? 'already up to date' : 'rewritten'}`);

const missing = Object.keys(BENCHES).filter((name) => !benches[name]);
if (missing.length) console.log(`not measured (named in the table as missing): ${missing.map((name) => `${name} (\`npm run bench ${name}\`)`).join(', ')}`);
const silent = reliabilityFiles.filter((f) => !reliability.some((r) => r.file === f));
if (silent.length) console.log(`reliability files that recorded no counts: ${silent.join(', ')} (call recordFigure from test/helpers/figures.ts)`);
