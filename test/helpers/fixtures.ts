import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../fixtures');

/** A fixture from test/fixtures (see its SOURCES.md), parsed, as a fresh copy each time. */
export function fixture<T = Record<string, any>>(path: string): T {
  return JSON.parse(readFileSync(join(root, path), 'utf8')) as T;
}
