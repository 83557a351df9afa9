import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { forgetPython } from '../../packages/localcloud/src/python-runtime.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

// Lambda Invoke through the real SDK client, on in-process Node functions and on Python functions run by the
// machine's python3 (boto3 pointed at localcloud, sleeps on the virtual clock, which they move on).

const codeDirectory = fileURLToPath(new URL('../fixtures/python/echo/', import.meta.url));
const decoder = new TextDecoder();
const payloadOf = (out: { Payload?: Uint8Array }) => JSON.parse(decoder.decode(out.Payload)) as Record<string, unknown>;
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('localcloud Lambda API', () => {
  let cloud: Localcloud;
  let lambda: LambdaClient;
  beforeAll(async () => {
    cloud = await startTestCloud();
    lambda = new LambdaClient(clientConfig(cloud));
    cloud.lambda.register({ name: 'node-echo', handler: (event) => Promise.resolve({ got: event }) });
    cloud.lambda.register({
      name: 'node-broken',
      handler: () => {
        const e = new Error('the disk is full');
        e.name = 'DiskFull';
        return Promise.reject(e);
      },
    });
    for (const fn of ['echo', 'fail', 'nap', 'whoami']) cloud.registerPython({ name: `py-${fn}`, runtime: 'python3.12', codeDirectory, handler: `app.${fn}`, timeoutSeconds: 30 });
    cloud.registerPython({ name: 'py-stop-and-wait', runtime: 'python3.12', codeDirectory, handler: 'app.stop_and_wait', timeoutSeconds: 300 });
  });
  afterAll(async () => {
    await cloud.stop();
  });

  it('runs a Node function RequestResponse by name, partial ARN and full ARN', async () => {
    for (const name of ['node-echo', '000000000000:function:node-echo', 'arn:aws:lambda:us-east-1:000000000000:function:node-echo']) {
      const out = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: encode({ n: 1 }) }));
      expect(out.StatusCode).toBe(200);
      expect(out.FunctionError).toBeUndefined();
      expect(out.ExecutedVersion).toBe('$LATEST');
      expect(payloadOf(out)).toEqual({ got: { n: 1 } });
    }
  });

  it('answers a function error as a 200 with FunctionError Unhandled and the error payload', async () => {
    const node = await lambda.send(new InvokeCommand({ FunctionName: 'node-broken' }));
    expect(node.StatusCode).toBe(200);
    expect(node.FunctionError).toBe('Unhandled');
    expect(payloadOf(node)).toMatchObject({ errorType: 'DiskFull', errorMessage: 'the disk is full' });

    const py = await lambda.send(new InvokeCommand({ FunctionName: 'py-fail', Payload: encode({ why: 'testing' }), LogType: 'Tail' }));
    expect(py.FunctionError).toBe('Unhandled');
    const error = payloadOf(py);
    expect(error).toMatchObject({ errorType: 'ValueError', errorMessage: 'no good: testing' });
    expect((error.stackTrace as string[]).join('')).toContain('app.py');
    expect(Buffer.from(py.LogResult!, 'base64').toString()).toContain('about to fail');
  });

  it('runs a Python function with python3 and returns its log with LogType Tail', async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'py-echo', Payload: encode({ word: 'hello' }), LogType: 'Tail' }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError, decoder.decode(out.Payload)).toBeUndefined();
    const payload = payloadOf(out);
    expect(payload.echo).toEqual({ word: 'hello' });
    expect(payload.function).toBe('py-echo');
    expect(payload.remainingMs).toBeGreaterThan(20_000);
    const log = Buffer.from(out.LogResult!, 'base64').toString();
    expect(log).toMatch(/^START RequestId: [\w-]+ Version: \$LATEST/);
    expect(log).toContain('echoing hello');
    expect(log).toMatch(/END RequestId/);
  });

  it('keeps only the last 4 KB of the log in LogResult', async () => {
    cloud.lambda.register({
      name: 'node-chatty',
      handler: (_event, context) => {
        for (let i = 0; i < 500; i++) context.log?.(`line ${i} ${'x'.repeat(40)}`);
        return Promise.resolve('ok');
      },
    });
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'node-chatty', LogType: 'Tail' }));
    const log = Buffer.from(out.LogResult!, 'base64');
    expect(log.length).toBeLessThanOrEqual(4096);
    expect(log.toString()).toContain('line 499');
    expect(log.toString()).not.toContain('line 0 ');
  });

  it('sleeps on the virtual clock (tickMs 0): a long time.sleep takes no real time and moves localcloud on; one past the timeout times out', async () => {
    const started = Date.now();
    const clockBefore = cloud.clock.nowMs();
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'py-nap', Payload: encode({ seconds: 20 }) }));
    expect(out.FunctionError, decoder.decode(out.Payload)).toBeUndefined();
    expect(payloadOf(out).slept).toBeGreaterThanOrEqual(20);
    // localcloud's clock reached the time the function woke at: 20 s on, plus the (real) time the calls took.
    expect(cloud.clock.nowMs() - clockBefore).toBeGreaterThanOrEqual(20_000);
    expect(cloud.clock.nowMs() - clockBefore).toBeLessThan(20_000 + (Date.now() - started) + 1000);
    const late = await lambda.send(new InvokeCommand({ FunctionName: 'py-nap', Payload: encode({ seconds: 45 }) }));
    expect(late.FunctionError).toBe('Unhandled');
    expect(payloadOf(late).errorMessage).toMatch(/Task timed out after 30\.00 seconds$/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('lets a function that polls see what happens on the clock while it sleeps: a boto3 waiter and a sleep loop', async () => {
    // Prepare
    cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'nap-base' }], instances: [{ image: 'nap-base', type: 't3.micro', tags: { Name: 'napper' } }] } } });
    await cloud.advance('1m');
    const seeded = await new EC2Client(clientConfig(cloud)).send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['napper'] }] }));
    const instanceId = seeded.Reservations![0].Instances![0].InstanceId!;
    const clockBefore = cloud.clock.nowMs();
    const realStart = Date.now();
    // Act
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'py-stop-and-wait', Payload: encode({ InstanceId: instanceId }) }));
    const after = await new EC2Client(clientConfig(cloud)).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    // Assess: stopping takes 30 s (two 15 s waiter delays), pending 5 s (one 5 s poll), all on the virtual clock.
    expect(out.FunctionError, decoder.decode(out.Payload)).toBeUndefined();
    const answer = payloadOf(out) as { waited: number; polls: number; now: number };
    expect(answer.waited).toBeGreaterThanOrEqual(30);
    expect(answer.waited).toBeLessThan(45 + (Date.now() - realStart) / 1000);
    expect(answer.polls).toBe(1);
    expect(after.Reservations![0].Instances![0].State?.Name).toBe('running');
    expect(cloud.clock.nowMs() - clockBefore).toBeGreaterThanOrEqual(35_000);
    expect(Math.abs(answer.now * 1000 - cloud.clock.nowMs())).toBeLessThan(5_000);
  });

  it('sees the virtual clock: datetime.now() in the function follows localcloud', async () => {
    await cloud.advance('P366D');
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'py-nap', Payload: encode({ seconds: 0 }) }));
    expect(payloadOf(out).year).toBe(cloud.clock.now().getUTCFullYear());
  });

  it('gives a Python function the credentials of its role, and boto3 reaches localcloud', async () => {
    const roleArn = 'arn:aws:iam::000000000000:role/py-runner';
    cloud.registerPython({ name: 'py-whoami-role', runtime: 'python3.12', codeDirectory, handler: 'app.whoami', roleArn, timeoutSeconds: 30 });
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'py-whoami-role' }));
    expect(out.FunctionError, decoder.decode(out.Payload)).toBeUndefined();
    expect(payloadOf(out).arn).toBe('arn:aws:sts::000000000000:assumed-role/py-runner/py-whoami-role');
    expect(payloadOf(out).regions).toBeGreaterThan(0);
    // Enforced like any role: registered without ec2:DescribeRegions, the call is refused.
    cloud.iam.allow({ roleArn, actions: ['sts:GetCallerIdentity'] });
    const denied = await lambda.send(new InvokeCommand({ FunctionName: 'py-whoami-role' }));
    expect(denied.FunctionError).toBe('Unhandled');
    expect(payloadOf(denied).errorMessage).toMatch(/UnauthorizedOperation/);
    cloud.iam.forget(roleArn);
  });

  it('fails a Python invocation saying what to install when no python3 can import boto3', async () => {
    const saved = { PATH: process.env.PATH, OPSAUTO_PYTHON: process.env.OPSAUTO_PYTHON };
    forgetPython();
    // No python3 on the PATH, OPSAUTO_PYTHON pointing nowhere; /usr/bin/python3, where it exists, lacks boto3 or is used.
    process.env.PATH = '/nonexistent';
    process.env.OPSAUTO_PYTHON = '/nonexistent/python3';
    try {
      const usrBinHasBoto3 = await new Promise<boolean>((resolve) => execFile('/usr/bin/python3', ['-c', 'import boto3'], (e) => resolve(!e)));
      const out = await lambda.send(new InvokeCommand({ FunctionName: 'py-echo', Payload: encode({ word: 'x' }) }));
      if (usrBinHasBoto3) expect(out.FunctionError).toBeUndefined();
      else {
        expect(out.FunctionError).toBe('Unhandled');
        expect(payloadOf(out)).toMatchObject({ errorType: 'Runtime.PythonUnavailable', errorMessage: expect.stringContaining('apt-get install python3-boto3') });
      }
    } finally {
      Object.assign(process.env, saved);
      if (saved.OPSAUTO_PYTHON === undefined) delete process.env.OPSAUTO_PYTHON;
      forgetPython();
    }
  });

  it('starts an Event invocation and answers 202; DryRun answers 204 and runs nothing', async () => {
    const before = cloud.lambda.invocations.filter((i) => i.function === 'node-echo').length;
    const event = await lambda.send(new InvokeCommand({ FunctionName: 'node-echo', InvocationType: 'Event', Payload: encode({ later: true }) }));
    expect(event.StatusCode).toBe(202);
    await cloud.settle();
    expect(cloud.lambda.invocations.filter((i) => i.function === 'node-echo').length).toBe(before + 1);
    const dry = await lambda.send(new InvokeCommand({ FunctionName: 'node-echo', InvocationType: 'DryRun' }));
    expect(dry.StatusCode).toBe(204);
    expect(cloud.lambda.invocations.filter((i) => i.function === 'node-echo').length).toBe(before + 1);
  });

  it('answers ResourceNotFoundException (404) for an unknown function or version, with its ARN', async () => {
    const missing = lambda.send(new InvokeCommand({ FunctionName: 'nobody' }));
    await expect(missing).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(missing).rejects.toMatchObject({ message: 'Function not found: arn:aws:lambda:us-east-1:000000000000:function:nobody', $metadata: { httpStatusCode: 404 } });
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'node-echo', Qualifier: '7' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'arn:aws:lambda:eu-west-1:000000000000:function:node-echo' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses a payload that is not JSON and a name Lambda does not accept', async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'node-echo', Payload: new TextEncoder().encode('{not json') }))).rejects.toMatchObject({ name: 'InvalidRequestContentException' });
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'bad name!' }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('enforces lambda:InvokeFunction for a registered role', async () => {
    const roleArn = 'arn:aws:iam::000000000000:role/invoker';
    cloud.iam.allow({ roleArn, actions: ['lambda:InvokeFunction'] });
    const { Credentials } = await new STSClient(clientConfig(cloud)).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'invoker' }));
    const asRole = (actions: string[]) => {
      cloud.iam.allow({ roleArn, actions });
      return new LambdaClient({ ...clientConfig(cloud), credentials: { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! } });
    };
    expect((await asRole(['lambda:InvokeFunction']).send(new InvokeCommand({ FunctionName: 'node-echo' }))).StatusCode).toBe(200);
    await expect(asRole(['lambda:GetFunction']).send(new InvokeCommand({ FunctionName: 'node-echo' }))).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('lambda:InvokeFunction') });
    cloud.iam.forget(roleArn);
  });
});

describe('localcloud Lambda API on a clock that ticks with real time (npm start)', () => {
  let cloud: Localcloud;
  beforeAll(async () => {
    cloud = await startTestCloud({ tickMs: 50 });
    cloud.registerPython({ name: 'py-nap', runtime: 'python3.12', codeDirectory, handler: 'app.nap', timeoutSeconds: 30 });
  });
  afterAll(async () => {
    await cloud.stop();
  });

  it('sleeps for real, leaving the clock to tick on its own', async () => {
    // Prepare
    const offsetBefore = cloud.clock.offset;
    const started = Date.now();
    // Act
    const out = await new LambdaClient(clientConfig(cloud)).send(new InvokeCommand({ FunctionName: 'py-nap', Payload: encode({ seconds: 0.5 }) }));
    // Assess
    expect(out.FunctionError, decoder.decode(out.Payload)).toBeUndefined();
    expect(payloadOf(out).slept).toBeGreaterThanOrEqual(0.5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(cloud.clock.offset).toBe(offsetBefore);
  });
});
