/**
 * How long the `opsauto` command takes, against plain Node start (`node -e 0`) measured in the same run:
 * `--help`, `--version`, `clock` (asks a running localcloud for the virtual time) and, for the record, `runbook
 * list` (reads the project config and the state table through the AWS SDK). Each is a fresh process, timed from
 * spawn to exit; the commands are interleaved so that machine noise hits all alike, and medians are compared.
 * Targets (issue 13): --help and --version ≤ 4 × Node start; a command that talks to the stage ≤ 6 ×.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defineConfig } from '@opsauto/core';
import { startStage } from '../packages/cli/src/stage.js';
import { median, projectRoot, writeResult } from './report.js';

const REPS = Number(process.env.BENCH_REPS ?? 15);
const BIN = join(projectRoot, 'packages/cli/bin/opsauto.mjs');

/** Wall-clock milliseconds of one process run; fails on a non-zero exit or on anything written to stderr. */
async function timed(args: string[]): Promise<number> {
  const t0 = performance.now();
  const { stderr } = await promisify(execFile)(process.execPath, args, { cwd: projectRoot, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  const ms = performance.now() - t0;
  if (stderr) throw new Error(`node ${args.join(' ')} wrote to stderr: ${stderr}`);
  return ms;
}

export async function run(): Promise<boolean> {
  // What `npm ci` builds; measured as a user runs it, never the slow fallback from source.
  execFileSync(process.execPath, [join(projectRoot, 'packages/cli/bin/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  const stage = await startStage({ config: defineConfig({ regions: ['us-east-1'] }), port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  try {
    const opsauto = (...args: string[]) => [BIN, '--endpoint', stage.cloud.url, ...args];
    const cases = [
      { command: 'node -e 0', args: ['-e', '0'], target: undefined },
      { command: 'opsauto --help', args: opsauto('--help'), target: 4 },
      { command: 'opsauto --version', args: opsauto('--version'), target: 4 },
      { command: 'opsauto clock', args: opsauto('clock'), target: 6 },
      { command: 'opsauto runbook list', args: opsauto('runbook', 'list'), target: undefined },
    ];
    const times = cases.map(() => [] as number[]);
    for (const c of cases) await timed(c.args); // warm the file system cache
    for (let rep = 0; rep < REPS; rep++) for (const [i, c] of cases.entries()) times[i].push(await timed(c.args));
    const nodeMs = median(times[0]);
    const rows = cases.map((c, i) => {
      const ms = median(times[i]);
      const ratio = ms / nodeMs;
      return {
        command: c.command,
        medianMs: Math.round(ms),
        minMs: Math.round(Math.min(...times[i])),
        ratioToNode: Math.round(ratio * 100) / 100,
        target: c.target === undefined ? '' : `≤ ${c.target}×`,
        ok: c.target === undefined ? '' : ratio <= c.target,
      };
    });
    console.table(rows);
    writeResult('cli-start', { reps: REPS, targets: { helpVersionRatio: 4, stageCommandRatio: 6 }, commands: rows });
    return rows.every((r) => r.ok !== false);
  } finally {
    await stage.stop();
  }
}
