import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorOf } from '../helpers/errors.js';

const run = promisify(execFile);

const outputs = (stack: { Outputs?: { OutputKey?: string; OutputValue?: string }[] } | undefined) =>
  Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));

describe('localcloud CloudFormation', () => {
  let cloud: Localcloud;
  let cfn: CloudFormationClient;
  beforeAll(async () => {
    cloud = await startTestCloud();
    cfn = new CloudFormationClient(clientConfig(cloud));
  });
  afterAll(async () => {
    cfn.destroy();
    await cloud.stop();
  });

  it('answers the CDK bootstrap stack complete, at a version SST accepts (>= 14), with its bucket', async () => {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: 'CDKToolkit' }));

    expect(Stacks).toHaveLength(1);
    expect(Stacks?.[0]).toMatchObject({ StackName: 'CDKToolkit', StackStatus: 'CREATE_COMPLETE' });
    expect(Stacks?.[0]?.StackId).toMatch(/^arn:aws:cloudformation:us-east-1:000000000000:stack\/CDKToolkit\//);
    expect(Stacks?.[0]?.CreationTime).toBeInstanceOf(Date);
    expect(Number(outputs(Stacks?.[0]).BootstrapVersion)).toBeGreaterThanOrEqual(14);
    expect(outputs(Stacks?.[0]).BucketName).toBe('cdk-hnb659fds-assets-000000000000-us-east-1');
  });

  it('answers the SST bootstrap stack at the version SST 2 expects, with its bucket', async () => {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: 'SSTBootstrap' }));
    expect(outputs(Stacks?.[0])).toEqual({ Version: '7.4', BucketName: 'sstbootstrap-useast1-000000000000' });
  });

  it('finds a stack by its stack id too, and lists both without a name', async () => {
    const { Stacks: all } = await cfn.send(new DescribeStacksCommand({}));
    const { Stacks: byId } = await cfn.send(new DescribeStacksCommand({ StackName: all?.[1]?.StackId }));

    expect(all?.map((s) => s.StackName)).toEqual(['CDKToolkit', 'SSTBootstrap']);
    expect(byId?.[0]?.StackName).toBe('SSTBootstrap');
  });

  it('answers ValidationError "Stack with id X does not exist" for any other stack, as AWS does', async () => {
    const err = await errorOf(cfn.send(new DescribeStacksCommand({ StackName: 'local-opsauto-Storage' })));
    expect(err).toEqual({ name: 'ValidationError', message: 'Stack with id local-opsauto-Storage does not exist' });
  });

  it('bootstraps each account and region on its own: outputs name the caller account and region', async () => {
    const sts = new STSClient(clientConfig(cloud));
    const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111122223333:role/deployer', RoleSessionName: 'cfn' }));
    const other = new CloudFormationClient({
      ...clientConfig(cloud, 'eu-west-1'),
      credentials: { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! },
    });

    const { Stacks } = await other.send(new DescribeStacksCommand({ StackName: 'CDKToolkit' }));

    expect(outputs(Stacks?.[0]).BucketName).toBe('cdk-hnb659fds-assets-111122223333-eu-west-1');
    expect(Stacks?.[0]?.StackId).toContain(':eu-west-1:111122223333:stack/');
    sts.destroy();
    other.destroy();
  });
});

describe('sst build against localcloud', () => {
  let cloud: Localcloud;
  let out: string;
  beforeAll(async () => {
    cloud = await startTestCloud();
    out = mkdtempSync(join(tmpdir(), 'opsauto-sst-build-'));
  });
  afterAll(async () => {
    await cloud.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it(
    'synthesises every stack with AWS_ENDPOINT_URL pointing at localcloud, asking it only for the caller and the bootstrap stacks',
    async () => {
      // Prepare: the environment of `AWS_ENDPOINT_URL=… npm run build`, without what vitest adds: NODE_ENV=test
      // makes SST skip the bootstrap lookup, which this test is about.
      const env: NodeJS.ProcessEnv = { ...process.env, AWS_ENDPOINT_URL: cloud.url, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', SST_TELEMETRY_DISABLED: '1' };
      for (const key of ['NODE_ENV', 'VITEST', 'VITEST_MODE', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'AWS_PROFILE', 'AWS_CA_BUNDLE', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION']) delete env[key];

      // Act
      const result = await run(process.execPath, ['node_modules/sst/cli/sst.js', 'build', '--stage', 'local', '--to', out], { env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }).catch(
        (e: { stdout?: string; stderr?: string; message: string }) => {
          throw new Error(`sst build failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
        },
      );

      // Assess: the four stacks' templates exist and are CloudFormation templates.
      expect(result.stdout).toContain('Built: 4 stacks');
      const templates = readdirSync(out).filter((f) => f.endsWith('.template.json'));
      expect(templates.sort()).toEqual(['local-opsauto-Api.template.json', 'local-opsauto-Automation.template.json', 'local-opsauto-Observability.template.json', 'local-opsauto-Storage.template.json']);
      for (const t of templates) expect(JSON.parse(readFileSync(join(out, t), 'utf8'))).toHaveProperty('Resources');
      expect(existsSync(join(out, 'manifest.json'))).toBe(true);
      const calls = cloud.calls.snapshot();
      expect(calls.sts?.GetCallerIdentity).toBeGreaterThanOrEqual(1);
      expect(calls.cloudformation).toEqual({ DescribeStacks: 2 });
      expect(Object.keys(calls).sort()).toEqual(['cloudformation', 'sts']);
    },
    300_000,
  );
});
