/**
 * Bundle size and cold-start module init time of every manifest function.
 *
 * Each function is bundled the way SST v2 (2.49.8) bundles it at deploy (the esbuild options of
 * sst/runtime/handlers/node.js, with the project's `nodejsBundling`), using SST's own esbuild. Its baseline is a
 * bundle, built the same way, that imports and constructs the same SDK clients the function calls (from its
 * manifest permissions) and nothing else. Init time is measured inside fresh Node processes, handler and
 * baseline interleaved, and reported as medians and their ratio. Targets: init <= 1.25x baseline, bundle <= 600 KB.
 *
 * Two variants are measured: `bundled` (what is deployed: the SDK inside the bundle) and `runtime-sdk` (the
 * SDK left external, loaded from node_modules as the Lambda runtime would load its own copy), so the trade-off
 * between bundle size and init time is on record. The targets are judged on the deployed variant.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { functionEnvironment, manifest, type FunctionDefinition } from '@opsauto/functions';
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

/** The SDK client each IAM service prefix stands for, and how a baseline constructs it. */
const CLIENTS: Record<string, { imports: string; construct: string }> = {
  ec2: { imports: "import { EC2Client } from '@aws-sdk/client-ec2';", construct: 'new EC2Client({})' },
  ssm: { imports: "import { SSMClient } from '@aws-sdk/client-ssm';", construct: 'new SSMClient({})' },
  dynamodb: {
    imports: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
    construct: 'DynamoDBDocumentClient.from(new DynamoDBClient({}))',
  },
};

/** SST 2.49.8's esbuild options for an ESM Node function (sst/runtime/handlers/node.js). */
async function bundle(entry: string, outfile: string, external: string[]): Promise<number> {
  await esbuild.build({
    entryPoints: [entry],
    platform: 'node',
    external: ['sharp', 'pg-native', ...external],
    keepNames: true,
    bundle: true,
    logLevel: 'silent',
    metafile: true,
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
    outfile,
    sourcemap: nodejsBundling.sourcemap,
    minify: nodejsBundling.minify,
  });
  return statSync(outfile).size;
}

function baselineSource(fn: FunctionDefinition): string {
  const services = [...new Set(fn.permissions.flatMap((p) => p.actions.map((a) => a.split(':')[0])))].filter((s) => s in CLIENTS).sort();
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

export async function run() {
  const fns = manifest(config);
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
    const entry = join(projectRoot, `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`);
    for (const { variant, external, deployed } of variants) {
      const dir = join(outRoot, fn.name, variant);
      mkdirSync(dir, { recursive: true });
      const baselineEntry = join(dir, 'baseline-entry.mjs');
      writeFileSync(baselineEntry, baselineSource(fn));
      const bytes = await bundle(entry, join(dir, 'handler.mjs'), external);
      const baselineBytes = await bundle(baselineEntry, join(dir, 'baseline.mjs'), external);
      const handlerMs: number[] = [];
      const baselineMs: number[] = [];
      for (let i = 0; i < REPS; i++) {
        // Interleaved, so machine noise hits both alike.
        handlerMs.push(await initTime(join(dir, 'handler.mjs'), env));
        baselineMs.push(await initTime(join(dir, 'baseline.mjs'), env));
      }
      const ratio = median(handlerMs) / median(baselineMs);
      rows.push({
        function: fn.name,
        variant: deployed ? `${variant} (deployed)` : variant,
        bundleKB: Math.round(bytes / 102.4) / 10,
        baselineBundleKB: Math.round(baselineBytes / 102.4) / 10,
        initMsMedian: Math.round(median(handlerMs) * 10) / 10,
        baselineInitMsMedian: Math.round(median(baselineMs) * 10) / 10,
        initRatio: Math.round(ratio * 100) / 100,
        bundleOk: bytes <= TARGET_BYTES,
        initOk: ratio <= TARGET_RATIO,
        deployed,
      });
    }
  }
  console.table(rows);
  writeResult('bundle-init', { reps: REPS, targets: { initRatio: TARGET_RATIO, bundleKB: TARGET_BYTES / 1024 }, esbuild: esbuild.version, functions: rows });
  return rows.filter((r) => r.deployed).every((r) => r.bundleOk && r.initOk);
}
