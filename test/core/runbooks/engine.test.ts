import { describe, expect, it } from 'vitest';
import { ActionFailure, executionIdFor, ParameterValueError, runExecution, signalExecution, type ExecutionStore } from '@opsauto/core';
import { doc, FakeActions, harness, T0 } from './engine-harness.js';

const api = (name: string, extra: Record<string, unknown> = {}) => ({ name, action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeInstances' }, ...extra });
const statuses = (steps: { name: string; status: string; attempt: number }[]) => steps.map((s) => `${s.name}:${s.status}:${s.attempt}`);

describe('runbook engine: steps and outputs', () => {
  it('runs the steps in order and passes an output selected by one step into the next one', async () => {
    // Prepare
    const actions = new FakeActions({
      'aws:executeAwsApi': ({ inputs }) => ({ kind: 'done', response: inputs.Api === 'DescribeImages' ? { Images: [{ ImageId: 'ami-0123456789abcdef0' }] } : { echoed: inputs.ImageIds } }),
    });
    const h = harness({ actions });
    const runbook = doc(
      [
        { name: 'find', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeImages' }, outputs: [{ Name: 'ImageId', Selector: '$.Images[0].ImageId', Type: 'String' }] },
        { name: 'use', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeImageAttribute', ImageIds: ['{{ find.ImageId }}'] } },
      ],
      { outputs: ['find.ImageId'] },
    );
    // Act
    const started = await h.start({ runbook });
    await h.drain();
    // Assess
    const ex = await h.get(started.executionId);
    expect(ex.status).toBe('Success');
    expect(statuses(ex.steps)).toEqual(['find:Success:1', 'use:Success:1']);
    expect(actions.calls[1]?.inputs.ImageIds).toEqual(['ami-0123456789abcdef0']);
    expect(ex.outputs).toEqual({ 'find.ImageId': 'ami-0123456789abcdef0' });
    expect(ex.startedAt).toBeDefined();
    expect(ex.endedAt).toBeDefined();
  });

  it('writes the execution once to start it and once per step, the write that ends a step starting the next', async () => {
    // Prepare
    const h = harness();
    let saves = 0;
    const save = h.store.save.bind(h.store);
    h.store.save = (...args) => {
      saves++;
      return save(...args);
    };
    const runbook = doc([api('a'), api('b'), api('c')]);
    // Act
    await h.start({ runbook });
    await h.drain();
    // Assess: claim + three steps.
    expect(saves).toBe(4);
  });

  it('goes where aws:branch says, to Default when no choice holds, and stops at isEnd', async () => {
    // Prepare
    const h = harness();
    const runbook = doc(
      [
        { name: 'choose', action: 'aws:branch', inputs: { Choices: [{ NextStep: 'windows', Variable: '{{ Platform }}', StringEquals: 'Windows' }], Default: 'linux' } },
        { ...api('windows'), isEnd: true },
        { ...api('linux'), nextStep: 'last' },
        api('skipped'),
        api('last'),
      ],
      { parameters: { Platform: { type: 'String' } } },
    );
    // Act
    const linux = await h.start({ runbook, parameters: { Platform: 'Linux' } });
    const windows = await h.start({ runbook, parameters: { Platform: 'Windows' } });
    await h.drain();
    // Assess
    expect(statuses((await h.get(linux.executionId)).steps)).toEqual(['choose:Success:1', 'linux:Success:1', 'last:Success:1']);
    expect(statuses((await h.get(windows.executionId)).steps)).toEqual(['choose:Success:1', 'windows:Success:1']);
  });

  it('refuses parameter values that do not fit the document, naming each, and stores nothing', async () => {
    // Prepare
    const h = harness();
    const runbook = doc([api('a')], { parameters: { Count: { type: 'Integer' }, Name: { type: 'String', allowedPattern: '^[a-z]+$' } } });
    // Act
    const attempt = h.start({ runbook, parameters: { Count: 'many', Name: 'UPPER' } });
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ParameterValueError);
    await expect(attempt).rejects.toMatchObject({ fields: ['Count', 'Name'] });
    expect((await h.store.list()).executions).toEqual([]);
  });

  it('publishes an event for each status change, in order, each with a stable ID', async () => {
    // Prepare
    const h = harness();
    // Act
    const ex = await h.start({ runbook: doc([api('a'), api('b')]) });
    await h.drain();
    // Assess
    const events = h.published.map((e) => `${e.detailType === 'Runbook Step Status-change Notification' ? `${String(e.detail.StepName)}:` : 'execution:'}${String(e.detail.Status)}`);
    expect(events).toEqual(['a:InProgress', 'execution:InProgress', 'a:Success', 'b:InProgress', 'b:Success', 'execution:Success']);
    expect(h.published.every((e) => e.detail.ExecutionId === ex.executionId && e.detail.EventId === e.id && e.id.startsWith(`${ex.executionId}/`))).toBe(true);
    expect(new Set(h.published.map((e) => e.id)).size).toBe(h.published.length);
    expect((await h.get(ex.executionId)).outbox).toBeUndefined();
  });
});

describe('runbook engine: failures', () => {
  it('retries a failing step up to maxAttempts with a backoff, and succeeds on the last attempt', async () => {
    // Prepare
    let failures = 2;
    const actions = new FakeActions({
      'aws:executeAwsApi': () => {
        if (failures-- > 0) throw new Error('ThrottlingException: Rate exceeded');
        return { kind: 'done', response: {} };
      },
    });
    const h = harness({ actions });
    // Act
    const ex = await h.start({ runbook: doc([{ ...api('flaky'), maxAttempts: 3 }]) });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Success');
    expect(statuses(done.steps)).toEqual(['flaky:Failed:1', 'flaky:Failed:2', 'flaky:Success:3']);
    expect(done.steps[0]?.failureMessage).toBe('ThrottlingException: Rate exceeded');
    expect(h.now() - T0).toBe(3000); // 1 s then 2 s of backoff
    expect(new Set(actions.calls.map((c) => c.token)).size).toBe(3);
  });

  it('ends Failed at a step that fails with onFailure Abort, naming the step, and runs nothing after it', async () => {
    // Prepare
    const actions = new FakeActions({ 'aws:executeAwsApi': ({ inputs }) => (inputs.Api === 'StopInstances' ? Promise.reject(new Error('IncorrectInstanceState: not stoppable')) : { kind: 'done' }) });
    const h = harness({ actions });
    // Act
    const ex = await h.start({ runbook: doc([api('stop', { inputs: { Service: 'ec2', Api: 'StopInstances' } }), api('after')]) });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Failed');
    expect(done.failureMessage).toBe('Step stop failed: IncorrectInstanceState: not stoppable');
    expect(statuses(done.steps)).toEqual(['stop:Failed:1']);
  });

  it('goes on after a failure with onFailure Continue (Success when not critical, CompletedWithFailure when critical) or to step:X', async () => {
    // Prepare
    const actions = new FakeActions({ 'aws:executeAwsApi': ({ inputs }) => (inputs.Api === 'Fail' ? Promise.reject(new ActionFailure('boom')) : { kind: 'done' }) });
    const h = harness({ actions });
    const failing = { inputs: { Service: 'ec2', Api: 'Fail' } };
    const soft = doc([api('a', { ...failing, onFailure: 'Continue' }), api('b')]);
    const critical = doc([api('a', { ...failing, onFailure: 'Continue', isCritical: true }), api('b')]);
    const jump = doc([api('a', { ...failing, onFailure: 'step:cleanup' }), api('b'), api('cleanup')]);
    // Act
    const [s, c, j] = [await h.start({ runbook: soft }), await h.start({ runbook: critical }), await h.start({ runbook: jump })];
    await h.drain();
    // Assess
    expect((await h.get(s.executionId)).status).toBe('Success');
    expect((await h.get(c.executionId)).status).toBe('CompletedWithFailure');
    expect((await h.get(c.executionId)).failureMessage).toBe('Step a failed: boom');
    const jumped = await h.get(j.executionId);
    expect(statuses(jumped.steps)).toEqual(['a:Failed:1', 'cleanup:Success:1']);
    expect(jumped.status).toBe('CompletedWithFailure');
  });

  it('times a waiting step out after timeoutSeconds, and the execution with it', async () => {
    // Prepare: a property that never reaches the desired value.
    const actions = new FakeActions({ 'aws:waitForAwsResourceProperty': ({ context }) => ({ kind: 'waiting', nextCheckAt: new Date(context.now().getTime() + 5000), state: null }) });
    const h = harness({ actions });
    const runbook = doc([{ name: 'wait', action: 'aws:waitForAwsResourceProperty', timeoutSeconds: 60, inputs: { Service: 'rds', Api: 'DescribeDBInstances', PropertySelector: '$.x', DesiredValues: ['y'] } }]);
    // Act
    const ex = await h.start({ runbook });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('TimedOut');
    expect(done.steps[0]).toMatchObject({ status: 'TimedOut', failureMessage: 'Step timed out after 60 seconds' });
    expect(h.now() - T0).toBeGreaterThan(60_000);
    expect(h.now() - T0).toBeLessThanOrEqual(65_000);
  });

  it('does not count the time a dead worker held a waiting step against its timeout, and still times the step out', async () => {
    // Prepare: a property that never reaches the desired value; the worker dies at its first signal read (10 s in).
    const actions = new FakeActions({ 'aws:waitForAwsResourceProperty': ({ context }) => ({ kind: 'waiting', nextCheckAt: new Date(context.now().getTime() + 5000), state: null }) });
    const h = harness({ actions });
    const runbook = doc([{ name: 'wait', action: 'aws:waitForAwsResourceProperty', timeoutSeconds: 60, inputs: { Service: 'rds', Api: 'DescribeDBInstances', PropertySelector: '$.x', DesiredValues: ['y'] } }]);
    const ex = await h.start({ runbook });
    const pendingSignals = h.store.pendingSignals.bind(h.store);
    h.store.pendingSignals = () => Promise.reject(new Error('worker killed'));
    await expect(h.run(h.queue.shift()!)).rejects.toThrow('worker killed');
    h.store.pendingSignals = pendingSignals;
    const diedAt = h.now();
    // Act: the lease (600 s of worker time and a minute) runs out; the tick's worker takes the execution up.
    h.advance(15 * 60_000);
    const resumedAt = h.now();
    await runExecution(ex.executionId, h.deps, { deadline: new Date(h.now() + 600_000) });
    // Assess: the 15 minutes nobody looked are credited (from the look that was due); 60 s of looking still time it out.
    const done = await h.get(ex.executionId);
    const step = done.steps[0];
    expect(step.unattendedMs).toBe(resumedAt - diedAt);
    expect(done.status).toBe('TimedOut');
    expect(step).toMatchObject({ status: 'TimedOut', failureMessage: 'Step timed out after 60 seconds' });
    const looked = Date.parse(step.endedAt!) - Date.parse(step.startedAt!) - step.unattendedMs!;
    expect(looked).toBeGreaterThan(60_000);
    expect(looked).toBeLessThanOrEqual(65_000);
  });

  it('fails a step whose inputs name an output no earlier step produced', async () => {
    // Prepare
    const h = harness();
    const runbook = doc([
      { name: 'choose', action: 'aws:branch', inputs: { Choices: [{ NextStep: 'use', Variable: '{{ Go }}', BooleanEquals: true }] } },
      { name: 'find', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeImages' }, outputs: [{ Name: 'ImageId', Selector: '$.ImageId', Type: 'String' }] },
      api('use', { inputs: { Service: 'ec2', Api: 'DescribeImages', ImageIds: ['{{ find.ImageId }}'] } }),
    ], { parameters: { Go: { type: 'Boolean', default: true } } });
    // Act
    const ex = await h.start({ runbook });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Failed');
    expect(done.steps.at(-1)?.failureMessage).toContain('find.ImageId');
  });
});

describe('runbook engine: waiting, signals and cancel', () => {
  it('sleeps a short aws:sleep in the worker, and leaves a long one to a wake-up at its end', async () => {
    // Prepare
    const h = harness();
    const runbook = doc([{ name: 'short', action: 'aws:sleep', inputs: { Duration: 'PT10S' } }, { name: 'long', action: 'aws:sleep', inputs: { Duration: 'PT2H' } }, api('after')]);
    const ex = await h.start({ runbook });
    // Act: the first worker.
    await h.run(h.queue.shift()!);
    // Assess: it slept 10 s itself, then left the long sleep with a wake-up.
    let stored = await h.get(ex.executionId);
    expect(statuses(stored.steps)).toEqual(['short:Success:1', 'long:InProgress:1']);
    expect(h.wakes.get(ex.executionId)).toBe(T0 + 10_000 + 7_200_000);
    expect(stored.wakeAt).toBe(new Date(T0 + 10_000 + 7_200_000).toISOString());
    expect(stored.leaseUntil).toBeUndefined();
    // Act: an early duplicate wake-up does nothing; the real one finishes.
    h.advance(60_000);
    await h.run(ex.executionId);
    expect((await h.get(ex.executionId)).version).toBe(stored.version);
    await h.drain();
    stored = await h.get(ex.executionId);
    expect(stored.status).toBe('Success');
    expect(stored.endedAt).toBe(new Date(T0 + 7_210_000).toISOString());
  });

  it('waits at aws:pause (status Waiting) until a Resume signal', async () => {
    // Prepare
    const h = harness();
    const ex = await h.start({ runbook: doc([{ name: 'hold', action: 'aws:pause', inputs: {} }, api('after')]) });
    await h.drain(3_600_000);
    expect((await h.get(ex.executionId)).status).toBe('Waiting');
    // Act
    await signalExecution(ex.executionId, { kind: 'Resume', at: new Date(h.now()).toISOString() }, h.deps);
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Success');
    expect(statuses(done.steps)).toEqual(['hold:Success:1', 'after:Success:1']);
    expect((await h.store.get(ex.executionId))?.signals).toEqual([]);
  });

  it('needs MinRequiredApprovals approvals at aws:approve, and fails on a rejection', async () => {
    // Prepare
    const h = harness();
    const runbook = doc([{ name: 'approve', action: 'aws:approve', inputs: { Approvers: ['alice', 'bob'], MinRequiredApprovals: 2 } }, api('after')]);
    const approved = await h.start({ runbook });
    const rejected = await h.start({ runbook });
    await h.drain(60_000);
    const at = new Date(h.now()).toISOString();
    // Act
    await signalExecution(approved.executionId, { kind: 'Approve', at, approver: 'alice' }, h.deps);
    await h.drain(120_000);
    const afterOne = await h.get(approved.executionId);
    await signalExecution(approved.executionId, { kind: 'Approve', at, approver: 'bob' }, h.deps);
    await signalExecution(rejected.executionId, { kind: 'Reject', at, approver: 'bob', comment: 'not today' }, h.deps);
    await h.drain(180_000);
    // Assess
    expect(afterOne.status).toBe('Waiting');
    const ok = await h.get(approved.executionId);
    expect(ok.status).toBe('Success');
    expect(ok.steps[0]?.outputs).toMatchObject({ ApprovalStatus: 'Approved', ApproverDecisions: [{ approver: 'alice' }, { approver: 'bob' }] });
    const no = await h.get(rejected.executionId);
    expect(no.status).toBe('Failed');
    expect(no.failureMessage).toBe('Step approve failed: Rejected by bob');
  });

  it('cancels a waiting execution, running the onCancel step before it ends Cancelled', async () => {
    // Prepare
    const h = harness();
    const runbook = doc([{ name: 'wait', action: 'aws:sleep', inputs: { Duration: 'PT1H' }, onCancel: 'step:cleanup' }, api('next'), { ...api('cleanup'), isEnd: true }]);
    const plain = doc([{ name: 'wait', action: 'aws:sleep', inputs: { Duration: 'PT1H' } }, api('next')]);
    const a = await h.start({ runbook });
    const b = await h.start({ runbook: plain });
    await h.drain(60_000);
    // Act
    await signalExecution(a.executionId, { kind: 'Cancel', at: new Date(h.now()).toISOString() }, h.deps);
    await signalExecution(b.executionId, { kind: 'Cancel', at: new Date(h.now()).toISOString() }, h.deps);
    await h.drain(120_000);
    // Assess
    const withCleanup = await h.get(a.executionId);
    expect(withCleanup.status).toBe('Cancelled');
    expect(statuses(withCleanup.steps)).toEqual(['wait:Cancelled:1', 'cleanup:Success:1']);
    const without = await h.get(b.executionId);
    expect(without.status).toBe('Cancelled');
    expect(statuses(without.steps)).toEqual(['wait:Cancelled:1']);
  });
});

describe('runbook engine: durability', () => {
  it('starts one execution for the same trigger delivered twice', async () => {
    // Prepare
    const h = harness();
    const runbook = doc([api('a')]);
    // Act
    const first = await h.start({ runbook, idempotencyKey: 'schedule:stop:2026-11-23T18:00:00Z' });
    const second = await h.start({ runbook, idempotencyKey: 'schedule:stop:2026-11-23T18:00:00Z' });
    await h.drain();
    // Assess
    expect(second.executionId).toBe(first.executionId);
    expect(first.executionId).toBe(executionIdFor('schedule:stop:2026-11-23T18:00:00Z'));
    expect((await h.store.list()).executions).toHaveLength(1);
    expect(h.actions.calls).toHaveLength(1);
  });

  it('leaves an execution another worker holds alone', async () => {
    // Prepare: a worker that is still waiting inside a step.
    const h = harness();
    const ex = await h.start({ runbook: doc([{ name: 'nap', action: 'aws:sleep', inputs: { Duration: 'PT20S' } }]) });
    let second: Awaited<ReturnType<typeof h.run>> | undefined;
    const sleep = h.deps.sleep.bind(h.deps);
    h.deps.sleep = async (ms) => {
      second ??= await h.run(ex.executionId);
      await sleep(ms);
    };
    // Act
    await h.run(h.queue.shift()!);
    // Assess
    expect(second?.outcome).toBe('busy');
  });

  it('resumes after a worker dies at any write: finished steps never run again, and an interrupted one keeps its token', async () => {
    // Prepare: three steps; the worker dies on its Nth write, for every N until one survives.
    const runbook = doc([api('a', { inputs: { Service: 'ec2', Api: 'A' } }), api('b', { inputs: { Service: 'ec2', Api: 'B' } }), api('c', { inputs: { Service: 'ec2', Api: 'C' } })]);
    for (let dieAt = 1; dieAt <= 4; dieAt++) {
      const actions = new FakeActions();
      const h = harness({ actions });
      const ex = await h.start({ runbook });
      const save = h.store.save.bind(h.store);
      let writes = 0;
      h.store.save = (...args: Parameters<ExecutionStore['save']>) => (++writes === dieAt ? Promise.reject(new Error('worker killed')) : save(...args));
      // Act: the first worker dies; the lease runs out; the tick's worker resumes.
      await expect(h.run(h.queue.shift()!)).rejects.toThrow('worker killed');
      h.advance(15 * 60_000);
      const resumed = await runExecution(ex.executionId, h.deps, { deadline: new Date(h.now() + 600_000) });
      // Assess
      expect(resumed.execution?.status).toBe('Success');
      const perApi: Record<string, typeof actions.calls> = {};
      for (const c of actions.calls) (perApi[String(c.inputs.Api)] ??= []).push(c);
      for (const api of ['A', 'B', 'C']) {
        const calls = perApi[api] ?? [];
        // A step is called again only when the worker died after calling it and before recording its end, and then with the same token.
        expect(calls.length, `step ${api} when dying at write ${dieAt}`).toBeLessThanOrEqual(2);
        expect(new Set(calls.map((c) => c.token)).size).toBe(1);
      }
      expect(actions.calls.length).toBeLessThanOrEqual(4);
    }
  });
});

describe('runbook engine: child runbooks and rate control', () => {
  it('runs aws:executeAutomation as a child execution and takes its outputs', async () => {
    // Prepare
    const actions = new FakeActions({ 'aws:executeAwsApi': () => ({ kind: 'done', response: { Id: 'x-1' } }) });
    const child = doc([api('make', { outputs: [{ Name: 'Id', Selector: '$.Id', Type: 'String' }] })], { outputs: ['make.Id'], parameters: { Name: { type: 'String' } } });
    const h = harness({ actions, runbooks: { Child: child } });
    const parent = doc([{ name: 'run', action: 'aws:executeAutomation', inputs: { DocumentName: 'Child', RuntimeParameters: { Name: ['n'] } } }]);
    // Act
    const ex = await h.start({ runbook: parent });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Success');
    expect(done.steps[0]?.outputs).toMatchObject({ Status: 'Success', Output: ['make.Id=x-1'] });
    expect(Date.parse(done.endedAt!) - T0).toBeLessThan(1000); // woken by the child, not by the periodic check
  });

  const rateRunbook = doc([api('act', { inputs: { Service: 'ec2', Api: 'StopInstances', InstanceIds: '{{ InstanceId }}' } })], { parameters: { InstanceId: { type: 'StringList' } } });
  const targets = Array.from({ length: 10 }, (_, i) => `i-${String(i).padStart(17, '0')}`);

  it('runs a child per target, never more at once than MaxConcurrency, and ends Success', async () => {
    // Prepare
    const h = harness();
    let peak = 0;
    const reserve = h.store.reserveTarget.bind(h.store);
    h.store.reserveTarget = async (...args) => {
      const index = await reserve(...args);
      peak = Math.max(peak, (await h.store.get(args[0]))?.execution.counters?.running ?? 0);
      return index;
    };
    // Act
    const ex = await h.start({ runbook: rateRunbook, rateControl: { targetParameterName: 'InstanceId', targets, maxConcurrency: '3', maxErrors: '0', concurrencyLimit: 3, errorLimit: 0 } });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Success');
    expect(done.counters).toMatchObject({ launched: 10, running: 0, succeeded: 10, failed: 0 });
    expect(peak).toBe(3);
    // Ended by its last child at once, not at its next periodic check (5 minutes).
    expect(Date.parse(done.endedAt!) - T0).toBeLessThan(60_000);
    expect(h.actions.calls.map((c) => c.inputs.InstanceIds).sort()).toEqual(targets.map((t) => [t]));
    const children = await h.store.list({ parentExecutionId: ex.executionId, limit: 100 });
    expect(children.executions.map((c) => c.target).sort()).toEqual(targets);
  });

  it('launches no target after its launch deadline (a maintenance window cutoff), lets running ones finish, and ends TimedOut', async () => {
    // Prepare: each target takes an hour; 2 at a time; the cutoff is 90 minutes in.
    const slow = doc([{ name: 'work', action: 'aws:sleep', inputs: { Duration: 'PT1H' } }, api('act', { inputs: { Service: 'ec2', Api: 'StopInstances', InstanceIds: '{{ InstanceId }}' } })], {
      parameters: { InstanceId: { type: 'StringList' } },
    });
    const h = harness();
    const launchDeadline = new Date(T0 + 90 * 60_000).toISOString();
    // Act
    const ex = await h.start({ runbook: slow, rateControl: { targetParameterName: 'InstanceId', targets, maxConcurrency: '2', maxErrors: '0', concurrencyLimit: 2, errorLimit: 0, launchDeadline } });
    await h.drain();
    // Assess: 2 launched at once, 2 more an hour later (before the cutoff), none after: those 4 ran to their end.
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('TimedOut');
    expect(done.counters).toMatchObject({ launched: 4, running: 0, succeeded: 4, failed: 0 });
    expect(done.failureMessage).toBe(`the cutoff (${launchDeadline}) came before 6 of 10 targets were launched`);
    expect(h.actions.calls).toHaveLength(4);
  });

  it('stops starting targets once failures exceed MaxErrors, lets running ones finish, and ends Failed', async () => {
    // Prepare: targets 0-3 fail.
    const actions = new FakeActions({
      'aws:executeAwsApi': ({ inputs }) => (targets.slice(0, 4).includes((inputs.InstanceIds as string[])[0]) ? Promise.reject(new Error('UnauthorizedOperation')) : { kind: 'done' }),
    });
    const h = harness({ actions });
    // Act
    const ex = await h.start({ runbook: rateRunbook, rateControl: { targetParameterName: 'InstanceId', targets, maxConcurrency: '2', maxErrors: '1', concurrencyLimit: 2, errorLimit: 1 } });
    await h.drain();
    // Assess: the 2nd error exceeds MaxErrors 1 (at most 2 were running, so at most 3 launched).
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('Failed');
    expect(done.counters?.failed).toBeGreaterThanOrEqual(2);
    expect(done.counters?.launched).toBeLessThanOrEqual(3);
    expect(done.counters?.running).toBe(0);
  });

  it('ends CompletedWithFailure when some targets fail within MaxErrors', async () => {
    // Prepare
    const actions = new FakeActions({ 'aws:executeAwsApi': ({ inputs }) => ((inputs.InstanceIds as string[])[0] === targets[5] ? Promise.reject(new Error('nope')) : { kind: 'done' }) });
    const h = harness({ actions });
    // Act
    const ex = await h.start({ runbook: rateRunbook, rateControl: { targetParameterName: 'InstanceId', targets, maxConcurrency: '10', maxErrors: '2', concurrencyLimit: 10, errorLimit: 2 } });
    await h.drain();
    // Assess
    const done = await h.get(ex.executionId);
    expect(done.status).toBe('CompletedWithFailure');
    expect(done.counters).toMatchObject({ launched: 10, succeeded: 9, failed: 1 });
  });

  it('recovers children whose dispatch was lost, at the parent\'s periodic check', async () => {
    // Prepare: every dispatch of a child is lost.
    const h = harness({ engine: { parentCheckMs: 60_000 } });
    const dispatch = h.deps.dispatch.bind(h.deps);
    h.deps.dispatch = () => Promise.resolve();
    const ex = await h.start({ runbook: rateRunbook, rateControl: { targetParameterName: 'InstanceId', targets: targets.slice(0, 3), maxConcurrency: '3', maxErrors: '0', concurrencyLimit: 3, errorLimit: 0 } });
    await h.drain(50_000);
    expect((await h.get(ex.executionId)).status).toBe('InProgress');
    h.deps.dispatch = dispatch;
    // Act
    await h.drain();
    // Assess
    expect((await h.get(ex.executionId)).status).toBe('Success');
  });
});
