import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { startTestCloud } from '../helpers/localcloud.js';

/**
 * The AWS CLI, as users point it at localcloud (`aws --endpoint-url http://127.0.0.1:4566 …`), over the main
 * operations of each service. CI must have it (.ci/run installs Debian's awscli, which is AWS CLI v2, when no `aws`
 * is on the PATH): there a missing CLI fails this suite. On a developer's machine without it, the suite is skipped
 * with a message saying how to get it.
 */
const execFileAsync = promisify(execFile);
const version = spawnSync('aws', ['--version'], { encoding: 'utf8' });
const cliVersion = version.error ? undefined : `${version.stdout}${version.stderr}`.trim();
const inCi = Boolean(process.env.CI);
if (!cliVersion && !inCi) {
  console.warn('awscli.test.ts skipped: no `aws` on the PATH. Install the AWS CLI (Debian: apt-get install awscli) to run the AWS CLI round trip; in CI it is required.');
}

describe.skipIf(!cliVersion && !inCi)(`AWS CLI round trip (${cliVersion ?? 'aws missing'})`, () => {
  let cloud: Localcloud;
  let home: string;

  /** Runs `aws <args> --endpoint-url <localcloud> --output json` and parses its JSON answer (`{}` when it prints none). */
  async function aws(args: string[], options: { region?: string; credentials?: { id: string; secret: string; token?: string } } = {}): Promise<Record<string, unknown>> {
    // A clean environment: no developer profile, config file or CA bundle, no instance metadata lookups.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_ACCESS_KEY_ID: options.credentials?.id ?? 'local',
      AWS_SECRET_ACCESS_KEY: options.credentials?.secret ?? 'local',
      ...(options.credentials?.token ? { AWS_SESSION_TOKEN: options.credentials.token } : {}),
      AWS_DEFAULT_REGION: options.region ?? 'us-east-1',
      AWS_PAGER: '',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CLI_AUTO_PROMPT: 'off',
    };
    try {
      const { stdout } = await execFileAsync('aws', [...args, '--endpoint-url', cloud.url, '--output', 'json'], { env, timeout: 60_000 });
      return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
    } catch (e) {
      const err = e as Error & { stderr?: string; code?: string | number };
      if (err.code === 'ENOENT' || / ENOENT$/.test(err.message)) throw new Error('no `aws` on the PATH: CI needs the AWS CLI (.ci/run installs Debian awscli when it is missing)');
      throw new Error(`aws ${args.join(' ')} failed: ${err.stderr || err.message}`);
    }
  }

  /** The error text of a CLI call that must fail. */
  async function awsError(args: string[]): Promise<string> {
    return aws(args).then(
      () => {
        throw new Error(`expected aws ${args.join(' ')} to fail`);
      },
      (e: Error) => e.message,
    );
  }

  beforeAll(async () => {
    cloud = await startTestCloud();
    home = mkdtempSync(join(tmpdir(), 'localcloud-awscli-'));
    cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'opsauto-base-2026-01-01', tags: { Team: 'ops' } }] } } });
  });
  afterAll(async () => {
    await cloud?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('is installed', () => {
    expect(cliVersion, 'no `aws` on the PATH: CI needs the AWS CLI (.ci/run installs Debian awscli when it is missing)').toMatch(/^aws-cli\/\d/);
  });

  it('puts and gets SSM parameters, by name and by path', async () => {
    expect(await aws(['ssm', 'put-parameter', '--name', '/opsauto/cli/ami', '--value', 'ami-0123', '--type', 'String'])).toMatchObject({ Version: 1 });
    await aws(['ssm', 'put-parameter', '--name', '/opsauto/cli/secret', '--value', 's3cret', '--type', 'SecureString']);

    const got = await aws(['ssm', 'get-parameter', '--name', '/opsauto/cli/ami']);
    const byPath = await aws(['ssm', 'get-parameters-by-path', '--path', '/opsauto/cli', '--with-decryption']);
    const missing = await awsError(['ssm', 'get-parameter', '--name', '/opsauto/cli/none']);

    expect(got.Parameter).toMatchObject({ Name: '/opsauto/cli/ami', Value: 'ami-0123', Type: 'String', Version: 1 });
    expect((byPath.Parameters as { Name: string; Value: string }[]).map((p) => [p.Name, p.Value]).sort()).toEqual([
      ['/opsauto/cli/ami', 'ami-0123'],
      ['/opsauto/cli/secret', 's3cret'],
    ]);
    expect(missing).toContain('ParameterNotFound');
  }, 60_000);

  it('describes images, runs an instance from one and describes it', async () => {
    const images = await aws(['ec2', 'describe-images', '--owners', 'self', '--filters', 'Name=tag:Team,Values=ops']);
    const imageId = (images.Images as { ImageId: string; Name: string }[])[0]?.ImageId;

    const run = await aws(['ec2', 'run-instances', '--image-id', imageId, '--instance-type', 't3.micro', '--count', '1', '--tag-specifications', 'ResourceType=instance,Tags=[{Key=Name,Value=cli}]']);
    const instanceId = (run.Instances as { InstanceId: string }[])[0]?.InstanceId;
    const described = await aws(['ec2', 'describe-instances', '--instance-ids', instanceId]);
    const unknown = await awsError(['ec2', 'describe-instances', '--instance-ids', 'i-0000000000000000f']);

    expect((images.Images as { Name: string }[]).map((i) => i.Name)).toEqual(['opsauto-base-2026-01-01']);
    expect(instanceId).toMatch(/^i-[0-9a-f]{17}$/);
    const reservations = described.Reservations as { Instances: { InstanceId: string; ImageId: string; InstanceType: string }[] }[];
    expect(reservations[0]?.Instances[0]).toMatchObject({ InstanceId: instanceId, ImageId: imageId, InstanceType: 't3.micro' });
    expect(unknown).toContain('InvalidInstanceID.NotFound');
  }, 60_000);

  it('answers sts get-caller-identity, and assume-role credentials act in the role account', async () => {
    const me = await aws(['sts', 'get-caller-identity']);
    const assumed = await aws(['sts', 'assume-role', '--role-arn', 'arn:aws:iam::111122223333:role/cli-role', '--role-session-name', 'cli']);
    const creds = assumed.Credentials as { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
    const them = await aws(['sts', 'get-caller-identity'], { credentials: { id: creds.AccessKeyId, secret: creds.SecretAccessKey, token: creds.SessionToken } });

    expect(me).toMatchObject({ Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root' });
    expect(them).toMatchObject({ Account: '111122223333', Arn: 'arn:aws:sts::111122223333:assumed-role/cli-role/cli' });
  }, 60_000);

  it('puts events onto the default bus and reports a failed entry', async () => {
    const out = await aws([
      'events',
      'put-events',
      '--entries',
      JSON.stringify([
        { Source: 'opsauto.cli', DetailType: 'CLI Test', Detail: JSON.stringify({ ok: true }) },
        { Source: 'opsauto.cli', DetailType: 'CLI Test', Detail: 'not json' },
      ]),
    ]);

    expect(out.FailedEntryCount).toBe(1);
    expect((out.Entries as { ErrorCode?: string }[])[1]?.ErrorCode).toBe('MalformedDetail');
    expect(cloud.bus.recent.some((e) => e.source === 'opsauto.cli' && (e.detail as { ok?: boolean }).ok === true)).toBe(true);
  }, 60_000);

  it('lists DynamoDB tables', async () => {
    await aws(['dynamodb', 'create-table', '--table-name', 'cli-table', '--attribute-definitions', 'AttributeName=pk,AttributeType=S', '--key-schema', 'AttributeName=pk,KeyType=HASH', '--billing-mode', 'PAY_PER_REQUEST']);
    expect(await aws(['dynamodb', 'list-tables'])).toEqual({ TableNames: ['cli-table'] });
  }, 60_000);

  it('describes the bootstrap stacks and refuses an unknown one', async () => {
    const out = await aws(['cloudformation', 'describe-stacks', '--stack-name', 'CDKToolkit']);
    expect((out.Stacks as { StackStatus: string }[])[0]?.StackStatus).toBe('CREATE_COMPLETE');
    expect(await awsError(['cloudformation', 'describe-stacks', '--stack-name', 'nope'])).toContain('Stack with id nope does not exist');
  }, 60_000);
});
