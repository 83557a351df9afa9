import { randomUUID } from 'node:crypto';
import { CreateDocumentCommand, DescribeInstancePatchStatesCommand, DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { AwsActionRunner } from '@opsauto/aws/runbooks';
import { defineConfig, executionIdFor, type ActionContext, type Execution } from '@opsauto/core';
import { eventBusName } from '@opsauto/functions';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';

// aws:runCommand end to end: a runbook of the account's own, run by the runbook-worker on the local stage, sends Run
// Command to nodes whose simulated agents answer on the virtual clock (every wait left to a wake-up).

const config = defineConfig({ regions: ['us-east-1'] });
config.runbooks.allowedRunbooks = [...config.runbooks.allowedRunbooks, 'Team-Uptime', 'Team-PatchFleet'];
let stage: Stage;
let store: DynamoExecutionStore;
let ssm: SSMClient;
let seq = 0;

const UPTIME = `schemaVersion: '0.3'
parameters:
  InstanceIds: { type: StringList }
mainSteps:
  - name: uptime
    action: aws:runCommand
    inputs:
      DocumentName: AWS-RunShellScript
      InstanceIds: '{{ InstanceIds }}'
      Parameters: { commands: [uptime] }
  - name: tagChecked
    action: aws:createTags
    inputs: { ResourceIds: '{{ InstanceIds }}', Tags: [{ Key: checked, Value: '{{ uptime.Status }}' }] }
outputs: [uptime.Output, uptime.CommandId]
`;

const PATCH = `schemaVersion: '0.3'
parameters:
  Group: { type: String }
mainSteps:
  - name: patch
    action: aws:runCommand
    inputs:
      DocumentName: AWS-RunPatchBaseline
      Targets: [{ Key: 'tag:group', Values: ['{{ Group }}'] }]
      Parameters: { Operation: Install }
      MaxConcurrency: '5'
      MaxErrors: '0'
`;

beforeAll(async () => {
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed({
    regions: {
      'us-east-1': {
        instances: [
          { tags: { Name: 'web-1', group: 'web' }, agent: { output: ' 10:00:00 up 3 days\n' } },
          { tags: { Name: 'web-2', group: 'web' }, agent: { documents: { 'AWS-RunPatchBaseline': { result: 'failure', exitCode: 1 } } } },
          ...Array.from({ length: 6 }, (_, i) => ({ tags: { Name: `db-${i}`, group: 'db' }, agent: { patches: { installed: 50, missing: 2 } } })),
        ],
      },
    },
  });
  store = new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName);
  ssm = new SSMClient(clientConfig(stage.cloud));
  await ssm.send(new CreateDocumentCommand({ Name: 'Team-Uptime', DocumentType: 'Automation', DocumentFormat: 'YAML', Content: UPTIME }));
  await ssm.send(new CreateDocumentCommand({ Name: 'Team-PatchFleet', DocumentType: 'Automation', DocumentFormat: 'YAML', Content: PATCH }));
});
afterAll(async () => {
  ssm.destroy();
  await stage.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
});
beforeEach(() => stage.cloud.calls.reset());

async function request(detail: Record<string, unknown>): Promise<string> {
  const idempotencyKey = `run-command-${++seq}`;
  const out = await new EventBridgeClient(clientConfig(stage.cloud)).send(
    new PutEventsCommand({ Entries: [{ Source: 'opsauto.runbooks', DetailType: 'Runbook Execution Requested', Detail: JSON.stringify({ ...detail, idempotencyKey }), EventBusName: eventBusName(stage.tableName) }] }),
  );
  expect(out.FailedEntryCount).toBe(0);
  await stage.cloud.settle();
  return executionIdFor(idempotencyKey);
}

async function execution(id: string): Promise<Execution> {
  const loaded = await store.get(id);
  if (!loaded) throw new Error(`no execution ${id}; worker failures: ${JSON.stringify(stage.cloud.lambda.failures)}`);
  return loaded.execution;
}

async function nodeId(name: string): Promise<string> {
  const info = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'tag:Name', Values: [name] }] }));
  return info.InstanceInformationList![0].InstanceId!;
}

const calls = (operation: string) => stage.cloud.calls.snapshot().ssm?.[operation] ?? 0;

describe('aws:runCommand on the local stage', () => {
  it('runs a shell command on one node, waits for it, and passes its Status and Output to the next step', async () => {
    // Prepare
    const web1 = await nodeId('web-1');
    // Act
    const id = await request({ documentName: 'Team-Uptime', parameters: { InstanceIds: [web1] } });
    const waiting = await execution(id);
    await stage.cloud.advance('1m');
    // Assess
    expect(waiting.status).toBe('InProgress');
    const done = await execution(id);
    expect(done.status, done.failureMessage).toBe('Success');
    expect(done.steps[0]?.outputs).toMatchObject({ Status: 'Success', ResponseCode: 0, Output: ' 10:00:00 up 3 days\n', CommandId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(done.outputs).toMatchObject({ 'uptime.Output': ' 10:00:00 up 3 days\n' });
    expect(calls('SendCommand')).toBe(1);
  });

  it('patches a group 5 at a time through AWS-RunPatchBaseline and leaves every node compliant', async () => {
    // Prepare
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => nodeId(`db-${i}`)));
    // Act
    const id = await request({ documentName: 'Team-PatchFleet', parameters: { Group: 'db' } });
    await stage.cloud.advance('5m');
    // Assess
    const done = await execution(id);
    expect(done.status, done.failureMessage).toBe('Success');
    expect(done.steps[0]?.outputs).toMatchObject({ Status: 'Success' });
    expect(done.steps[0]?.outputs).not.toHaveProperty('Output');
    const states = (await ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: ids }))).InstancePatchStates!;
    expect(states.map((s) => `${s.Operation}:${s.InstalledCount}:${s.MissingCount}`)).toEqual(Array(6).fill('Install:52:0'));
  });

  it('fails the step naming the node, its status and exit code when the command fails on it', async () => {
    // Act
    const id = await request({ documentName: 'Team-PatchFleet', parameters: { Group: 'web' } });
    await stage.cloud.advance('5m');
    // Assess
    const done = await execution(id);
    expect(done.status).toBe('Failed');
    expect(done.failureMessage).toMatch(/^Step patch failed: Command [0-9a-f-]{36} \(AWS-RunPatchBaseline\) ended Failed \(Failed\) on 2 node\(s\): i-[0-9a-f]+ Failed \(ResponseCode 1\)/);
  });

  it('sends the command once when a resumed attempt starts the step again', async () => {
    // Prepare: the runner as the worker uses it, started twice with the same attempt (a worker that died after SendCommand).
    const web1 = await nodeId('web-1');
    const runner = new AwsActionRunner(new AwsClients('us-east-1', clientConfig(stage.cloud)), { settings: clientConfig(stage.cloud), pollIntervalMs: 10_000, now: () => stage.cloud.clock.nowMs() });
    const executionId = randomUUID();
    const context: ActionContext = { executionId, stepName: 'uptime', attempt: 1, accountId: '000000000000', region: 'us-east-1', idempotencyToken: `${executionId}:0:1`, now: () => stage.cloud.clock.now() };
    const inputs = { DocumentName: 'AWS-RunShellScript', InstanceIds: [web1], Parameters: { commands: ['uptime'] }, Comment: 'nightly check' };
    // Act
    const first = await runner.start('aws:runCommand', inputs, context);
    const again = await runner.start('aws:runCommand', inputs, context);
    // Assess
    expect(calls('SendCommand')).toBe(1);
    expect(first.kind).toBe('waiting');
    expect(again).toMatchObject({ kind: 'waiting', state: (first as { state: unknown }).state });
  });
});
