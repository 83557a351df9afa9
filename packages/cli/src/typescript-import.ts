import { pathToFileURL } from 'node:url';

let loader: Promise<void> | undefined;

/**
 * Imports one of the project's TypeScript files (opsauto.config.ts, a function's handler). Run from source (tsx,
 * vitest), the CLI already loads TypeScript; run from its JavaScript build, it registers tsx's loader the first
 * time, so that commands which never read a TypeScript file do not pay for it.
 */
export async function importTypeScript(file: string): Promise<Record<string, unknown>> {
  if (import.meta.url.endsWith('.js')) {
    loader ??= import('tsx/esm/api').then(({ register }) => void register());
    await loader;
  }
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}
