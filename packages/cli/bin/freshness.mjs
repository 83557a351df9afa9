// Whether packages/cli/dist (the CLI built to JavaScript) matches the sources. Plain JavaScript and node:fs only:
// the bin runs this before every command, so it must cost a few milliseconds at most.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const cliRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = join(cliRoot, '../..');
export const distDir = join(cliRoot, 'dist');
/** The built entry point; its mtime is set to the moment the build read its sources. */
export const builtEntry = join(distDir, 'main.js');

/** The workspace packages the bundle takes in (their `src/` and package.json), and this folder's build scripts. */
const WATCHED_PACKAGES = ['cli', 'core', 'aws', 'functions', 'localcloud'];

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** The newest modification time of anything the build reads. */
export function sourcesMtime() {
  let newest = newestMtime(join(cliRoot, 'bin'));
  for (const pkg of WATCHED_PACKAGES) {
    newest = Math.max(newest, newestMtime(join(repoRoot, 'packages', pkg, 'src')), statSync(join(repoRoot, 'packages', pkg, 'package.json')).mtimeMs);
  }
  return newest;
}

/** Why the build cannot be used (`missing` or `stale`), or undefined when it is current. */
export function buildProblem() {
  if (!existsSync(builtEntry)) return 'missing';
  return sourcesMtime() > statSync(builtEntry).mtimeMs ? 'stale' : undefined;
}
