import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpsautoConfig } from '@opsauto/core';
import { importConfig } from './typescript-import.js';

/** The repository root: where opsauto.config.ts and the functions live. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Loads and validates opsauto.config.ts (or the file given), which default-exports `defineConfig(...)`. */
export async function loadProjectConfig(file = join(projectRoot, 'opsauto.config.ts')): Promise<OpsautoConfig> {
  if (!existsSync(file)) throw new Error(`no config file at ${file}`);
  const mod = (await importConfig(file)) as { default?: OpsautoConfig };
  if (!mod.default) throw new Error(`${file} must default-export defineConfig({...})`);
  return mod.default;
}

/** `packages/functions/src/handlers/x.handler` -> the module file and the export name. */
export function handlerLocation(handler: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  return { file: join(projectRoot, `${handler.slice(0, dot)}.ts`), exportName: handler.slice(dot + 1) };
}
