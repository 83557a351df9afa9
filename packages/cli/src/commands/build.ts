import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startLocalcloud } from '@opsauto/localcloud';
import type { Command } from 'commander';
import { localcloudUrl } from '../control-client.js';
import { projectRoot } from '../project.js';

async function reachable(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/_localcloud/health`)).ok;
  } catch {
    return false;
  }
}

/**
 * `sst build` with no AWS account: SST asks STS and CloudFormation (its bootstrap stacks) before it synthesises,
 * and localcloud answers. Uses the running local stage, or a throwaway in-memory localcloud when none runs.
 */
export function buildCommand(program: Command): void {
  program
    .command('build')
    .option('--to <dir>', 'where to write the cloud assembly')
    // The stage is the global --stage (default local): `opsauto build --stage prod` synthesises prod's stacks.
    .action(async (opts: { to?: string }) => {
      const { stage } = program.opts<{ stage: string }>();
      if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(stage)) throw new Error(`build: --stage ${stage} is not a stage name SST takes (letters, digits and hyphens, starting with a letter)`);
      const running = localcloudUrl(program.opts<{ endpoint?: string }>().endpoint);
      const own = (await reachable(running)) ? undefined : await startLocalcloud({ port: 0 });
      const endpoint = own?.url ?? running;
      const env: NodeJS.ProcessEnv = { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', SST_TELEMETRY_DISABLED: '1' };
      // Real credentials or a profile must not leak into an offline build; SST skips its bootstrap check under NODE_ENV=test.
      for (const key of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_CA_BUNDLE', 'NODE_ENV']) delete env[key];
      console.log(`sst build --stage ${stage} against localcloud at ${endpoint}${own ? ' (started for this build)' : ''}`);
      try {
        const args = [join(projectRoot, 'node_modules/sst/cli/sst.js'), 'build', '--stage', stage, ...(opts.to ? ['--to', opts.to] : [])];
        const code = await new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, args, { cwd: projectRoot, env, stdio: 'inherit' });
          child.on('error', reject);
          child.on('exit', (c) => resolve(c ?? 1));
        });
        if (code !== 0) throw new Error(`sst build exited with ${code}`);
      } finally {
        await own?.stop();
      }
    });
}
