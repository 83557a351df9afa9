import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

/** Run from its JavaScript build (packages/cli/dist), not from the TypeScript sources (tsx, vitest). */
const built = import.meta.url.endsWith('.js');
let loader: Promise<void> | undefined;

/**
 * Imports one of the project's TypeScript modules (a function's handler). Run from source, the CLI already loads
 * TypeScript; run from its build, it registers tsx's loader the first time, so that commands which never read a
 * TypeScript file do not pay for it.
 */
export async function importTypeScript(file: string): Promise<Record<string, unknown>> {
  if (built) {
    loader ??= import('tsx/esm/api').then(({ register }) => void register());
    await loader;
  }
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/** Compiled configs, kept between runs: `<hash of the config's path>.json` = its inputs' sizes and times, and the code. */
const CACHE_DIR = fileURLToPath(new URL('../../../node_modules/.cache/opsauto/', import.meta.url));

interface CachedConfig {
  /** Every file esbuild read (absolute path) with `<size>:<mtimeMs>` as it was then. */
  inputs: Record<string, string>;
  code: string;
}

const stamp = (file: string): string | undefined => {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
};

/**
 * Imports the project config (opsauto.config.ts), which most commands read. Run from the build, it is bundled with
 * esbuild in memory, its `@opsauto/core` taken from the CLI's own build (dist/core.js), which takes tens of
 * milliseconds where tsx's loader takes most of a second; the bundle is kept in node_modules/.cache/opsauto and used
 * again while none of the files it was built from has changed (size or modification time), which spares a command
 * starting esbuild at all.
 */
export async function importConfig(file: string): Promise<Record<string, unknown>> {
  if (!built) return importTypeScript(file);
  const cacheFile = join(CACHE_DIR, `${createHash('sha1').update(file).digest('hex').slice(0, 16)}.json`);
  let cached: CachedConfig | undefined;
  try {
    cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as CachedConfig;
  } catch {
    cached = undefined;
  }
  if (!cached || Object.entries(cached.inputs).some(([input, was]) => stamp(input) !== was)) {
    cached = await bundleConfig(file);
    try {
      mkdirSync(CACHE_DIR, { recursive: true });
      // Written whole under another name, then renamed: a command running at the same time reads the old or the new.
      writeFileSync(`${cacheFile}.${process.pid}`, JSON.stringify(cached));
      renameSync(`${cacheFile}.${process.pid}`, cacheFile);
    } catch {
      // A read-only checkout still works, only without the cache.
    }
  }
  return (await import(`data:text/javascript;base64,${Buffer.from(cached.code).toString('base64')}`)) as Record<string, unknown>;
}

async function bundleConfig(file: string): Promise<CachedConfig> {
  const esbuild = await import('esbuild');
  const core = new URL('./core.js', import.meta.url).href;
  const ownCore: Plugin = { name: 'opsauto-core', setup: (b) => b.onResolve({ filter: /^@opsauto\/core$/ }, () => ({ path: core, external: true })) };
  try {
    const out = await esbuild.build({ entryPoints: [file], bundle: true, write: false, metafile: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'silent', plugins: [ownCore] });
    const cwd = process.cwd();
    // The CLI's own build (core.js) is an input too: a rebuilt CLI compiles the config again.
    const inputs = [...Object.keys(out.metafile.inputs).map((i) => resolve(cwd, i)), fileURLToPath(core)];
    return { inputs: Object.fromEntries(inputs.map((i) => [i, stamp(i) ?? 'missing'])), code: out.outputFiles[0].text };
  } finally {
    await esbuild.stop();
  }
}
