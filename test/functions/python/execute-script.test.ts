import { fileURLToPath } from 'node:url';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

// The aws:executeScript runner (packages/functions/python/execute_script/handler.py) run by python3 through
// localcloud's Lambda runtime, on the event the worker sends, against a started localcloud.

const codeDirectory = fileURLToPath(new URL('../../../packages/functions/python/execute_script/', import.meta.url));
const runnerRole = 'arn:aws:iam::000000000000:role/opsauto-test-execute-script';
const scriptRole = 'arn:aws:iam::000000000000:role/opsauto-test-runbook-cli';

describe('executeScript runner', () => {
  let cloud: Localcloud;
  let lambda: LambdaClient;
  let instanceId: string;
  beforeAll(async () => {
    cloud = await startTestCloud();
    cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'base' }], instances: [{ image: 'base', type: 't3.micro', tags: { Name: 'scripted' } }] } } });
    // The runner's own role may only assume roles; the script's role only what the script needs.
    cloud.iam.allow({ roleArn: runnerRole, actions: ['sts:AssumeRole'] });
    cloud.iam.allow({ roleArn: scriptRole, actions: ['ec2:DescribeInstances', 'ec2:CreateTags'] });
    cloud.registerPython({ name: 'execute-script', runtime: 'python3.12', codeDirectory, handler: 'handler.handler', roleArn: runnerRole, timeoutSeconds: 660 });
    lambda = new LambdaClient(clientConfig(cloud));
    const out = await new EC2Client(clientConfig(cloud)).send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['scripted'] }] }));
    instanceId = out.Reservations![0].Instances![0].InstanceId!;
  });
  afterAll(async () => {
    await cloud.stop();
  });

  async function run(script: string, extra: Record<string, unknown> = {}) {
    const event = { Runtime: 'python3.11', Handler: 'script_handler', Script: script, InputPayload: { InstanceId: instanceId }, RoleArn: scriptRole, RoleSessionName: 'opsauto-runbook-test', TimeoutSeconds: 600, Region: 'us-east-1', ...extra };
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'execute-script', Payload: new TextEncoder().encode(JSON.stringify(event)) }));
    const payload = JSON.parse(new TextDecoder().decode(out.Payload)) as Record<string, unknown>;
    return { functionError: out.FunctionError, payload };
  }

  it('runs the handler with InputPayload as the role it assumed: boto3 acts on localcloud, as the role, never the runner', async () => {
    const { functionError, payload } = await run(`
import boto3

def script_handler(events, context):
    ec2 = boto3.client('ec2')
    ec2.create_tags(Resources=[events['InstanceId']], Tags=[{'Key': 'checked', 'Value': 'by-script'}])
    return {
        'default': boto3.client('sts').get_caller_identity()['Arn'],
        'session': boto3.session.Session().client('sts').get_caller_identity()['Arn'],
        'state': ec2.describe_instances(InstanceIds=[events['InstanceId']])['Reservations'][0]['Instances'][0]['State']['Name'],
    }
`);
    expect(functionError, JSON.stringify(payload)).toBeUndefined();
    expect(payload.Error).toBeUndefined();
    expect(payload.Payload).toEqual({
      default: 'arn:aws:sts::000000000000:assumed-role/opsauto-test-runbook-cli/opsauto-runbook-test',
      session: 'arn:aws:sts::000000000000:assumed-role/opsauto-test-runbook-cli/opsauto-runbook-test',
      state: 'running',
    });
    const tags = (await new EC2Client(clientConfig(cloud)).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0].Instances![0].Tags;
    expect(tags).toContainEqual({ Key: 'checked', Value: 'by-script' });
    expect(cloud.iam.denials()).toEqual([]);
  });

  it('answers the exception the script raised, with its type and message', async () => {
    const { functionError, payload } = await run(`
def script_handler(events, context):
    raise RuntimeError('volume ' + events['InstanceId'] + ' is not encrypted')
`);
    expect(functionError).toBeUndefined();
    expect(payload.Error).toEqual({ Type: 'RuntimeError', Message: `volume ${instanceId} is not encrypted`, Line: 3 });
  });

  it("answers exit('message') and sys.exit(n) as the script's failure with its message, not a crash of the runner", async () => {
    const withMessage = await run(`
def script_handler(events, context):
    try:
        raise ValueError('no such snapshot')
    except Exception as e:
        exit(f"Remediation failed for {events['InstanceId']}: {str(e)}")
`);
    expect(withMessage.functionError).toBeUndefined();
    expect(withMessage.payload.Error).toEqual({ Type: 'SystemExit', Message: `Remediation failed for ${instanceId}: no such snapshot`, Line: 6 });
    const withStatus = await run(`
import sys
def script_handler(events, context):
    print('giving up')
    sys.exit(2)
`);
    expect(withStatus.functionError).toBeUndefined();
    expect(withStatus.payload.Error).toEqual({ Type: 'SystemExit', Message: 'the script called exit() with status 2', Line: 5 });
    expect(withStatus.payload.Logs).toBe('giving up\n');
  });

  it('refuses what the role may not do: the script fails with AWS access-denied error', async () => {
    const { payload } = await run(`
import boto3
def script_handler(events, context):
    boto3.client('ec2').terminate_instances(InstanceIds=[events['InstanceId']])
`);
    expect(payload.Error).toMatchObject({ Type: 'ClientError', Message: expect.stringContaining('UnauthorizedOperation') });
  });

  it('times out a script that sleeps past TimeoutSeconds, on the virtual clock, even when the script catches Exception', async () => {
    const started = Date.now();
    const { payload } = await run(
      `
import time
def script_handler(events, context):
    try:
        time.sleep(120)
    except Exception:
        return 'caught'
    return 'woke'
`,
      { TimeoutSeconds: 60 },
    );
    expect(payload.TimedOut).toBe(true);
    expect(payload.Error).toEqual({ Type: 'TimedOut', Message: 'the script ran past the step timeout of 60 seconds' });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('keeps what the script prints as its log, bounded', async () => {
    const { payload } = await run(`
def script_handler(events, context):
    print('looking at', events['InstanceId'])
    print('x' * 100000)
    return 'done'
`);
    expect(payload.Payload).toBe('done');
    expect(payload.Logs).toContain(`looking at ${instanceId}`);
    expect((payload.Logs as string).length).toBeLessThan(70 * 1024);
    expect(payload.Logs).toMatch(/more characters of output not kept/);
  });

  it('fails the invocation on a request without RoleArn: the script never runs with the runner credentials', async () => {
    const { functionError, payload } = await run('def script_handler(events, context):\n    return 1\n', { RoleArn: undefined });
    expect(functionError).toBe('Unhandled');
    expect(payload.errorMessage).toMatch(/RoleArn is required/);
  });
});
