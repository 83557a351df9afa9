import { buildConsoleIfStale } from '../packages/cli/src/console-build.js';

/**
 * The console's browser tests and the local stage serve packages/console/dist: build it once, before any test file,
 * when it is missing or older than the page's sources (a no-op otherwise). No test file builds it again, so two
 * files in parallel workers never empty dist/ under each other.
 */
export default function setup(): void {
  buildConsoleIfStale();
}
