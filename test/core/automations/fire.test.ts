import { describe, expect, it } from 'vitest';
import { defineConfig, fireAutomation, InMemoryExecutionStore, parseRunbook, type FireDeps, type RemediationRecord } from '@opsauto/core';

const T0 = new Date('2027-01-04T08:00:00.000Z');

const [automation] = defineConfig({
  automations: [{ name: 'bucket-events', runbook: 'Team-Bucket', parameters: { BucketName: '{{ event.detail.bucket }}' }, trigger: { event: { source: ['team.app'] } } }],
}).automations;

function deps(): FireDeps & { store: InMemoryExecutionStore; dispatched: string[] } {
  const store = new InMemoryExecutionStore();
  const dispatched: string[] = [];
  const runbook = parseRunbook(`schemaVersion: '0.3'\nparameters:\n  BucketName: { type: String }\nmainSteps:\n  - { name: s, action: aws:sleep, inputs: { Duration: PT1S } }\n`, { name: 'Team-Bucket' });
  const remediations: RemediationRecord[] = [];
  return {
    accountId: '000000000000',
    region: 'us-east-1',
    policy: { allowedRunbooks: ['Team-Bucket'], assumeRoles: [], defaultRoleArn: 'arn:aws:iam::000000000000:role/opsauto-test-runbook-bucket-events' },
    loadRunbook: (name) => Promise.resolve({ name, runbook }),
    findInstances: () => Promise.resolve([]),
    store,
    remediations: { record: (r) => (remediations.push(r), Promise.resolve('recorded')), listByResource: () => Promise.resolve(remediations) },
    dispatch: (ids) => (dispatched.push(...ids), Promise.resolve()),
    clock: { now: () => T0 },
    newId: () => 'id-1',
    dispatched,
  };
}

const event = (detail: Record<string, unknown>, id = 'e-1') => ({ version: '0', id, 'detail-type': 'Bucket Changed', source: 'team.app', account: '000000000000', time: T0.toISOString(), region: 'us-east-1', resources: [], detail });

describe('fireAutomation', () => {
  it('starts one execution per event, and nothing new when the same event comes again', async () => {
    // Prepare
    const d = deps();
    // Act
    const first = await fireAutomation(automation, { kind: 'event', event: event({ bucket: 'logs' }) }, d);
    const again = await fireAutomation(automation, { kind: 'event', event: event({ bucket: 'logs' }) }, d);
    // Assess
    expect(first).toEqual([{ automation: 'bucket-events', executionId: expect.any(String), created: true }]);
    expect(again).toEqual([{ automation: 'bucket-events', executionId: (first[0] as { executionId: string }).executionId, created: false }]);
    expect((await d.store.get((first[0] as { executionId: string }).executionId))?.execution.parameters).toMatchObject({ BucketName: 'logs' });
  });

  it('refuses, and records the refusal of, an event that lacks what a parameter reads, without throwing (a retry would be refused again)', async () => {
    // Prepare
    const d = deps();
    // Act
    const result = await fireAutomation(automation, { kind: 'event', event: event({ other: 'x' }, 'e-2') }, d);
    // Assess
    expect(result).toEqual([{ automation: 'bucket-events', refused: 'parameter BucketName: the event has nothing at detail.bucket' }]);
    expect(await d.store.listRefusals()).toMatchObject([{ documentName: 'Team-Bucket', triggeredBy: 'automation:bucket-events', reason: 'parameter BucketName: the event has nothing at detail.bucket' }]);
    expect(d.dispatched).toEqual([]);
  });
});
