import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { defineConfig } from '@opsauto/core';
import { eventBusName } from '@opsauto/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';

// Who may ask the runbook engine to act, on the local stage: a `Runbook Execution Requested` event reaches the worker
// only from opsauto's own bus. On the default bus, which any principal allowed events:PutEvents can use, it starts
// nothing, whatever it asks for.

let stage: Stage;
let ec2: EC2Client;
let events: EventBridgeClient;

beforeAll(async () => {
  // Waits go to wake-ups on the virtual clock rather than holding the worker.
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  stage = await startStage({ config: defineConfig({ regions: ['us-east-1'] }), port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'base' }], instances: [{ image: 'base', type: 't3.micro', tags: { Name: 'victim' } }] } } });
  ec2 = new EC2Client(clientConfig(stage.cloud));
  events = new EventBridgeClient(clientConfig(stage.cloud));
});
afterAll(async () => {
  events.destroy();
  ec2.destroy();
  await stage.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
});

async function victim(): Promise<{ id: string; state: string }> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['victim'] }] }));
  const instance = out.Reservations![0].Instances![0];
  return { id: instance.InstanceId!, state: instance.State!.Name! };
}

/** A request to terminate the victim, as any producer would put it, on `bus` (absent: the default bus). */
async function requestTermination(instanceId: string, bus?: string) {
  const detail = { documentName: 'AWS-TerminateEC2Instance', parameters: { InstanceId: [instanceId] }, idempotencyKey: `probe-${bus ?? 'default'}` };
  const out = await events.send(
    new PutEventsCommand({
      Entries: [{ Source: 'opsauto.runbooks', DetailType: 'Runbook Execution Requested', Detail: JSON.stringify(detail), ...(bus ? { EventBusName: bus } : {}) }],
    }),
  );
  expect(out.FailedEntryCount).toBe(0);
  return out.Entries![0].EventId!;
}

describe('runbook requests on the local stage', () => {
  it('reaches no function and terminates nothing when a termination request is put on the default bus', async () => {
    // Prepare
    const { id } = await victim();
    const invocationsBefore = stage.cloud.lambda.invocations.length;

    // Act
    const eventId = await requestTermination(id);
    await stage.cloud.settle();
    await stage.cloud.advance('PT10M');

    // Assess
    const recorded = stage.cloud.bus.recent.find((e) => e.id === eventId);
    expect(recorded).toMatchObject({ eventBusName: 'default', matchedRules: [] });
    // The worker's own tick may run in these ten minutes; no rule invoked anything.
    expect(stage.cloud.lambda.invocations.slice(invocationsBefore).filter((i) => i.trigger.startsWith('rule ')).map((i) => i.function)).toEqual([]);
    expect((await victim()).state).toBe('running');
  });

  it("delivers the same request to runbook-worker when it is put on opsauto's bus", async () => {
    // Prepare
    const { id } = await victim();
    const invocationsBefore = stage.cloud.lambda.invocations.length;

    // Act
    const eventId = await requestTermination(id, eventBusName(stage.tableName));
    await stage.cloud.settle();

    // Assess: delivered; whether the worker then runs it is the worker's decision (allow-list), not the bus's.
    const recorded = stage.cloud.bus.recent.find((e) => e.id === eventId);
    expect(recorded).toMatchObject({ eventBusName: eventBusName(stage.tableName), matchedRules: ['runbook-worker.runbook-requested'] });
    expect(stage.cloud.lambda.invocations.slice(invocationsBefore).map((i) => [i.function, i.trigger])).toContainEqual(['runbook-worker', 'rule runbook-worker.runbook-requested']);
  });
});
