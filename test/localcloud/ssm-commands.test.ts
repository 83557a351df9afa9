import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeInstancesCommand, EC2Client, StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  DescribeInstancePatchStatesCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  type CommandInvocation,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { configureAgent, kickCommands, seedDocuments, type AgentSettings } from '../../packages/localcloud/src/services/ssm.js';
import { errorOf } from '../helpers/errors.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

// Run Command on localcloud through the real SSM client: the simulated agent answers each node's scripted outcome on
// the virtual clock. The figure: AWS-RunPatchBaseline Install over 20 nodes, MaxConcurrency 5, 2 nodes failing.

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const DOCS = join(import.meta.dirname, '../../packages/localcloud/aws-documents');
const COMMAND_DOCUMENTS = ['AWS-RunShellScript', 'AWS-RunPowerShellScript', 'AWS-RunPatchBaseline'].map((name) => ({
  name,
  content: readFileSync(join(DOCS, 'command', `${name}.json`), 'utf8'),
  documentType: 'Command' as const,
}));

let cloud: Localcloud;
let ssm: SSMClient;
let ec2: EC2Client;
let seq = 0;

beforeAll(async () => {
  cloud = await startTestCloud();
  seedDocuments(cloud.store, ACCOUNT, REGION, COMMAND_DOCUMENTS);
  seedDocuments(cloud.store, ACCOUNT, REGION, [{ name: 'AWS-StopEC2Instance', content: readFileSync(join(DOCS, 'AWS-StopEC2Instance.json'), 'utf8') }]);
  ssm = new SSMClient(clientConfig(cloud));
  ec2 = new EC2Client(clientConfig(cloud));
});
afterAll(async () => {
  ssm.destroy();
  ec2.destroy();
  await cloud.stop();
});

type Agent = AgentSettings;

/** New instances with the given agents (undefined: no agent), tagged with a fresh group tag; returns their ids. */
async function nodes(agents: (Agent | undefined)[], extraTags: Record<string, string> = {}): Promise<{ ids: string[]; group: string }> {
  const group = `g${++seq}`;
  cloud.seed({ regions: { [REGION]: { instances: agents.map((agent, i) => ({ tags: { Name: `${group}-${i}`, group, ...extraTags }, ...(agent ? { agent } : {}) })) } } });
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:group', Values: [group] }] }));
  const byName = new Map(out.Reservations!.flatMap((r) => r.Instances!).map((i) => [i.Tags!.find((t) => t.Key === 'Name')!.Value!, i.InstanceId!]));
  return { ids: agents.map((_, i) => byName.get(`${group}-${i}`)!), group };
}

const shell = (ids: string[], over: Record<string, unknown> = {}) =>
  ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: ids, Parameters: { commands: ['uptime'] }, ...over }));

async function invocations(commandId: string): Promise<CommandInvocation[]> {
  const out: CommandInvocation[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true, NextToken }));
    out.push(...(page.CommandInvocations ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

const commandOf = async (commandId: string) => (await ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands![0];

describe('localcloud Run Command', () => {
  it('runs AWS-RunShellScript on an online node and answers its output, with the shapes AWS answers', async () => {
    // Prepare
    const { ids } = await nodes([{ output: ' 10:00:00 up 3 days\n', durationSeconds: 4 }]);
    const sentAt = cloud.clock.nowMs();
    // Act
    const sent = (await shell(ids, { Comment: 'uptime check' })).Command!;
    const right = await commandOf(sent.CommandId!);
    await cloud.advance('5s');
    const done = await commandOf(sent.CommandId!);
    const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: sent.CommandId!, InstanceId: ids[0] }));
    const [listed] = await invocations(sent.CommandId!);
    // Assess
    expect(sent).toMatchObject({ DocumentName: 'AWS-RunShellScript', DocumentVersion: '$DEFAULT', Comment: 'uptime check', MaxConcurrency: '50', MaxErrors: '0', TimeoutSeconds: 3600, TargetCount: 1, InstanceIds: ids, Targets: [] });
    expect(sent.CommandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.ExpiresAfter!.getTime() - sentAt).toBeGreaterThanOrEqual(7200 * 1000);
    expect(sent.ExpiresAfter!.getTime() - sentAt).toBeLessThan(7200 * 1000 + 1000);
    expect(right).toMatchObject({ Status: 'InProgress', StatusDetails: 'InProgress', CompletedCount: 0 });
    expect(done).toMatchObject({ Status: 'Success', StatusDetails: 'Success', CompletedCount: 1, ErrorCount: 0, DeliveryTimedOutCount: 0 });
    expect(invocation).toMatchObject({ Status: 'Success', StatusDetails: 'Success', ResponseCode: 0, PluginName: 'aws:runShellScript', StandardOutputContent: ' 10:00:00 up 3 days\n', StandardErrorContent: '', ExecutionElapsedTime: 'PT4S' });
    expect(listed).toMatchObject({ InstanceId: ids[0], Status: 'Success', CommandPlugins: [{ Name: 'aws:runShellScript', Status: 'Success', ResponseCode: 0, Output: ' 10:00:00 up 3 days\n' }] });
  });

  it('reports a failing node with its exit code and standard error, and fails the command when MaxErrors is 0', async () => {
    // Prepare
    const { ids } = await nodes([{ result: 'failure', exitCode: 2, output: 'checking\n', error: 'disk full' }]);
    // Act
    const { CommandId } = (await shell(ids)).Command!;
    await cloud.advance('10s');
    // Assess
    expect(await commandOf(CommandId!)).toMatchObject({ Status: 'Failed', StatusDetails: 'Failed', ErrorCount: 1, CompletedCount: 1 });
    const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId: ids[0] }));
    expect(invocation).toMatchObject({ Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 2, StandardOutputContent: 'checking\n', StandardErrorContent: 'disk full' });
    expect((await invocations(CommandId!))[0].CommandPlugins![0].Output).toBe('checking\n----------ERROR-------\ndisk full');
  });

  it('times a run out at the document\'s executionTimeout: TimedOut, ExecutionTimedOut', async () => {
    // Prepare
    const { ids } = await nodes([{ result: 'timeout' }]);
    // Act
    const { CommandId } = (await shell(ids, { Parameters: { commands: ['sleep 999'], executionTimeout: ['60'] } })).Command!;
    await cloud.advance('59s');
    const running = await commandOf(CommandId!);
    await cloud.advance('2s');
    // Assess
    expect(running.Status).toBe('InProgress');
    expect(await commandOf(CommandId!)).toMatchObject({ Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut', ErrorCount: 1 });
    expect(await ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId: ids[0] }))).toMatchObject({ Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut', ExecutionElapsedTime: 'PT1M' });
  });

  it('shows offline, stopped and agentless nodes as AWS does, refuses them by id and marks them Undeliverable by tag', async () => {
    // Prepare
    const { ids, group } = await nodes([{}, { status: 'offline' }, undefined, {}, {}]);
    const [online, offline, agentless, stopped, terminated] = ids;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [stopped] }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [terminated] }));
    await cloud.advance('1m');
    // Act
    const info = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'tag:group', Values: [group] }] }));
    const byId = await errorOf(shell([online, offline]));
    const agentlessById = await errorOf(shell([agentless]));
    const byTag = (await ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', Targets: [{ Key: 'tag:group', Values: [group] }], Parameters: { commands: ['id'] } }))).Command!;
    await cloud.advance('10s');
    // Assess
    const ping = Object.fromEntries(info.InstanceInformationList!.map((i) => [i.InstanceId, i.PingStatus]));
    expect(ping).toEqual({ [online]: 'Online', [offline]: 'ConnectionLost', [stopped]: 'ConnectionLost' });
    expect(info.InstanceInformationList!.find((i) => i.InstanceId === online)).toMatchObject({ ResourceType: 'EC2Instance', PlatformType: 'Linux', SourceType: 'AWS::EC2::Instance' });
    expect(byId).toMatchObject({ name: 'InvalidInstanceId', message: expect.stringContaining(`Instances [[${offline}]] not in a valid state`) });
    expect(agentlessById.name).toBe('InvalidInstanceId');
    expect(byTag.TargetCount).toBe(3);
    const statuses = Object.fromEntries((await invocations(byTag.CommandId!)).map((i) => [i.InstanceId, i.StatusDetails]));
    expect(statuses).toEqual({ [online]: 'Success', [offline]: 'Undeliverable', [stopped]: 'Undeliverable' });
    expect(await commandOf(byTag.CommandId!)).toMatchObject({ Status: 'Success', ErrorCount: 0 });
  });

  it('lists a hybrid mi- node beside EC2 nodes and runs a command on it', async () => {
    // Prepare
    const { ActivationId, ActivationCode } = await ssm.send(new (await import('@aws-sdk/client-ssm')).CreateActivationCommand({ IamRole: 'SSMServiceRole' }));
    const { registerManagedInstance } = await import('../../packages/localcloud/src/services/ssm.js');
    const { instanceId } = registerManagedInstance(cloud.store, ACCOUNT, REGION, ActivationId!, ActivationCode!, { hostname: 'db-01' });
    configureAgent(cloud.store, ACCOUNT, REGION, instanceId, { output: 'db-01\n' }, cloud.clock.nowMs());
    // Act
    const info = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }));
    const { CommandId } = (await shell([instanceId])).Command!;
    await cloud.advance('10s');
    // Assess
    expect(info.InstanceInformationList).toMatchObject([{ InstanceId: instanceId, PingStatus: 'Online', ResourceType: 'ManagedInstance', ComputerName: 'db-01' }]);
    expect(await ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId: instanceId }))).toMatchObject({ Status: 'Success', StandardOutputContent: 'db-01\n' });
  });

  it('answers AWS\'s error codes for a bad request, and refuses what it does not emulate naming it', async () => {
    // Prepare
    const { ids } = await nodes([{}]);
    // Act
    const errors = await Promise.all([
      errorOf(ssm.send(new SendCommandCommand({ DocumentName: 'Team-Nothing', InstanceIds: ids }))),
      errorOf(ssm.send(new SendCommandCommand({ DocumentName: 'AWS-StopEC2Instance', InstanceIds: ids }))),
      errorOf(shell(ids, { Parameters: { commandz: ['x'] } })),
      errorOf(shell(ids, { Parameters: {} })),
      errorOf(shell(ids, { MaxErrors: '-1' })),
      errorOf(shell(ids, { MaxConcurrency: '0' })),
      errorOf(shell(ids, { TimeoutSeconds: 10 })),
      errorOf(shell(ids, { OutputS3BucketName: 'logs' })),
      errorOf(shell([ids[0], ids[0]])),
      errorOf(shell(ids, { Targets: [{ Key: 'resource-groups:Name', Values: ['web'] }], InstanceIds: undefined })),
      errorOf(ssm.send(new GetCommandInvocationCommand({ CommandId: '00000000-0000-0000-0000-000000000000', InstanceId: ids[0] }))),
      errorOf(ssm.send(new ListCommandsCommand({ CommandId: '00000000-0000-0000-0000-000000000000' }))),
      errorOf(ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: [] }))),
    ]);
    // Assess
    expect(errors.map((e) => e.name)).toEqual([
      'InvalidDocument',
      'InvalidDocument',
      'InvalidParameters',
      'InvalidParameters',
      'ValidationException',
      'ValidationException',
      'ValidationException',
      'ValidationException',
      'DuplicateInstanceId',
      'ValidationException',
      'InvocationDoesNotExist',
      'InvalidCommandId',
      'ValidationException',
    ]);
    expect(errors[3].message).toContain('requires parameter commands');
    expect(errors[7].message).toContain('OutputS3BucketName');
    expect(errors[9].message).toContain('resource groups');
  });

  it('cancels a running command: Cancelling at once, Cancelled when the node has stopped it', async () => {
    // Prepare
    const { ids } = await nodes([{ durationSeconds: 600 }, { durationSeconds: 600 }]);
    const { CommandId } = (await shell(ids, { MaxConcurrency: '1' })).Command!;
    await cloud.advance('10s');
    // Act
    await ssm.send(new CancelCommandCommand({ CommandId }));
    const cancelling = await commandOf(CommandId!);
    await cloud.advance('2s');
    // Assess
    expect(cancelling).toMatchObject({ Status: 'Cancelling', StatusDetails: 'Cancelling' });
    expect(await commandOf(CommandId!)).toMatchObject({ Status: 'Cancelled', StatusDetails: 'Cancelled', CompletedCount: 2 });
    expect((await invocations(CommandId!)).map((i) => i.Status)).toEqual(['Cancelled', 'Cancelled']);
  });

  it('delays a node whose agent went offline after the command was sent, and times its delivery out', async () => {
    // Prepare: two nodes one at a time; the second goes offline while it waits its turn.
    const { ids } = await nodes([{ durationSeconds: 10 }, {}]);
    const { CommandId } = (await shell(ids, { MaxConcurrency: '1', TimeoutSeconds: 60 })).Command!;
    configureAgent(cloud.store, ACCOUNT, REGION, ids[1], { status: 'offline' }, cloud.clock.nowMs());
    // Act
    await cloud.advance('11s');
    const delayed = await ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId: ids[1] }));
    await cloud.advance('1m');
    // Assess
    expect(delayed).toMatchObject({ Status: 'Delayed', StatusDetails: 'Delayed' });
    expect(await ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId: ids[1] }))).toMatchObject({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', ResponseCode: -1 });
    expect(await commandOf(CommandId!)).toMatchObject({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', DeliveryTimedOutCount: 1, ErrorCount: 0 });
  });

  it('sends a delayed node the command once its agent is back before the delivery timeout', async () => {
    // Prepare
    const { ids } = await nodes([{ durationSeconds: 10 }, {}]);
    const { CommandId } = (await shell(ids, { MaxConcurrency: '1' })).Command!;
    configureAgent(cloud.store, ACCOUNT, REGION, ids[1], { status: 'offline' }, cloud.clock.nowMs());
    await cloud.advance('11s');
    // Act
    configureAgent(cloud.store, ACCOUNT, REGION, ids[1], { status: 'online' }, cloud.clock.nowMs());
    kickCommands(cloud, ACCOUNT, REGION);
    await cloud.advance('10s');
    // Assess
    expect(await commandOf(CommandId!)).toMatchObject({ Status: 'Success', CompletedCount: 2 });
  });
});

describe('AWS-RunPatchBaseline over a fleet with rate control', () => {
  /** Each invocation's run, from the plugin that ran (the other platforms' steps are skipped at once). */
  function runs(list: CommandInvocation[]): { id: string; start: number; end: number; status: string }[] {
    return list.map((inv) => {
      const ran = inv.CommandPlugins!.find((p) => p.Name === 'PatchLinux')!;
      return { id: inv.InstanceId!, start: ran.ResponseStartDateTime?.getTime() ?? NaN, end: ran.ResponseFinishDateTime?.getTime() ?? NaN, status: inv.StatusDetails! };
    });
  }

  /** The most runs in progress at one time, from their recorded start and end times. */
  function peak(intervals: { start: number; end: number }[]): number {
    const edges = intervals.flatMap((r) => [{ at: r.start, d: 1 }, { at: r.end, d: -1 }]).sort((a, b) => a.at - b.at || a.d - b.d);
    let now = 0;
    let max = 0;
    for (const e of edges) max = Math.max(max, (now += e.d));
    return max;
  }

  const fleet = (failing: number[]) =>
    nodes(
      Array.from({ length: 20 }, (_, i) => ({
        patches: { installed: 100, missing: 4 },
        ...(failing.includes(i) ? { documents: { 'AWS-RunPatchBaseline': { result: 'failure' as const, exitCode: 1, durationSeconds: 90 } } } : {}),
      })),
      { 'Patch Group': 'web' },
    );

  const patch = (group: string, maxErrors: string) =>
    ssm.send(
      new SendCommandCommand({ DocumentName: 'AWS-RunPatchBaseline', Targets: [{ Key: 'tag:group', Values: [group] }], Parameters: { Operation: ['Install'] }, MaxConcurrency: '5', MaxErrors: maxErrors }),
    );

  it('patches 20 nodes 5 at a time; 2 failing nodes within MaxErrors leave the command Incomplete and their patch states Failed', async () => {
    // Prepare
    const { ids, group } = await fleet([3, 12]);
    // Act
    const { CommandId } = (await patch(group, '3')).Command!;
    let observedPeak = 0;
    for (let i = 0; i < 12; i++) {
      observedPeak = Math.max(observedPeak, (await invocations(CommandId!)).filter((inv) => inv.Status === 'InProgress').length);
      await cloud.advance('30s');
    }
    const list = await invocations(CommandId!);
    const states = await ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: ids }));
    // Assess
    const recorded = runs(list);
    const byStatus = (s: string) => recorded.filter((r) => r.status === s).map((r) => r.id).sort();
    expect(byStatus('Success')).toEqual(ids.filter((_, i) => i !== 3 && i !== 12).sort());
    expect(byStatus('Failed')).toEqual([ids[3], ids[12]].sort());
    expect(peak(recorded)).toBe(5);
    expect(observedPeak).toBeLessThanOrEqual(5);
    expect(await commandOf(CommandId!)).toMatchObject({ Status: 'Failed', StatusDetails: 'Incomplete', TargetCount: 20, CompletedCount: 20, ErrorCount: 2 });
    expect(list[0].CommandPlugins!.map((p) => `${p.Name}:${p.Status}`)).toEqual(['PatchWindows:Success', 'PatchLinux:Success', 'PatchMacOS:Success']);
    expect(list[0].CommandPlugins![0].Output).toContain('Step execution skipped due to unsatisfied preconditions');
    const patchStates = new Map(states.InstancePatchStates!.map((s) => [s.InstanceId, s]));
    expect(patchStates.size).toBe(20);
    expect(patchStates.get(ids[0])).toMatchObject({ Operation: 'Install', PatchGroup: 'web', InstalledCount: 104, MissingCount: 0, FailedCount: 0, BaselineId: expect.stringMatching(/^pb-[0-9a-f]{17}$/) });
    expect(patchStates.get(ids[3])).toMatchObject({ Operation: 'Install', InstalledCount: 103, MissingCount: 0, FailedCount: 1 });
    expect(patchStates.get(ids[0])!.OperationEndTime!.getTime() - patchStates.get(ids[0])!.OperationStartTime!.getTime()).toBe(60_000);
  });

  it('stops sending once failures exceed MaxErrors: the rest end Terminated and the command Failed', async () => {
    // Prepare: the first three nodes fail; MaxErrors 1 allows one failure.
    const { ids, group } = await fleet([0, 1, 2]);
    // Act
    const { CommandId } = (await patch(group, '1')).Command!;
    await cloud.advance('10m');
    const list = await invocations(CommandId!);
    // Assess
    // Successes take 60 s, failures 90 s: at 60 s nodes 3 and 4 succeed and 5 and 6 start; at 90 s the first failure
    // (within MaxErrors 1) frees a slot for node 7, the second exceeds MaxErrors and nothing else is sent.
    const recorded = runs(list);
    const failures = recorded.filter((r) => r.status === 'Failed').map((r) => r.end).sort((a, b) => a - b);
    const started = recorded.filter((r) => !Number.isNaN(r.start));
    const terminated = list.filter((i) => i.StatusDetails === 'Terminated');
    expect(failures.length).toBe(3);
    expect(started.length).toBe(8);
    expect(terminated.length).toBe(12);
    expect(terminated.every((i) => i.Status === 'Cancelled')).toBe(true);
    expect(started.filter((r) => r.start > failures[0])).toEqual([]);
    expect(started.every((r) => r.end - r.start <= 90_000)).toBe(true);
    expect(await commandOf(CommandId!)).toMatchObject({ Status: 'Failed', StatusDetails: 'Failed', ErrorCount: 3, CompletedCount: 20 });
    const states = await ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: ids }));
    expect(states.InstancePatchStates!.length).toBe(8);
  });
});

describe('Run Command across a restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-commands-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));

  it('finishes a command sent before the restart: its timers are armed again from the saved state', async () => {
    // Prepare
    let commandId: string;
    let instanceId: string;
    {
      const first = await startTestCloud({ dataDir });
      seedDocuments(first.store, ACCOUNT, REGION, COMMAND_DOCUMENTS);
      first.seed({ regions: { [REGION]: { instances: [{ tags: { Name: 'kept' }, agent: { durationSeconds: 30, output: 'ok' } }] } } });
      const client = new SSMClient(clientConfig(first));
      instanceId = (await client.send(new DescribeInstanceInformationCommand({}))).InstanceInformationList![0].InstanceId!;
      commandId = (await client.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [instanceId], Parameters: { commands: ['true'] } }))).Command!.CommandId!;
      client.destroy();
      await first.stop();
    }
    // Act
    const second = await startTestCloud({ dataDir });
    const client = new SSMClient(clientConfig(second));
    const pending = second.clock.pendingTimers;
    await second.advance('1m');
    const invocation = await client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    client.destroy();
    await second.stop();
    // Assess
    expect(pending).toBeGreaterThan(0);
    expect(invocation).toMatchObject({ Status: 'Success', StandardOutputContent: 'ok' });
  });
});
