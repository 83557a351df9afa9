import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { defineConfig, executionIdFor } from '@opsauto/core';
import { eventBusName } from '@opsauto/functions';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';
import { captureMetrics } from '../helpers/metrics.js';

// The runbook worker's metrics, from executions it runs on the local stage with metrics turned on
// (POWERTOOLS_METRICS_DISABLED=false; the stage leaves them off by default).

let stage: Stage;
let store: DynamoExecutionStore;
let seq = 0;
const metrics = captureMetrics();

beforeAll(async () => {
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  stage = await startStage({ config: defineConfig({ regions: ['us-east-1'] }), port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'base' }], instances: [{ image: 'base', type: 't3.micro', tags: { Name: 'solo' } }] } } });
  store = new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName);
});
afterAll(async () => {
  metrics.restore();
  await stage.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
});
beforeEach(() => metrics.clear());

/** Asks for an execution on opsauto's bus, as its producers do; returns its ID. */
async function request(detail: Record<string, unknown>): Promise<string> {
  const idempotencyKey = `metrics-${++seq}`;
  await new EventBridgeClient(clientConfig(stage.cloud)).send(
    new PutEventsCommand({ Entries: [{ Source: 'opsauto.runbooks', DetailType: 'Runbook Execution Requested', Detail: JSON.stringify({ ...detail, idempotencyKey }), EventBusName: eventBusName(stage.tableName) }] }),
  );
  await stage.cloud.settle();
  return executionIdFor(idempotencyKey);
}

describe('runbook worker metrics', () => {
  it('counts a started and a succeeded execution, and one StepDuration per step as each ends, in namespace opsauto for stage local', async () => {
    // Prepare
    const out = await new EC2Client(clientConfig(stage.cloud)).send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['solo'] }] }));
    const instanceId = out.Reservations![0].Instances![0].InstanceId!;
    // Act
    const id = await request({ documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: [instanceId] } });
    await stage.cloud.advance('1m');
    // Assess
    const execution = (await store.get(id))!.execution;
    expect(execution.status).toBe('Success');
    const durations = execution.steps.map((s) => Date.parse(s.endedAt!) - Date.parse(s.startedAt!));
    const values = metrics.values();
    expect(values).toMatchObject({ ExecutionsStarted: [1], ExecutionsSucceeded: [1], StepDuration: durations });
    expect(values.ExecutionsFailed).toBeUndefined();
    const doc = metrics.documents().find((d) => 'ExecutionsSucceeded' in d)!;
    expect(doc).toMatchObject({ service: 'opsauto', stage: 'local' });
    expect(doc._aws.CloudWatchMetrics[0].Metrics).toEqual(expect.arrayContaining([{ Name: 'StepDuration', Unit: 'Milliseconds' }, { Name: 'ExecutionsSucceeded', Unit: 'Count' }]));
  });

  it('counts ExecutionsFailed for an execution that ends Failed', async () => {
    // Act: an instance that does not exist fails the first step.
    const id = await request({ documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: ['i-0123456789abcdef0'] } });
    await stage.cloud.advance('1m');
    // Assess
    expect((await store.get(id))!.execution.status).toBe('Failed');
    expect(metrics.values()).toMatchObject({ ExecutionsStarted: [1], ExecutionsFailed: [1] });
    expect(metrics.values().ExecutionsSucceeded).toBeUndefined();
  });
});
