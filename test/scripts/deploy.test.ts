import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../packages/cli/src/project.js';

/*
 * `npm run deploy` as a newcomer runs it: with an empty environment (no AWS_* variables, a HOME without ~/.aws) it
 * must fail saying what is missing, before sst runs (which would otherwise ask for a stage name and exit 0). Instance
 * metadata is switched off, so nothing here reaches the network.
 */

const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'opsauto-deploy-home-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function deploy(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '-s', 'deploy', '--', ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe('npm run deploy', () => {
  it('with no credentials fails, saying which are missing and where they may come from', { timeout: 60_000 }, async () => {
    const result = await deploy(['--stage', 'prod']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('opsauto deploy: no AWS credentials to deploy stage prod with (region us-east-1).');
    expect(result.stderr).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    expect(result.stderr).toContain('named by AWS_PROFILE or --profile');
    expect(result.stderr).toContain('The AWS SDK said: Could not load credentials from any providers');
    // sst never ran: it would have asked for a personal stage.
    expect(result.stdout + result.stderr).not.toMatch(/personal stage/);

    const withProfile = await deploy(['--stage', 'prod', '--profile', 'ops-admin', '--region', 'eu-west-1']);
    expect(withProfile.code).toBe(1);
    expect(withProfile.stderr).toContain('no AWS credentials to deploy stage prod with (region eu-west-1, profile ops-admin).');
  });

  it('refuses a missing stage and stage local with a sentence', { timeout: 60_000 }, async () => {
    const none = await deploy([]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toBe('opsauto deploy: name the stage to deploy to, e.g. `npm run deploy -- --stage prod` (stage `local` is the offline one `npm start` runs).');
    const local = await deploy(['--stage=local'], { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example' });
    expect(local.code).toBe(1);
    expect(local.stderr.trim()).toBe('opsauto deploy: stage `local` is the offline stage on localcloud (`npm start`), never deployed: give another stage name, e.g. `--stage prod`.');
  });

  it('with credentials hands the arguments to sst deploy (here --help, which stops there) and its exit code back', { timeout: 60_000 }, async () => {
    const result = await deploy(['--stage', 'prod', '--help'], { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('sst deploy [filter]');
    expect(result.stderr).not.toContain('opsauto deploy:');
  });
});
