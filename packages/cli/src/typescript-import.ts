import { pathToFileURL } from 'node:url';
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

/**
 * Imports the project config (opsauto.config.ts), which most commands read. Run from the build, it is bundled with
 * esbuild in memory, its `@opsauto/core` taken from the CLI's own build (dist/core.js), which takes tens of
 * milliseconds where tsx's loader takes most of a second.
 */
export async function importConfig(file: string): Promise<Record<string, unknown>> {
  if (!built) return importTypeScript(file);
  const esbuild = await import('esbuild');
  const core = new URL('./core.js', import.meta.url).href;
  const ownCore: Plugin = { name: 'opsauto-core', setup: (b) => b.onResolve({ filter: /^@opsauto\/core$/ }, () => ({ path: core, external: true })) };
  try {
    const out = await esbuild.build({ entryPoints: [file], bundle: true, write: false, format: 'esm', platform: 'node', target: 'node20', logLevel: 'silent', plugins: [ownCore] });
    return (await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`)) as Record<string, unknown>;
  } finally {
    await esbuild.stop();
  }
}
