/**
 * Bundle size and cold-start module init time of every manifest function.
 *
 * Each function is bundled the way SST v2 (2.49.8) bundles it at deploy (the esbuild options of
 * sst/runtime/handlers/node.js, with the project's `nodejsBundling`), using SST's own esbuild. Its baseline is a
 * bundle, built the same way, that imports and constructs the same SDK clients the function calls (from its
 * manifest permissions) and nothing else, or, for a function that loads clients only when a step needs them, the
 * clients it constructs at init (INIT_CLIENTS). Init time is measured inside fresh Node processes, handler and
 * baseline interleaved, and reported as medians and their ratio. Targets: init <= 1.25x baseline, bundle <= 600 KB
 * (BUNDLE_TARGETS_KB for the functions issue 8 gave their own).
 *
 * With code splitting (`nodejsBundling.splitting`), a bundle is an entry file and chunks: `bundleKB` is what a cold
 * start loads (the entry and every chunk it imports statically), `totalKB` everything deployed, the chunks that
 * dynamic imports load on demand included. The bundle target is judged on `bundleKB`.
 *
 * Two variants are measured: `bundled` (what is deployed: the SDK inside the bundle) and `runtime-sdk` (the
 * SDK left external, loaded from node_modules as the Lambda runtime would load its own copy), so the trade-off
 * between bundle size and init time is on record. The targets are judged on the deployed variant.
 *
 * A Python function (`python` in the manifest: aws:executeScript's runner) is deployed as its code directory and
 * uses the runtime's boto3: its row times `import <handler module>` in fresh python3 processes against a baseline that
 * imports boto3 and nothing else, interleaved the same way; `bundleKB` is the size of the code directory.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { functionEnvironment, manifest, type FunctionDefinition } from '@opsauto/functions';
import { findPython, PYTHON_HINT } from '@opsauto/localcloud';
import type * as Esbuild from 'esbuild';
import config from '../opsauto.config.js';
import { nodejsBundling } from '../stacks/bundling.js';
import { median, projectRoot, writeResult } from './report.js';

const require = createRequire(join(projectRoot, 'node_modules/sst/package.json'));
const esbuild = require('esbuild') as typeof Esbuild;
const REPS = Number(process.env.BENCH_REPS ?? 21);
const TARGET_RATIO = 1.25;
const TARGET_BYTES = 600 * 1024;
const outRoot = join(projectRoot, '.build/bench');
/** Only these functions (comma-separated names), e.g. BENCH_FUNCTIONS=runbook-worker; all by default. */
const ONLY = process.env.BENCH_FUNCTIONS?.split(',').filter(Boolean);

/**
 * The SDK clients a function constructs at init, where that is fewer than its permissions name. The runbook
 * worker imports EC2, RDS, S3, SNS, SSM and STS only when a step (or a document, or a target query) needs them, so
 * its cold start is judged against the clients every invocation uses (issue 8).
 */
const INIT_CLIENTS: Record<string, string[]> = {
  'runbook-worker': ['dynamodb', 'events', 'scheduler'],
};

/** Bundle targets set for one function (issue 8), in KB; the others have TARGET_BYTES. */
const BUNDLE_TARGETS_KB: Record<string, number> = {
  'runbook-worker': 1200,
};

/** The SDK client each IAM service prefix stands for, and how a baseline constructs it. */
const CLIENTS: Record<string, { imports: string; construct: string }> = {
  ec2: { imports: "import { EC2Client } from '@aws-sdk/client-ec2';", construct: 'new EC2Client({})' },
  ssm: { imports: "import { SSMClient } from '@aws-sdk/client-ssm';", construct: 'new SSMClient({})' },
  dynamodb: {
    imports: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
    construct: 'DynamoDBDocumentClient.from(new DynamoDBClient({}))',
  },
  events: { imports: "import { EventBridgeClient } from '@aws-sdk/client-eventbridge';", construct: 'new EventBridgeClient({})' },
  scheduler: { imports: "import { SchedulerClient } from '@aws-sdk/client-scheduler';", construct: 'new SchedulerClient({})' },
  sns: { imports: "import { SNSClient } from '@aws-sdk/client-sns';", construct: 'new SNSClient({})' },
};

interface BundleSize {
  /** The entry file and the chunks it imports statically: what a cold start loads. */
  initBytes: number;
  /** Every output file (without source maps). */
  totalBytes: number;
}

/**
 * SST 2.49.8's esbuild options for an ESM Node function (sst/runtime/handlers/node.js), into `outdir` as
 * `<name>.mjs` (and chunks, with splitting).
 */
async function bundle(entry: string, outdir: string, name: string, external: string[]): Promise<BundleSize & { file: string }> {
  rmSync(outdir, { recursive: true, force: true });
  const splitting = 'splitting' in nodejsBundling && nodejsBundling.splitting === true;
  const result = await esbuild.build({
    entryPoints: { [name]: entry },
    platform: 'node',
    external: ['sharp', 'pg-native', ...external],
    keepNames: true,
    bundle: true,
    logLevel: 'silent',
    metafile: true,
    splitting,
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    target: 'esnext',
    mainFields: ['module', 'main'],
    banner: {
      js: [
        "import { createRequire as topLevelCreateRequire } from 'module';",
        'const require = topLevelCreateRequire(import.meta.url);',
        'import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"',
        'const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))',
      ].join('\n'),
    },
    outdir,
    sourcemap: nodejsBundling.sourcemap,
    minify: nodejsBundling.minify,
  });
  const outputs = result.metafile.outputs;
  const file = join(outdir, `${name}.mjs`);
  const key = (path: string) => relative(projectRoot, resolve(projectRoot, path));
  const byKey = new Map(Object.entries(outputs).map(([path, output]) => [key(path), output]));
  const loaded = new Set<string>();
  const visit = (path: string) => {
    if (loaded.has(path) || !byKey.has(path)) return;
    loaded.add(path);
    for (const i of byKey.get(path)!.imports) if (i.kind === 'import-statement' && !i.external) visit(key(i.path));
  };
  visit(key(relative(projectRoot, file)));
  if (loaded.size === 0) throw new Error(`esbuild wrote no ${basename(file)} in ${outdir}`);
  const sizeOf = (paths: Iterable<string>) => [...paths].filter((p) => !p.endsWith('.map')).reduce((n, p) => n + byKey.get(p)!.bytes, 0);
  return { file, initBytes: sizeOf(loaded), totalBytes: sizeOf(byKey.keys()) };
}

function baselineSource(fn: FunctionDefinition): string {
  const services = INIT_CLIENTS[fn.name] ?? [...new Set(fn.permissions.flatMap((p) => p.actions.map((a) => a.split(':')[0])))].filter((s) => s in CLIENTS).sort();
  return [
    ...services.map((s) => CLIENTS[s].imports),
    `export const clients = [${services.map((s) => CLIENTS[s].construct).join(', ')}];`,
    'export const handler = async () => clients.length;',
  ].join('\n');
}

/** Milliseconds from the start of `import()` to the module being evaluated, in a fresh process. */
async function initTime(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t0));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env });
  return Number(stdout);
}

const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;

/** Milliseconds python3 takes to import `module` from `dir` (or only boto3 when `module` is undefined), in a fresh process. */
async function pythonInitTime(python: string, dir: string, module: string | undefined): Promise<number> {
  const load = module ? `import ${module}` : 'import boto3';
  const script = `import sys, time\nsys.path.insert(0, ${JSON.stringify(dir)})\nt0 = time.perf_counter()\n${load}\nsys.stdout.write(str((time.perf_counter() - t0) * 1000))`;
  const { stdout } = await promisify(execFile)(python, ['-c', script], { env: { PATH: process.env.PATH, AWS_REGION: config.regions[0] } });
  return Number(stdout);
}

/** Bytes of every file under `dir` but Python's caches. */
function directoryBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name !== '__pycache__')
    .reduce((sum, e) => sum + (e.isDirectory() ? directoryBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

/** The cold-start row of a Python function: its handler module's import against importing boto3 alone. */
async function pythonRow(fn: FunctionDefinition & { python: NonNullable<FunctionDefinition['python']> }) {
  const python = await findPython();
  if (!python) throw new Error(`${fn.name} is a Python function and no python3 with boto3 was found: ${PYTHON_HINT}`);
  const dir = join(projectRoot, fn.python.code);
  const module = fn.handler.slice(fn.handler.lastIndexOf('/') + 1, fn.handler.lastIndexOf('.'));
  const handlerMs: number[] = [];
  const baselineMs: number[] = [];
  for (let i = 0; i < REPS; i++) {
    handlerMs.push(await pythonInitTime(python, dir, module));
    baselineMs.push(await pythonInitTime(python, dir, undefined));
  }
  const ratio = median(handlerMs) / median(baselineMs);
  const bytes = directoryBytes(dir);
  return {
    function: fn.name,
    variant: `${fn.python.runtime} (deployed)`,
    bundleKB: kb(bytes),
    totalKB: kb(bytes),
    baselineBundleKB: 0,
    baselineClients: 'boto3 (import only)',
    initMsMedian: Math.round(median(handlerMs) * 10) / 10,
    baselineInitMsMedian: Math.round(median(baselineMs) * 10) / 10,
    initRatio: Math.round(ratio * 100) / 100,
    bundleTargetKB: TARGET_BYTES / 1024,
    bundleOk: bytes <= TARGET_BYTES,
    initOk: ratio <= TARGET_RATIO,
    deployed: true,
  };
}

export async function run() {
  const fns = manifest(config).filter((fn) => !ONLY || ONLY.includes(fn.name));
  if (ONLY && fns.length !== ONLY.length) throw new Error(`BENCH_FUNCTIONS names no manifest function among ${ONLY.join(', ')}`);
  const env = {
    PATH: process.env.PATH,
    AWS_REGION: config.regions[0],
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...functionEnvironment(config, 'opsauto-bench-state'),
  };
  const variants = [
    { variant: 'bundled', external: [] as string[], deployed: true },
    { variant: 'runtime-sdk', external: ['@aws-sdk/*'], deployed: false },
  ];
  const rows = [];
  for (const fn of fns) {
    if (fn.python) {
      rows.push(await pythonRow({ ...fn, python: fn.python }));
      continue;
    }
    const entry = join(projectRoot, `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`);
    for (const { variant, external, deployed } of variants) {
      const dir = join(outRoot, fn.name, variant);
      mkdirSync(dir, { recursive: true });
      const baselineEntry = join(dir, 'baseline-entry.mjs');
      writeFileSync(baselineEntry, baselineSource(fn));
      const handler = await bundle(entry, join(dir, 'handler'), fn.name, external);
      const baseline = await bundle(baselineEntry, join(dir, 'baseline'), 'baseline', external);
      const handlerMs: number[] = [];
      const baselineMs: number[] = [];
      for (let i = 0; i < REPS; i++) {
        // Interleaved, so machine noise hits both alike.
        handlerMs.push(await initTime(handler.file, env));
        baselineMs.push(await initTime(baseline.file, env));
      }
      const ratio = median(handlerMs) / median(baselineMs);
      const targetBytes = (BUNDLE_TARGETS_KB[fn.name] ?? TARGET_BYTES / 1024) * 1024;
      rows.push({
        function: fn.name,
        variant: deployed ? `${variant} (deployed)` : variant,
        bundleKB: kb(handler.initBytes),
        totalKB: kb(handler.totalBytes),
        baselineBundleKB: kb(baseline.initBytes),
        baselineClients: baselineSource(fn).match(/new \w+Client/g)?.map((c) => c.slice(4)).join('+'),
        initMsMedian: Math.round(median(handlerMs) * 10) / 10,
        baselineInitMsMedian: Math.round(median(baselineMs) * 10) / 10,
        initRatio: Math.round(ratio * 100) / 100,
        bundleTargetKB: targetBytes / 1024,
        bundleOk: handler.initBytes <= targetBytes,
        initOk: ratio <= TARGET_RATIO,
        deployed,
      });
    }
  }
  console.table(rows);
  writeResult('bundle-init', {
    reps: REPS,
    targets: { initRatio: TARGET_RATIO, bundleKB: TARGET_BYTES / 1024, bundleKBByFunction: BUNDLE_TARGETS_KB },
    splitting: 'splitting' in nodejsBundling && nodejsBundling.splitting === true,
    esbuild: esbuild.version,
    functions: rows,
  });
  return rows.filter((r) => r.deployed).every((r) => r.bundleOk && r.initOk);
}
