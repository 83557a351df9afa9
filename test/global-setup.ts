import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../packages/cli/src/project.js';

/**
 * Tests that run the `opsauto` command must run the sources under test, not an older build: rebuild the CLI
 * when its JavaScript build is missing or older than the sources (a no-op after `npm ci` or an earlier run).
 */
export default function setup(): void {
  execFileSync(process.execPath, [join(projectRoot, 'packages/cli/bin/build.mjs'), '--if-stale'], { stdio: 'inherit' });
}
