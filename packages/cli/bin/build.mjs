#!/usr/bin/env node
// Builds the CLI to JavaScript (packages/cli/dist): `npm ci` runs it (the root `prepare` script), and so does
// `npm run build:cli`. One esbuild bundle of src/main.ts with the workspace packages and their dependencies
// inside it; each command's modules are a separate chunk, loaded when it runs.
//
// Several processes may build at once (two test runs after an edit): each builds into its own folder and moves
// the files into dist/ one by one, chunks before main.js, and a rename is atomic, so a reader never sees half a
// file, and two builds of the same sources write the same files.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildProblem, builtEntry, cliRoot, distDir, sourcesMtime } from './freshness.mjs';

/** Files of earlier builds are removed once this old (a running CLI may still load a chunk of its own build). */
const KEEP_OLD_FILES_MS = 10 * 60_000;

/**
 * Left to node_modules: dynalite (LevelDB's native addon under it) and tsx (a loader, registered at run time).
 * Everything else is bundled, the AWS SDK included: one file per command parses far faster than Node resolves and
 * loads the SDK's hundreds of modules, and a command's chunk holds only the clients it uses.
 */
const EXTERNAL = ['dynalite', 'tsx', 'esbuild'];

/** Builds packages/cli/dist from the sources; returns the files written. */
export async function buildCli() {
  // Taken before the sources are read: an edit made during the build leaves the build stale, as it should.
  const sourcesAt = Math.max(Date.now(), sourcesMtime());
  const esbuild = await import('esbuild');
  const tmp = join(distDir, `.build-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(tmp, { recursive: true });
  try {
    await esbuild.build({
      // core.js: @opsauto/core as the CLI itself holds it, for the project config to import (typescript-import.ts).
      entryPoints: { main: join(cliRoot, 'src/main.ts'), core: join(cliRoot, '../core/src/index.ts') },
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Error names reach users (`TypeError: …`) and invocation records: keep them as written.
      keepNames: true,
      logLevel: 'warning',
      external: EXTERNAL,
      // Bundled CommonJS modules call require(); ESM output has none of its own.
      banner: { js: "import { createRequire as __opsautoCreateRequire } from 'node:module'; const require = __opsautoCreateRequire(import.meta.url);" },
    });
    const files = readdirSync(tmp);
    const stamp = new Date(sourcesAt);
    utimesSync(join(tmp, 'main.js'), stamp, stamp);
    for (const file of files.filter((f) => f !== 'main.js')) renameSync(join(tmp, file), join(distDir, file));
    renameSync(join(tmp, 'main.js'), builtEntry);
    pruneOldFiles(new Set(files));
    return files;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function pruneOldFiles(current) {
  const cutoff = Date.now() - KEEP_OLD_FILES_MS;
  for (const file of readdirSync(distDir)) {
    const path = join(distDir, file);
    if (current.has(file)) continue;
    try {
      if (statSync(path).mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another build removed it first.
    }
  }
}

// `--if-stale`: only when the build is missing or older than the sources (the test run's global setup).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && !(process.argv.includes('--if-stale') && buildProblem() === undefined)) {
  const started = performance.now();
  const files = await buildCli();
  console.log(`opsauto CLI built: packages/cli/dist (${files.length} files) in ${Math.round(performance.now() - started)} ms`);
}
