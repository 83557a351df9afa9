import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand, type Tag } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { defineConfig, type Execution, type ExecutionPage } from '@opsauto/core';
import { projectRoot } from '../../packages/cli/src/project.js';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { cliAgainst, OPSAUTO_BIN as BIN } from '../helpers/cli.js';
import { clientConfig } from '../helpers/localcloud.js';

// Every wait of the runbook worker becomes a wake-up on the virtual clock: `advance` runs what is due.
process.env.RUNBOOK_INLINE_WAIT_MS = '0';

const config = defineConfig({ regions: ['us-east-1'] });

let stage: Stage;
let ec2: EC2Client;
let dir: string;
let demoIds: string[];
let soloId: string;
/** Kept running for the shipped approval example. */
let exampleId: string;
/** Executions the tests started, oldest first. */
const started: string[] = [];

/** The CLI in this process (a fresh process each costs most of a second); the --wait test below spawns the real one. */
const { opsauto, opsautoJson, opsautoFails } = cliAgainst(() => stage.cloud.url);
/** `runbook start …`: the new execution's ID (recorded in `started`). */
async function start(...args: string[]): Promise<string> {
  const out = await opsauto('runbook', 'start', ...args);
  const id = /started execution (\S+)/.exec(out)?.[1];
  if (!id) throw new Error(`no execution ID in: ${out}`);
  started.push(id);
  await stage.cloud.settle();
  return id;
}
const status = (id: string) => opsautoJson<Execution>('runbook', 'status', id);
/**
 * The executions on the stage, read from the table as `runbook list --json` reads them, without a CLI process each
 * (what `runbook list` prints is tested on its own below).
 */
const executions = async () => (await new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName).list({ limit: 100 })).executions;
const runbookFile = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const instanceState = async (id: string) => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0].State!.Name;
/** Operations called between two call-count snapshots. */
function callsBetween(before: Record<string, Record<string, number>>, after: Record<string, Record<string, number>>): string[] {
  return Object.entries(after).flatMap(([service, ops]) => Object.entries(ops).filter(([op, n]) => n > (before[service]?.[op] ?? 0)).map(([op]) => `${service}:${op}`));
}

beforeAll(async () => {
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'runbook-cli-base', creationDate: '2026-01-01T00:00:00Z' }] } } });
  ec2 = new EC2Client(clientConfig(stage.cloud));
  const imageId = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['runbook-cli-base'] }] }))).Images![0].ImageId!;
  const launch = async (count: number, tags: Tag[]) =>
    (await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: count, MaxCount: count, TagSpecifications: [{ ResourceType: 'instance', Tags: tags }] }))).Instances!.map(
      (i) => i.InstanceId!,
    );
  demoIds = (await launch(4, [{ Key: 'env', Value: 'demo' }])).sort();
  [soloId] = await launch(1, [{ Key: 'env', Value: 'solo' }]);
  [exampleId] = await launch(1, [{ Key: 'env', Value: 'example' }]);
  await stage.cloud.advance('10s'); // pending -> running
  dir = mkdtempSync(join(tmpdir(), 'opsauto-runbook-cli-'));
});
afterAll(async () => {
  await stage?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const PAUSE_RUNBOOK = `
description: Waits for an operator, then goes on.
schemaVersion: '0.3'
parameters:
  Note: { type: String, default: hello }
mainSteps:
  - name: hold
    action: aws:pause
    inputs: {}
  - name: goOn
    action: aws:sleep
    inputs: { Duration: PT0S }
`;

/** A bare --approver name on the local stage is a user of the local account. */
const LOCAL_USER = 'arn:aws:iam::000000000000:user/';

const APPROVE_RUNBOOK = `
schemaVersion: '0.3'
mainSteps:
  - name: askOps
    action: aws:approve
    inputs:
      Approvers: [alice, bob, operator]
      Message: Go ahead?
  - name: done
    action: aws:sleep
    inputs: { Duration: PT0S }
`;

const SLEEP_RUNBOOK = `
schemaVersion: '0.3'
mainSteps:
  - name: nap
    action: aws:sleep
    inputs: { Duration: PT1H }
`;

// Each test runs the CLI up to five times, a process each (about 1 s of CPU apiece for a runbook command, built).
// On two cores with a second test run beside this one they took up to 30 s: twice vitest's default, for headroom.
describe('opsauto runbook on the local stage', { timeout: 60_000 }, () => {
  it('stops the instance and shows Success with both steps when AWS-StopEC2Instance runs on the clock', async () => {
    // Prepare
    expect(await instanceState(soloId)).toBe('running');
    // Act
    const id = await start('AWS-StopEC2Instance', '--param', `InstanceId=${soloId}`);
    await stage.cloud.advance('1m');
    await stage.cloud.advance('1m');
    // Assess
    const execution = await status(id);
    expect(execution).toMatchObject({ status: 'Success', documentName: 'AWS-StopEC2Instance', triggeredBy: 'cli', parameters: { InstanceId: [soloId] } });
    expect(execution.steps.map((s) => [s.name, s.status])).toEqual([
      ['stopInstances', 'Success'],
      ['forceStopInstances', 'Success'],
    ]);
    expect(await instanceState(soloId)).toBe('stopped');
    const text = await opsauto('runbook', 'status', id);
    expect(text).toMatch(/^status\s+Success$/m);
    expect(text).toMatch(/^stopInstances\s+aws:changeInstanceState\s+Success\s+1\s/m);
    expect(text).toMatch(/^forceStopInstances\s+aws:changeInstanceState\s+Success\s+1\s/m);
  });

  it('prints the targets and limits and writes nothing when started with --dry-run and tag targets', async () => {
    // Prepare
    const before = stage.cloud.calls.snapshot();
    // Act
    const out = await opsauto('runbook', 'start', 'AWS-StopEC2Instance', '--targets', 'tag:env=demo', '--target-parameter-name', 'InstanceId', '--max-concurrency', '50%', '--dry-run');
    // Assess
    const calls = callsBetween(before, stage.cloud.calls.snapshot());
    expect(out).toContain('dry run: nothing was started or changed');
    expect(out).toMatch(new RegExp(`^targets +4 -> InstanceId: ${demoIds.join(', ')}$`, 'm'));
    expect(out).not.toContain(soloId);
    expect(out).toMatch(/max concurrency 50% \(2 at a time\), max errors 0/);
    expect(out).toMatch(/^forceStopInstances\s+aws:changeInstanceState\s+Abort\s+1\s+yes$/m);
    expect(calls).toContain('ec2:DescribeInstances');
    expect(calls.filter((c) => c.startsWith('dynamodb:') || c.startsWith('events:') || !/:(Describe|Get|List)/.test(c))).toEqual([]);
    for (const id of demoIds) expect(await instanceState(id)).toBe('running');
  });

  it('says per step whether the local stage serves the APIs it calls when started with --dry-run', async () => {
    // Prepare: a served call, one localcloud does not emulate, one it cannot know, a child runbook, and no call at all.
    const file = runbookFile(
      'mixed.yaml',
      `
schemaVersion: '0.3'
parameters:
  Api: { type: String, default: DescribeInstances }
mainSteps:
  - { name: served, action: aws:executeAwsApi, inputs: { Service: ec2, Api: DescribeVolumes } }
  - { name: missing, action: aws:executeAwsApi, inputs: { Service: ec2, Api: DescribeVpnGateways } }
  - { name: unknown, action: aws:executeAwsApi, inputs: { Service: ec2, Api: '{{ Api }}' } }
  - { name: child, action: aws:executeAutomation, inputs: { DocumentName: AWS-StopEC2Instance, RuntimeParameters: { InstanceId: [i-0123456789abcdef0] } } }
  - { name: nap, action: aws:sleep, inputs: { Duration: PT0S } }
`,
    );
    // Act
    const out = await opsauto('runbook', 'start', file, '--dry-run');
    const plan = await opsautoJson<{ steps: { name: string; localStage: { served: boolean | null; missing: string[] } }[] }>('runbook', 'start', file, '--dry-run');
    // Assess
    expect(out).toMatch(/^served\s+aws:executeAwsApi\s+Abort\s+1\s+yes$/m);
    expect(out).toMatch(/^missing\s+aws:executeAwsApi\s+Abort\s+1\s+no: ec2:DescribeVpnGateways not emulated$/m);
    expect(out).toMatch(/^unknown\s+aws:executeAwsApi\s+Abort\s+1\s+not checked: Service\/Api are interpolated$/m);
    expect(out).toMatch(/^child\s+aws:executeAutomation\s+Abort\s+1\s+yes$/m);
    expect(out).toMatch(/^nap\s+aws:sleep\s+Abort\s+1\s+yes \(no AWS call\)$/m);
    expect(plan.steps.map((s) => [s.name, s.localStage.served, s.localStage.missing])).toEqual([
      ['served', true, []],
      ['missing', false, ['ec2:DescribeVpnGateways']],
      ['unknown', null, []],
      ['child', true, []],
      ['nap', true, []],
    ]);
  });

  it('runs once per target, at most two at a time, and shows progress and children when started with --targets', async () => {
    // Act
    const id = await start('AWS-StopEC2Instance', '--targets', 'tag:env=demo', '--target-parameter-name', 'InstanceId', '--max-concurrency', '50%');
    // The children end within 2 minutes; the parent ends at its 5-minute check (it is not ended by the last child).
    for (let i = 0; i < 6; i++) await stage.cloud.advance('1m');
    // Assess
    const execution = await status(id);
    expect(execution).toMatchObject({ status: 'Success', counters: { launched: 4, running: 0, succeeded: 4, failed: 0 }, rateControl: { concurrencyLimit: 2 } });
    for (const instance of demoIds) expect(await instanceState(instance)).toBe('stopped');
    const text = await opsauto('runbook', 'status', id);
    expect(text).toMatch(/^progress\s+launched 4, running 0, succeeded 4, failed 0 of 4$/m);
    for (const instance of demoIds) expect(text).toMatch(new RegExp(`^\\S+\\s+${instance}\\s+Success\\s`, 'm'));
  });

  it('waits at aws:pause and ends Success after resume when the runbook comes from a file', async () => {
    // Prepare
    const id = await start(runbookFile('pause-then-go.yaml', PAUSE_RUNBOOK));
    const waiting = await status(id);
    expect(waiting).toMatchObject({ status: 'Waiting', documentName: 'pause-then-go', parameters: { Note: 'hello' } });
    expect(await opsauto('runbook', 'status', id)).toContain(`at hold (aws:pause): opsauto runbook resume ${id}`);
    // Act
    const out = await opsauto('runbook', 'resume', id);
    await stage.cloud.settle();
    // Assess
    expect(out).toContain(`${id}: resumed at step hold`);
    const ended = await status(id);
    expect(ended.status).toBe('Success');
    expect(ended.steps.map((s) => [s.name, s.status])).toEqual([
      ['hold', 'Success'],
      ['goOn', 'Success'],
    ]);
  });

  it('cannot terminate an instance with a file runbook: its steps run as the cli role, which may not', async () => {
    // Prepare: a document of the operator's own that calls TerminateInstances, which no allow-listed runbook needs.
    const terminate = `schemaVersion: '0.3'
parameters:
  InstanceId: { type: String }
mainSteps:
  - name: terminate
    action: aws:executeAwsApi
    inputs: { Service: ec2, Api: TerminateInstances, InstanceIds: ['{{ InstanceId }}'] }
`;
    // Act
    const id = await start(runbookFile('terminate.yaml', terminate), '--param', `InstanceId=${soloId}`);
    await stage.cloud.settle();
    // Assess
    const ended = await status(id);
    expect(ended.status).toBe('Failed');
    expect(ended.failureMessage).toMatch(/UnauthorizedOperation/);
    expect(await instanceState(soloId)).not.toMatch(/shutting-down|terminated/);
    expect(stage.cloud.iam.denials().map((d) => [d.roleArn, d.action])).toContainEqual([`arn:aws:iam::000000000000:role/${stage.tableName.replace(/-state$/, '')}-runbook-cli`, 'ec2:TerminateInstances']);
  });

  it('fails the execution at aws:approve with the decision kept when an approver denies', async () => {
    // Prepare
    const id = await start(runbookFile('approve-gate.yaml', APPROVE_RUNBOOK));
    expect((await status(id)).status).toBe('Waiting');
    // Act
    await opsauto('runbook', 'deny', id, '--approver', 'alice', '--comment', 'not during the freeze');
    await stage.cloud.settle();
    // Assess
    const ended = await status(id);
    expect(ended).toMatchObject({ status: 'Failed', failureMessage: expect.stringContaining(`Rejected by ${LOCAL_USER}alice`) });
    expect(ended.steps[0]).toMatchObject({
      name: 'askOps',
      status: 'Failed',
      outputs: { ApprovalStatus: 'Rejected', ApproverDecisions: [expect.objectContaining({ approver: `${LOCAL_USER}alice`, decision: 'Rejected', comment: 'not during the freeze' })] },
    });
    expect(ended.steps).toHaveLength(1);
  });

  it('approves as the local identity (operator) and reads InProgress while the next step runs, then Success', async () => {
    // Prepare: the step after the approval sleeps an hour.
    const id = await start(runbookFile('approve-gate.yaml', APPROVE_RUNBOOK.replace('{ Duration: PT0S }', '{ Duration: PT1H }')));
    // Act
    const out = await opsauto('runbook', 'approve', id);
    await stage.cloud.settle();
    const running = await status(id);
    await opsauto('clock', 'advance', '2h');
    await stage.cloud.settle();
    // Assess
    expect(out).toContain(`approved at step askOps as ${LOCAL_USER}operator`);
    expect(running.status).toBe('InProgress');
    expect(running.steps.map((s) => [s.name, s.status])).toEqual([['askOps', 'Success'], ['done', 'InProgress']]);
    expect(await opsauto('runbook', 'status', id)).toMatch(/^status\s+Success$/m);
    const ended = await status(id);
    expect(ended.steps[0].outputs).toMatchObject({ ApprovalStatus: 'Approved', ApproverDecisions: [expect.objectContaining({ approver: `${LOCAL_USER}operator` })] });
  });

  it('runs the shipped approval example unmodified with the default local identity: waits, is approved, stops the instance', async () => {
    // Prepare
    const id = await start(join(projectRoot, 'docs/examples/approve-then-stop.yaml'), '--param', `InstanceId=${exampleId}`);
    const waiting = await status(id);
    // Act
    await opsauto('runbook', 'approve', id);
    await stage.cloud.settle();
    await opsauto('clock', 'advance', '2m');
    await stage.cloud.settle();
    // Assess
    expect(waiting.status).toBe('Waiting');
    expect(await instanceState(exampleId)).toBe('stopped');
    expect((await status(id)).status).toBe('Success');
  });

  it('refuses --approver on a stage in AWS, where the caller decides as its own identity', async () => {
    // Act
    const { code, stderr } = await opsautoFails('--stage', 'prod', 'runbook', 'approve', 'any-execution', '--approver', 'alice');
    // Assess
    expect(code).toBe(1);
    expect(stderr).toContain('--approver is for the local stage only: on stage prod you decide as your own AWS identity (STS GetCallerIdentity)');
  });

  it('refuses a decision from someone not listed, naming who may decide, and records it', async () => {
    // Prepare
    const id = await start(runbookFile('approve-gate.yaml', APPROVE_RUNBOOK));
    // Act
    const { code, stderr } = await opsautoFails('runbook', 'approve', id, '--approver', 'mallory');
    const refusals = await opsautoJson<{ refusals: { triggeredBy: string; reason: string }[] }>('runbook', 'refusals', '--limit', '5');
    // Assess
    expect(code).toBe(1);
    expect(stderr).toContain(`${LOCAL_USER}mallory is not an approver of step askOps of execution ${id}: only alice, bob, operator may approve or deny it`);
    expect(refusals.refusals[0]).toMatchObject({ triggeredBy: `${LOCAL_USER}mallory`, reason: expect.stringContaining('only alice, bob, operator may approve or deny it') });
    expect((await status(id)).status).toBe('Waiting');
  });

  it('ends Cancelled with the sleeping step cancelled when a sleeping execution is cancelled', async () => {
    // Prepare
    const id = await start(runbookFile('long-nap.yaml', SLEEP_RUNBOOK));
    expect(await status(id)).toMatchObject({ status: 'InProgress', wakeAt: expect.any(String) });
    // Act
    await opsauto('runbook', 'cancel', id);
    await stage.cloud.settle();
    // Assess
    const ended = await status(id);
    expect(ended.status).toBe('Cancelled');
    expect(ended.steps.map((s) => [s.name, s.status])).toEqual([['nap', 'Cancelled']]);
  });

  it('follows the execution to its end when started with --wait', async () => {
    // Act
    const out = await opsauto('runbook', 'start', runbookFile('quick.yaml', SLEEP_RUNBOOK.replace('PT1H', 'PT0S')), '--wait');
    // Assess
    const id = /started execution (\S+)/.exec(out)![1];
    started.push(id);
    expect(out).toMatch(/^status\s+Success$/m);
    expect((await status(id)).status).toBe('Success');
  });

  it('prints each step and status as it changes while it waits, before the end', { timeout: 120_000 }, async () => {
    // Prepare: a nap of an hour, then a quick step; the CLI follows it while the test moves the clock.
    const file = runbookFile('nap-then-done.yaml', `${SLEEP_RUNBOOK}  - name: done\n    action: aws:sleep\n    inputs: { Duration: PT0S }\n`);
    const child = spawn(process.execPath, [BIN, '--endpoint', stage.cloud.url, 'runbook', 'start', file, '--wait'], { cwd: projectRoot });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Act: once the CLI has printed that the nap runs, an hour passes.
    let code: number | null = null;
    let seenBefore: string;
    let ended = false;
    void exited.then(() => (ended = true));
    try {
      // However long the CLI takes to start on a loaded machine (the test's timeout bounds it, not a count of polls).
      while (!ended && !/step nap InProgress/.test(out)) await new Promise((r) => setTimeout(r, 50));
      seenBefore = out;
      // The worker arms the nap's wake-up after it records the step: let it finish, then move on in 15-minute steps
      // until the CLI has seen the end (the hour's wake-up, and the worker's turn after it).
      await stage.cloud.settle();
      for (let i = 0; i < 12 && !ended; i++) {
        await stage.cloud.advance('15m');
        if (i >= 3) await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
      }
      code = await exited;
    } finally {
      child.kill();
    }
    // Assess: the nap was shown running while it ran; then each change once, in order, then the execution.
    const id = /started execution (\S+)/.exec(out)![1];
    started.push(id);
    expect(code).toBe(0);
    expect(seenBefore).toMatch(/^\S+Z  step nap InProgress$/m);
    expect(seenBefore).not.toMatch(/step nap Success/);
    const changes = out.split('\n').filter((l) => /^\d{4}-\S+Z  (execution|step) /.test(l)).map((l) => l.replace(/^\S+Z  /, ''));
    expect(changes.filter((l) => l !== 'execution Pending' && l !== 'step done Pending' && l !== 'step nap Pending')).toEqual([
      'execution InProgress',
      'step nap InProgress',
      'step nap Success',
      ...(changes.includes('step done InProgress') ? ['step done InProgress'] : []),
      'step done Success',
      'execution Success',
    ]);
    expect(out).toMatch(/^status\s+Success$/m);
  });

  it.each([
    ['resume', 'an execution waiting at aws:approve', () => ['resume'], /has no step waiting at aws:pause: it is at step askOps \(aws:approve, Waiting\)/],
    ['approve', 'an execution waiting at aws:approve, twice by one approver', () => ['approve', '--approver', 'bob'], /arn:aws:iam::000000000000:user\/bob has already decided at step askOps \(Approved\)/],
  ])('refuses %s when given %s', async (_name, _what, args, message) => {
    // Prepare
    const id = await start(runbookFile('approve-gate.yaml', APPROVE_RUNBOOK.replace('[alice, bob,', '[alice, bob, carol,').replace('Message:', 'MinRequiredApprovals: 2\n      Message:')));
    if (args()[0] === 'approve') await opsauto('runbook', 'approve', id, '--approver', 'bob');
    await stage.cloud.settle();
    // Act
    const { code, stderr } = await opsautoFails('runbook', ...args().slice(0, 1), id, ...args().slice(1));
    // Assess
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(message);
    expect((await status(id)).status).toBe('Waiting');
  });

  it('refuses to cancel an execution that has ended, and names an unknown execution', async () => {
    // Prepare
    const ended = started[0];
    // Act
    const cancel = await opsautoFails('runbook', 'cancel', ended);
    const unknown = await opsautoFails('runbook', 'status', 'no-such-execution');
    const unknownSignal = await opsautoFails('runbook', 'resume', 'no-such-execution');
    // Assess
    expect(cancel).toEqual({ code: 1, stdout: '', stderr: `opsauto: execution ${ended} has already ended (Success): nothing to cancel\n` });
    expect(unknown).toEqual({ code: 1, stdout: '', stderr: 'opsauto: no execution no-such-execution\n' });
    expect(unknownSignal).toEqual({ code: 1, stdout: '', stderr: 'opsauto: no execution no-such-execution\n' });
  });

  it('lists the executions newest first, a page at a time', async () => {
    // Act
    const page = await opsautoJson<ExecutionPage>('runbook', 'list', '--limit', '100');
    const text = await opsauto('runbook', 'list', '--limit', '2');
    // Assess
    expect(page.executions.map((e) => e.executionId)).toEqual([...started].reverse());
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^executionId\s+document\s+status\s+started\s+triggeredBy$/);
    expect(lines.slice(1, 3).map((l) => l.split(/\s+/)[0])).toEqual([...started].reverse().slice(0, 2));
    const next = /--next-token (\S+)/.exec(lines[3] ?? '')?.[1];
    expect(next).toBeDefined();
    const second = await opsautoJson<ExecutionPage>('runbook', 'list', '--limit', '2', '--next-token', next!);
    expect(second.executions.map((e) => e.executionId)).toEqual([...started].reverse().slice(2, 4));
  });

  it.each([
    [['--param', `InstanceId=i-0123456789abcdef0`, '--param', 'Colour=blue'], /^opsauto: --param: parameter Colour is not declared by the document$/],
    [['--param', 'InstanceId'], /^opsauto: --param: parameter assignment "InstanceId" is not of the form Name=Value$/],
    [['--targets', 'tag:env=demo', '--target-parameter-name', 'InstanceId', '--max-errors', 'lots'], /^opsauto: --max-errors "lots" must be a number of errors/],
    [['--targets', 'colour=blue', '--target-parameter-name', 'InstanceId'], /^opsauto: --targets: "colour=blue" does not start with a target key/],
    [['--targets', 'tag:env=demo', '--target-parameter-name', 'InstanceIds'], /^opsauto: --target-parameter-name: InstanceIds is not a parameter of the runbook/],
    [['--targets', 'tag:env=demo'], /^opsauto: --target-parameter-name: is required with --targets/],
  ])('exits 1 with one line naming the field and starts nothing when given %j', async (args, message) => {
    // Prepare
    const before = (await executions()).length;
    // Act
    const { code, stderr } = await opsautoFails('runbook', 'start', 'AWS-StopEC2Instance', ...args);
    // Assess
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr.trim()).toMatch(message);
    expect(await executions()).toHaveLength(before);
  });
});
