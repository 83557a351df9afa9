/**
 * Builds the console page (packages/console, `vite build`) into packages/console/dist when that build is missing or
 * older than the page's sources (index.html, src/**, vite.config.ts, package.json); a no-op otherwise. The test run
 * (vitest's globalSetup), the console benchmark and `opsauto local` (`npm start`) call it, so that one build serves them all and no
 * two test files empty dist/ under each other.
 *
 * Several processes may build at once (two test runs after an edit): each builds into a folder of its own, then
 * swaps it in with renames (the old dist/ aside, the new one in its place), so the stage reading dist/ sees a whole
 * build. dist/index.html's mtime is set to the moment the build read its sources: an edit made during the build
 * leaves the build stale, as it should.
 *
 * @example
 * buildConsoleIfStale() // 'built' (dist was missing or stale) or 'current'
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from './project.js';

export const CONSOLE_DIR = join(projectRoot, 'packages/console');
export const CONSOLE_DIST = join(CONSOLE_DIR, 'dist');
/** What the build reads, relative to packages/console. */
const SOURCES = ['index.html', 'src', 'vite.config.ts', 'package.json'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** The newest modification time of the console's sources. */
export function consoleSourcesMtime(): number {
  return Math.max(...SOURCES.map((s) => newestMtime(join(CONSOLE_DIR, s))));
}

/** Why packages/console/dist cannot be used (`missing` or `stale`), or undefined when it is current. */
export function consoleBuildProblem(): 'missing' | 'stale' | undefined {
  const entry = join(CONSOLE_DIST, 'index.html');
  if (!existsSync(entry)) return 'missing';
  return consoleSourcesMtime() > statSync(entry).mtimeMs ? 'stale' : undefined;
}

/** Builds packages/console/dist from the sources, whatever its state (about a second). */
export function buildConsole(): void {
  // Taken before the sources are read.
  const sourcesAt = new Date(Math.max(Date.now(), consoleSourcesMtime()));
  const vite = join(createRequire(join(CONSOLE_DIR, 'package.json')).resolve('vite/package.json'), '../bin/vite.js');
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tmp = join(CONSOLE_DIR, `.dist-${suffix}`);
  const old = join(CONSOLE_DIR, `.dist-old-${suffix}`);
  try {
    execFileSync(process.execPath, [vite, 'build', '--outDir', tmp, '--emptyOutDir', '--logLevel', 'warn'], { cwd: CONSOLE_DIR, stdio: 'pipe' });
    utimesSync(join(tmp, 'index.html'), sourcesAt, sourcesAt);
    if (existsSync(CONSOLE_DIST)) renameSync(CONSOLE_DIST, old);
    renameSync(tmp, CONSOLE_DIST);
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`The console's build (vite build in packages/console) failed${stderr ? `:\n${stderr}` : `: ${(e as Error).message}`}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

/** Builds the console when dist/ is missing or older than its sources; says which. */
export function buildConsoleIfStale(): 'built' | 'current' {
  if (!consoleBuildProblem()) return 'current';
  buildConsole();
  return 'built';
}
