import { describe, expect, it } from 'vitest';
import { checkSignal, ForbiddenError, signalExecution, type OutboxEntry } from '@opsauto/core';
import { doc, FakeActions, harness } from './engine-harness.js';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:AutomationApproval';
const ROLE = 'arn:aws:iam::111122223333:role/opsauto-local-runbook-cli';
const api = (name: string) => ({ name, action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeInstances' } });
const notifications = (published: OutboxEntry[]) => published.filter((e) => e.notification);

describe('runbook engine: aws:approve', () => {
  it('publishes the approval request to NotificationArn once per step attempt, as the execution role, whatever the turns and retries', async () => {
    // Prepare: two attempts (a rejection fails the first); non-approvers' signals and a failed publish add turns.
    const h = harness();
    const runbook = doc([
      {
        name: 'approve',
        action: 'aws:approve',
        maxAttempts: 2,
        inputs: { NotificationArn: TOPIC, Message: 'Stop the web tier?', Approvers: ['alice', 'arn:aws:iam::111122223333:role/Ops'], MinRequiredApprovals: 1 },
      },
      api('after'),
    ]);
    const ex = await h.start({ runbook, roleArn: ROLE });
    let failPublish = true;
    const publish = h.deps.publish.bind(h.deps);
    h.deps.publish = (entries) => {
      if (failPublish) {
        failPublish = false;
        return Promise.reject(new Error('SNS is down'));
      }
      return publish(entries);
    };
    // Act
    await h.drain(60_000);
    const at = () => new Date(h.now()).toISOString();
    for (let i = 0; i < 3; i++) {
      await signalExecution(ex.executionId, { kind: 'Approve', at: at(), approver: `mallory-${i}` }, h.deps);
      await h.drain(60_000);
    }
    const beforeDecision = await h.get(ex.executionId);
    await signalExecution(ex.executionId, { kind: 'Reject', at: at(), approver: 'alice' }, h.deps);
    await h.drain(120_000);
    await signalExecution(ex.executionId, { kind: 'Approve', at: at(), approver: 'arn:aws:sts::111122223333:assumed-role/Ops/bob' }, h.deps);
    await h.drain(180_000);
    // Assess: one request per attempt (the failed publish was retried with the same ID), sent as the execution role.
    const sent = notifications(h.published);
    expect(new Set(sent.map((e) => e.id)).size).toBe(2);
    expect(sent.map((e) => e.detail.Attempt)).toEqual([1, 2]);
    expect(sent[0]?.notification).toMatchObject({ topicArn: TOPIC, roleArn: ROLE, subject: 'Approval needed: test at approve' });
    expect(sent[0]?.notification?.message).toContain('Stop the web tier?');
    expect(sent[0]?.notification?.message).toContain(`opsauto runbook approve ${ex.executionId}`);
    expect(sent[0]?.notification?.message).toContain(`opsauto runbook deny ${ex.executionId}`);
    expect(sent[0]?.notification?.message).toContain('Approvers: alice, arn:aws:iam::111122223333:role/Ops (1 approval needed');
    expect(beforeDecision.status).toBe('Waiting');
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Success');
    expect(done.steps.map((s) => `${s.name}:${s.status}:${s.attempt}`)).toEqual(['approve:Failed:1', 'approve:Success:2', 'after:Success:1']);
    // The non-approvers' signals counted for nothing and were recorded.
    const refusals = await h.store.listRefusals();
    expect(refusals.map((r) => r.triggeredBy).sort()).toEqual(['mallory-0', 'mallory-1', 'mallory-2']);
    expect(refusals[0]?.reason).toMatch(/^mallory-\d is not an approver of step approve of execution .*: only alice, arn:aws:iam::111122223333:role\/Ops may approve or deny it$/);
  });

  it('refuses a decision from anyone not listed, naming who may decide; an assumed-role session of a listed role may', async () => {
    // Prepare
    const h = harness();
    const runbook = doc([{ name: 'approve', action: 'aws:approve', inputs: { Approvers: ['arn:aws:iam::111122223333:role/Ops', 'arn:aws:iam::111122223333:user/alice'] } }, api('after')]);
    const ex = await h.start({ runbook });
    await h.drain(60_000);
    const waiting = await h.get(ex.executionId);
    // Act / Assess
    expect(checkSignal(waiting, 'Approve', 'arn:aws:sts::111122223333:assumed-role/Ops/alice-session')?.name).toBe('approve');
    expect(checkSignal(waiting, 'Reject', 'alice')?.name).toBe('approve');
    expect(() => checkSignal(waiting, 'Approve', 'arn:aws:iam::111122223333:user/mallory')).toThrow(ForbiddenError);
    expect(() => checkSignal(waiting, 'Approve', 'arn:aws:sts::999999999999:assumed-role/Ops/x')).toThrow(
      `arn:aws:sts::999999999999:assumed-role/Ops/x is not an approver of step approve of execution ${ex.executionId}: only arn:aws:iam::111122223333:role/Ops, arn:aws:iam::111122223333:user/alice may approve or deny it`,
    );
    expect(() => checkSignal(waiting, 'Approve', 'Ops-admin')).toThrow(ForbiddenError);
  });

  it('needs MinRequiredApprovals distinct approvers and counts a second decision of one approver once', async () => {
    // Prepare
    const h = harness();
    const runbook = doc([{ name: 'approve', action: 'aws:approve', inputs: { Approvers: ['alice', 'bob', 'carol'], MinRequiredApprovals: 2 } }, api('after')]);
    const ex = await h.start({ runbook });
    await h.drain(60_000);
    const at = () => new Date(h.now()).toISOString();
    // Act
    await signalExecution(ex.executionId, { kind: 'Approve', at: at(), approver: 'alice' }, h.deps);
    await signalExecution(ex.executionId, { kind: 'Approve', at: at(), approver: 'alice' }, h.deps);
    await h.drain(60_000);
    const afterAlice = await h.get(ex.executionId);
    await signalExecution(ex.executionId, { kind: 'Approve', at: at(), approver: 'carol' }, h.deps);
    await h.drain(60_000);
    // Assess
    expect(afterAlice.status).toBe('Waiting');
    expect(() => checkSignal(afterAlice, 'Approve', 'alice')).toThrow('alice has already decided at step approve (Approved)');
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Success');
    expect(done.steps[0]?.outputs).toMatchObject({ ApprovalStatus: 'Approved', ApproverDecisions: [{ approver: 'alice' }, { approver: 'carol' }] });
  });

  it('reads InProgress, not Waiting, once approved while the next step runs', async () => {
    // Prepare: the step after the approval waits an hour for its resource.
    const actions = new FakeActions({
      'aws:executeAwsApi': ({ poll }) => (poll ? { kind: 'done', response: {} } : { kind: 'waiting', nextCheckAt: new Date(Date.parse('2030-01-01T00:00:00Z')), state: null }),
    });
    const h = harness({ actions });
    const runbook = doc([{ name: 'approve', action: 'aws:approve', inputs: { Approvers: ['alice'] } }, api('after')]);
    const ex = await h.start({ runbook });
    await h.drain(60_000);
    // Act
    await signalExecution(ex.executionId, { kind: 'Approve', at: new Date(h.now()).toISOString(), approver: 'alice' }, h.deps);
    await h.drain(120_000);
    // Assess
    const running = await h.get(ex.executionId);
    expect(running.status).toBe('InProgress');
    expect(running.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['approve:Success', 'after:InProgress']);
  });

  it('fails the step, naming the input, when NotificationArn is not an SNS topic', async () => {
    const h = harness();
    const ex = await h.start({ runbook: doc([{ name: 'approve', action: 'aws:approve', inputs: { NotificationArn: 'arn:aws:sqs:eu-west-1:111122223333:q', Approvers: ['alice'] } }]) });
    await h.drain(60_000);
    const failed = await h.get(ex.executionId);
    expect(failed.status).toBe('Failed');
    expect(failed.failureMessage).toBe('Step approve failed: NotificationArn arn:aws:sqs:eu-west-1:111122223333:q is not an SNS topic ARN');
    expect(notifications(h.published)).toEqual([]);
  });
});
