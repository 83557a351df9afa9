import { beforeEach, describe, expect, it } from 'vitest';
import { ConcurrentUpdateError, ConflictError, NotFoundError, ValidationError, parseRunbook, summaryOf, type Execution, type ExecutionRefusal, type ExecutionSignal, type ExecutionStore } from '@opsauto/core';

const RUNBOOK = parseRunbook(
  `schemaVersion: '0.3'
description: Waits, then stops an instance.
parameters:
  InstanceId:
    type: String
mainSteps:
  - name: wait
    action: aws:sleep
    inputs:
      Duration: PT1M
  - name: stop
    action: aws:changeInstanceState
    inputs:
      InstanceIds: ['{{ InstanceId }}']
      DesiredState: stopped
`,
  { name: 'Test-WaitThenStop' },
);

/** An execution as the engine creates it: version 1, Pending, a tiny runbook; `over` changes any field. */
export const execution = (over: Partial<Execution> = {}): Execution => ({
  executionId: 'exec-0001',
  documentName: 'Test-WaitThenStop',
  runbook: structuredClone(RUNBOOK),
  parameters: { InstanceId: 'i-0123456789abcdef0' },
  status: 'Pending',
  accountId: '000000000000',
  region: 'us-east-1',
  createdAt: '2026-11-22T06:00:00.000Z',
  steps: [],
  version: 1,
  ...over,
});

/** The time the stores under test read: the day of the executions above, so that listings look back from it. */
export const STORE_NOW = new Date('2026-11-22T12:00:00.000Z');

/** A refused start; `over` changes any field. */
export const refusal = (over: Partial<ExecutionRefusal> = {}): ExecutionRefusal => ({
  at: '2026-11-22T06:00:00.000Z',
  documentName: 'AWS-TerminateEC2Instance',
  triggeredBy: 'event:custom.forger',
  reason: 'AWS-TerminateEC2Instance is not in runbooks.allowedRunbooks',
  ...over,
});

/** The next version of a stored execution, as a worker saves it after a step. */
export const next = (e: Execution, over: Partial<Execution> = {}): Execution => ({ ...e, ...over, version: e.version + 1 });

const rate = (over: Partial<{ concurrencyLimit: number; errorLimit: number; total: number }> = {}) => ({ concurrencyLimit: 5, errorLimit: 1, total: 10, ...over });

/** The behaviour every ExecutionStore must have; run against each implementation. */
export function executionStoreContract(name: string, makeStore: () => Promise<ExecutionStore>) {
  describe(`ExecutionStore contract: ${name}`, () => {
    let store: ExecutionStore;
    beforeEach(async () => {
      // Prepare
      store = await makeStore();
    });
    const read = async (id: string) => {
      const got = await store.get(id);
      if (!got) throw new Error(`execution ${id} not found`);
      return got;
    };

    describe('create and get', () => {
      it('returns what was created, at version 1 and without signals, when read back', async () => {
        // Prepare
        const started = execution({ version: 7, wakeAt: undefined, rateControl: { targetParameterName: 'InstanceId', targets: ['i-1', 'i-2'], maxConcurrency: '1', maxErrors: '0', concurrencyLimit: 1, errorLimit: 0 } });
        // Act
        const created = await store.create(started);
        const got = await store.get('exec-0001');
        // Assess
        const expected = { ...started, version: 1 };
        delete expected.wakeAt;
        expect(created).toStrictEqual({ created: true, execution: expected });
        expect(got).toStrictEqual({ execution: expected, signals: [] });
      });

      it('returns undefined when no execution has the ID', async () => {
        // Act
        const got = await store.get('exec-missing');
        // Assess
        expect(got).toBeUndefined();
      });

      it('keeps what it stored when the caller changes its objects afterwards', async () => {
        // Prepare
        const started = execution();
        await store.create(started);
        // Act
        started.parameters.InstanceId = 'i-changed';
        (await read('exec-0001')).execution.steps.push({ name: 'wait', action: 'aws:sleep', status: 'InProgress', attempt: 1 });
        // Assess
        const { execution: got } = await read('exec-0001');
        expect(got.parameters).toEqual({ InstanceId: 'i-0123456789abcdef0' });
        expect(got.steps).toEqual([]);
      });

      it('returns the existing execution unchanged and stores nothing when the ID exists', async () => {
        // Prepare
        await store.create(execution({ idempotencyKey: 'trigger-1' }));
        // Act
        const again = await store.create(execution({ idempotencyKey: 'trigger-1', status: 'InProgress', parameters: { InstanceId: 'i-other' }, createdAt: '2026-11-22T07:00:00.000Z' }));
        // Assess
        expect(again).toStrictEqual({ created: false, execution: execution({ idempotencyKey: 'trigger-1' }) });
        expect((await read('exec-0001')).execution).toStrictEqual(execution({ idempotencyKey: 'trigger-1' }));
      });

      it('throws ConflictError naming the key when the idempotency key is reused with another request hash, and keeps the first', async () => {
        // Prepare
        await store.create(execution({ idempotencyKey: 'trigger-1', requestHash: 'sha256:aaa' }));
        // Act
        const again = store.create(execution({ idempotencyKey: 'trigger-1', requestHash: 'sha256:bbb', parameters: { InstanceId: 'i-other' } }));
        // Assess
        await expect(again).rejects.toBeInstanceOf(ConflictError);
        await expect(again).rejects.toThrow(/idempotency key trigger-1 .*different document or parameters/);
        expect((await read('exec-0001')).execution).toStrictEqual(execution({ idempotencyKey: 'trigger-1', requestHash: 'sha256:aaa' }));
      });

      it.each([
        ['the same hash', 'sha256:aaa', 'sha256:aaa'],
        ['no hash stored', undefined, 'sha256:bbb'],
        ['no hash given', 'sha256:aaa', undefined],
      ])('returns the existing execution when the key is reused with %s', async (_, stored, given) => {
        // Prepare
        await store.create(execution({ idempotencyKey: 'trigger-1', requestHash: stored }));
        // Act
        const again = await store.create(execution({ idempotencyKey: 'trigger-1', requestHash: given, triggeredBy: 'delivery-2' }));
        // Assess
        expect(again.created).toBe(false);
        expect(again.execution.triggeredBy).toBeUndefined();
        expect(again.execution.requestHash).toBe(stored);
      });

      it('creates exactly one execution when the same trigger is delivered five times at once', async () => {
        // Act
        const results = await Promise.all(Array.from({ length: 5 }, (_, i) => store.create(execution({ triggeredBy: `delivery-${i}` }))));
        // Assess
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const winner = results.find((r) => r.created)?.execution;
        for (const r of results) expect(r.execution).toStrictEqual(winner);
      });
    });

    describe('save', () => {
      it('stores the next version when the stored one is the version before', async () => {
        // Prepare
        await store.create(execution());
        const { execution: current } = await read('exec-0001');
        // Act
        await store.save(next(current, { status: 'InProgress', startedAt: '2026-11-22T06:00:01.000Z', currentStep: 'wait', steps: [{ name: 'wait', action: 'aws:sleep', status: 'InProgress', attempt: 1 }] }));
        // Assess
        const { execution: saved } = await read('exec-0001');
        expect(saved.version).toBe(2);
        expect(saved).toStrictEqual(
          execution({ version: 2, status: 'InProgress', startedAt: '2026-11-22T06:00:01.000Z', currentStep: 'wait', steps: [{ name: 'wait', action: 'aws:sleep', status: 'InProgress', attempt: 1 }] }),
        );
      });

      it('removes a field when the saved execution no longer has it', async () => {
        // Prepare
        await store.create(execution({ wakeAt: '2026-11-22T06:01:00.000Z', currentStep: 'wait' }));
        const { execution: current } = await read('exec-0001');
        // Act
        await store.save(next({ ...current, wakeAt: undefined, currentStep: undefined }));
        // Assess
        const { execution: saved } = await read('exec-0001');
        expect(saved).not.toHaveProperty('wakeAt');
        expect(saved).not.toHaveProperty('currentStep');
      });

      it('throws ConcurrentUpdateError and keeps the stored execution when the version read is stale', async () => {
        // Prepare
        await store.create(execution());
        const { execution: stale } = await read('exec-0001');
        await store.save(next(stale, { status: 'InProgress' }));
        // Act
        const saving = store.save(next(stale, { status: 'Cancelled' }));
        // Assess
        await expect(saving).rejects.toBeInstanceOf(ConcurrentUpdateError);
        expect((await read('exec-0001')).execution).toMatchObject({ version: 2, status: 'InProgress' });
      });

      it('throws ConcurrentUpdateError when the execution was never created', async () => {
        // Act
        const saving = store.save(execution({ version: 2 }));
        // Assess
        await expect(saving).rejects.toBeInstanceOf(ConcurrentUpdateError);
        expect(await store.get('exec-0001')).toBeUndefined();
      });

      it('lets exactly one of two workers save when both read the same version', async () => {
        // Prepare
        await store.create(execution());
        const [a, b] = await Promise.all([read('exec-0001'), read('exec-0001')]);
        // Act
        const results = await Promise.allSettled([store.save(next(a.execution, { status: 'InProgress', triggeredBy: 'worker-a' })), store.save(next(b.execution, { status: 'InProgress', triggeredBy: 'worker-b' }))]);
        // Assess
        const won = results.findIndex((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        expect(lost).toHaveLength(1);
        expect(lost[0]?.reason).toBeInstanceOf(ConcurrentUpdateError);
        expect((await read('exec-0001')).execution).toMatchObject({ version: 2, triggeredBy: won === 0 ? 'worker-a' : 'worker-b' });
      });
    });

    describe('signals', () => {
      const resume: ExecutionSignal = { kind: 'Resume', at: '2026-11-22T06:05:00.000Z' };
      const approve: ExecutionSignal = { kind: 'Approve', at: '2026-11-22T06:03:00.000Z', approver: 'arn:aws:iam::000000000000:user/alice', comment: 'go' };
      const cancel: ExecutionSignal = { kind: 'Cancel', at: '2026-11-22T06:04:00.000Z' };

      it('returns the signals in the order they were sent at when the execution is read', async () => {
        // Prepare
        await store.create(execution());
        // Act
        await store.signal('exec-0001', resume);
        await store.signal('exec-0001', approve);
        await store.signal('exec-0001', cancel);
        // Assess
        expect((await read('exec-0001')).signals).toStrictEqual([approve, cancel, resume]);
      });

      it('removes the consumed signals when a save consumes them, and keeps the others', async () => {
        // Prepare
        await store.create(execution());
        await store.signal('exec-0001', approve);
        await store.signal('exec-0001', cancel);
        const { execution: current, signals } = await read('exec-0001');
        // Act
        await store.save(next(current, { status: 'InProgress' }), signals.filter((s) => s.kind === 'Approve'));
        // Assess
        expect((await read('exec-0001')).signals).toStrictEqual([cancel]);
      });

      it('keeps a signal sent while a worker ran when that worker saves what it read before', async () => {
        // Prepare
        await store.create(execution());
        await store.signal('exec-0001', approve);
        const { execution: current, signals } = await read('exec-0001');
        // Act
        await store.signal('exec-0001', cancel);
        await store.save(next(current, { status: 'InProgress' }), signals);
        // Assess
        expect((await read('exec-0001')).signals).toStrictEqual([cancel]);
      });

      it('keeps the signals when the save that consumed them loses to another worker', async () => {
        // Prepare
        await store.create(execution());
        await store.signal('exec-0001', approve);
        const [a, b] = await Promise.all([read('exec-0001'), read('exec-0001')]);
        await store.save(next(a.execution));
        // Act
        const saving = store.save(next(b.execution), b.signals);
        // Assess
        await expect(saving).rejects.toBeInstanceOf(ConcurrentUpdateError);
        expect((await read('exec-0001')).signals).toStrictEqual([approve]);
      });

      it('rejects a consumed signal that get did not return and writes nothing', async () => {
        // Prepare
        await store.create(execution());
        await store.signal('exec-0001', approve);
        const { execution: current } = await read('exec-0001');
        // Act
        const saving = store.save(next(current, { status: 'InProgress' }), [{ ...approve }]);
        // Assess
        await expect(saving).rejects.toBeInstanceOf(ValidationError);
        expect(await read('exec-0001')).toStrictEqual({ execution: execution(), signals: [approve] });
      });

      it('throws NotFoundError when the execution does not exist', async () => {
        // Act
        const signalling = store.signal('exec-missing', resume);
        // Assess
        await expect(signalling).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('listDue', () => {
      const now = new Date('2026-11-22T07:00:00.000Z');

      it('lists created executions at once, waiting ones once their wakeAt has come, oldest first', async () => {
        // Prepare
        await store.create(execution({ executionId: 'exec-created', createdAt: '2026-11-22T06:30:00.000Z' }));
        await store.create(execution({ executionId: 'exec-woken', status: 'Waiting', wakeAt: '2026-11-22T06:10:00.000Z' }));
        await store.create(execution({ executionId: 'exec-now', status: 'Waiting', wakeAt: '2026-11-22T07:00:00.000Z' }));
        await store.create(execution({ executionId: 'exec-sleeping', status: 'Waiting', wakeAt: '2026-11-22T07:00:00.001Z' }));
        // Act
        const due = await store.listDue(now, 10);
        // Assess
        expect(due).toEqual(['exec-woken', 'exec-created', 'exec-now']);
      });

      it('lists a running execution only when its lease ran out, and a waiting one at the later of wakeAt and lease', async () => {
        // Prepare
        await store.create(execution({ executionId: 'exec-leased', status: 'InProgress', leaseUntil: '2026-11-22T07:05:00.000Z' }));
        await store.create(execution({ executionId: 'exec-abandoned', status: 'InProgress', leaseUntil: '2026-11-22T06:55:00.000Z' }));
        await store.create(execution({ executionId: 'exec-wake-leased', status: 'Waiting', wakeAt: '2026-11-22T06:00:00.000Z', leaseUntil: '2026-11-22T07:01:00.000Z' }));
        // Act
        const due = await store.listDue(now, 10);
        // Assess
        expect(due).toEqual(['exec-abandoned']);
      });

      it('stops listing an execution when it is saved terminal', async () => {
        // Prepare
        await store.create(execution({ executionId: 'exec-done', wakeAt: '2026-11-22T06:10:00.000Z' }));
        const { execution: current } = await read('exec-done');
        expect(await store.listDue(now, 10)).toEqual(['exec-done']);
        // Act
        await store.save(next(current, { status: 'Success', endedAt: '2026-11-22T06:11:00.000Z' }));
        // Assess
        expect(await store.listDue(now, 10)).toEqual([]);
      });

      it('follows a saved wakeAt when a waiting execution is put to sleep again', async () => {
        // Prepare
        await store.create(execution({ executionId: 'exec-wait' }));
        const { execution: current } = await read('exec-wait');
        // Act
        await store.save(next(current, { status: 'Waiting', wakeAt: '2026-11-22T08:00:00.000Z' }));
        // Assess
        expect(await store.listDue(now, 10)).toEqual([]);
        expect(await store.listDue(new Date('2026-11-22T08:00:00.000Z'), 10)).toEqual(['exec-wait']);
      });

      it('lists at most limit executions when more are due', async () => {
        // Prepare
        for (let i = 0; i < 5; i++) await store.create(execution({ executionId: `exec-${i}`, createdAt: `2026-11-22T06:0${i}:00.000Z` }));
        // Act
        const due = await store.listDue(now, 3);
        // Assess
        expect(due).toEqual(['exec-0', 'exec-1', 'exec-2']);
      });
    });

    describe('list', () => {
      const created = (i: number) => `2026-11-${String(10 + i)}T06:00:00.000Z`;

      it('lists top-level executions newest first, page by page, with no token after the last page', async () => {
        // Prepare
        for (const i of [2, 0, 4, 1, 3]) await store.create(execution({ executionId: `exec-${i}`, createdAt: created(i) }));
        // Act
        const first = await store.list({ limit: 2 });
        const second = await store.list({ limit: 2, nextToken: first.nextToken });
        const third = await store.list({ limit: 2, nextToken: second.nextToken });
        // Assess
        expect(first.executions.map((e) => e.executionId)).toEqual(['exec-4', 'exec-3']);
        expect(second.executions.map((e) => e.executionId)).toEqual(['exec-2', 'exec-1']);
        expect(third.executions.map((e) => e.executionId)).toEqual(['exec-0']);
        expect(third.nextToken).toBeUndefined();
        expect(first.executions[1]).toStrictEqual(summaryOf(execution({ executionId: 'exec-3', createdAt: created(3) })));
      });

      it('lists only the summary of each execution: no runbook, parameters or steps', async () => {
        // Prepare
        await store.create(
          execution({ status: 'Waiting', wakeAt: '2026-11-22T06:10:00.000Z', triggeredBy: 'cli', steps: [{ name: 'wait', action: 'aws:sleep', status: 'InProgress', attempt: 1 }], currentStep: 'wait' }),
        );
        // Act
        const page = await store.list();
        // Assess
        expect(page.executions).toStrictEqual([
          { executionId: 'exec-0001', documentName: 'Test-WaitThenStop', status: 'Waiting', createdAt: '2026-11-22T06:00:00.000Z', wakeAt: '2026-11-22T06:10:00.000Z', triggeredBy: 'cli' },
        ]);
      });

      it('continues a page within a day and then across days when the token is passed back', async () => {
        // Prepare: three on one day, one on each of two earlier days.
        const at = ['2026-11-22T06:00:00.000Z', '2026-11-22T07:00:00.000Z', '2026-11-22T08:00:00.000Z', '2026-11-20T08:00:00.000Z', '2026-11-01T08:00:00.000Z'];
        for (const [i, createdAt] of at.entries()) await store.create(execution({ executionId: `exec-${i}`, createdAt }));
        // Act
        const ids: string[][] = [];
        let nextToken: string | undefined;
        do {
          const page = await store.list({ limit: 2, nextToken });
          ids.push(page.executions.map((e) => e.executionId));
          nextToken = page.nextToken;
        } while (nextToken);
        // Assess
        expect(ids).toEqual([['exec-2', 'exec-1'], ['exec-0', 'exec-3'], ['exec-4']]);
      });

      it('gives no token when the page ends exactly at the last execution', async () => {
        // Prepare
        for (const i of [0, 1]) await store.create(execution({ executionId: `exec-${i}`, createdAt: created(i) }));
        // Act
        const page = await store.list({ limit: 2 });
        // Assess
        expect(page.executions).toHaveLength(2);
        expect(page.nextToken).toBeUndefined();
      });

      it('lists children only under their parent, and never among top-level executions', async () => {
        // Prepare
        await store.create(execution({ executionId: 'exec-parent', createdAt: created(0) }));
        await store.create(execution({ executionId: 'exec-other', createdAt: created(1) }));
        await store.create(execution({ executionId: 'exec-child-a', parentExecutionId: 'exec-parent', target: 'i-a', targetIndex: 0, createdAt: created(2) }));
        await store.create(execution({ executionId: 'exec-child-b', parentExecutionId: 'exec-parent', target: 'i-b', targetIndex: 1, createdAt: created(3) }));
        await store.create(execution({ executionId: 'exec-child-x', parentExecutionId: 'exec-other', createdAt: created(4) }));
        // Act
        const top = await store.list();
        const children = await store.list({ parentExecutionId: 'exec-parent' });
        // Assess
        expect(top.executions.map((e) => e.executionId)).toEqual(['exec-other', 'exec-parent']);
        expect(children.executions.map((e) => e.executionId)).toEqual(['exec-child-b', 'exec-child-a']);
        expect(children.executions[1]).toMatchObject({ target: 'i-a', targetIndex: 0, parentExecutionId: 'exec-parent' });
      });

      it('throws ValidationError when the next token is not one it gave', async () => {
        // Prepare
        await store.create(execution());
        // Act
        const listing = store.list({ nextToken: 'not-a-token' });
        // Assess
        await expect(listing).rejects.toBeInstanceOf(ValidationError);
        await expect(store.list({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('refusals', () => {
      it('lists recorded refusals newest first, at most limit', async () => {
        // Prepare
        await store.recordRefusal(refusal({ at: '2026-11-22T06:00:00.000Z', reason: 'first' }));
        await store.recordRefusal(refusal({ at: '2026-11-21T23:59:00.000Z', reason: 'the day before', triggeredBy: undefined }));
        await store.recordRefusal(refusal({ at: '2026-11-22T06:30:00.000Z', reason: 'latest', idempotencyKey: 'event:abc' }));
        // Act
        const all = await store.listRefusals();
        const two = await store.listRefusals({ limit: 2 });
        // Assess
        expect(all).toStrictEqual([
          refusal({ at: '2026-11-22T06:30:00.000Z', reason: 'latest', idempotencyKey: 'event:abc' }),
          refusal({ at: '2026-11-22T06:00:00.000Z', reason: 'first' }),
          { at: '2026-11-21T23:59:00.000Z', documentName: 'AWS-TerminateEC2Instance', reason: 'the day before' },
        ]);
        expect(two.map((r) => r.reason)).toEqual(['latest', 'first']);
      });

      it('lists nothing when no start was refused', async () => {
        // Act
        const refusals = await store.listRefusals();
        // Assess
        expect(refusals).toEqual([]);
      });

      it.each([
        ['at', { at: 'yesterday' }],
        ['documentName', { documentName: '' }],
        ['reason', { reason: '  ' }],
      ] as const)('throws ValidationError naming %s and records nothing when it is invalid', async (field, over) => {
        // Act
        const recording = store.recordRefusal(refusal(over));
        // Assess
        await expect(recording).rejects.toMatchObject({ name: 'ValidationError', field });
        expect(await store.listRefusals()).toEqual([]);
        await expect(store.listRefusals({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('rate counters', () => {
      it('lets exactly the concurrency limit start, with distinct indexes, when 20 reserve at once', async () => {
        // Act
        const indexes = await Promise.all(Array.from({ length: 20 }, () => store.reserveTarget('exec-parent', rate({ concurrencyLimit: 5, total: 10 }))));
        // Assess
        const started = indexes.filter((i) => i !== undefined);
        expect([...started].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
      });

      it('lets exactly the remaining targets start when the total is below the concurrency limit', async () => {
        // Act
        const indexes = await Promise.all(Array.from({ length: 20 }, () => store.reserveTarget('exec-parent', rate({ concurrencyLimit: 20, total: 7 }))));
        // Assess
        expect(indexes.filter((i) => i !== undefined).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      });

      it('starts the next target when a running child finishes', async () => {
        // Prepare
        const limits = rate({ concurrencyLimit: 2, total: 5 });
        await store.reserveTarget('exec-parent', limits);
        await store.reserveTarget('exec-parent', limits);
        expect(await store.reserveTarget('exec-parent', limits)).toBeUndefined();
        // Act
        const counters = await store.finishTarget('exec-parent', 0, 'succeeded');
        const index = await store.reserveTarget('exec-parent', limits);
        // Assess
        expect(counters).toStrictEqual({ launched: 2, running: 1, succeeded: 1, failed: 0 });
        expect(index).toBe(2);
      });

      it('starts no more targets when failures exceed the error limit', async () => {
        // Prepare
        const limits = rate({ concurrencyLimit: 3, errorLimit: 1, total: 10 });
        for (let i = 0; i < 3; i++) await store.reserveTarget('exec-parent', limits);
        await store.finishTarget('exec-parent', 0, 'failed');
        expect(await store.reserveTarget('exec-parent', limits)).toBe(3);
        // Act
        await store.finishTarget('exec-parent', 1, 'failed');
        const index = await store.reserveTarget('exec-parent', limits);
        // Assess
        expect(index).toBeUndefined();
      });

      it('counts a target once when its end is reported twice', async () => {
        // Prepare
        const limits = rate({ concurrencyLimit: 3, total: 3 });
        for (let i = 0; i < 2; i++) await store.reserveTarget('exec-parent', limits);
        const first = await store.finishTarget('exec-parent', 1, 'failed');
        // Act
        const again = await Promise.all([store.finishTarget('exec-parent', 1, 'failed'), store.finishTarget('exec-parent', 1, 'succeeded')]);
        // Assess
        expect(first).toStrictEqual({ launched: 2, running: 1, succeeded: 0, failed: 1 });
        expect(again).toStrictEqual([first, first]);
      });

      it('throws ConflictError when a target that was never reserved is reported', async () => {
        // Prepare
        await store.reserveTarget('exec-parent', rate());
        // Act
        const finishing = store.finishTarget('exec-parent', 1, 'succeeded');
        // Assess
        await expect(finishing).rejects.toBeInstanceOf(ConflictError);
        await expect(store.finishTarget('exec-unknown', 0, 'succeeded')).rejects.toBeInstanceOf(ConflictError);
      });

      it('shows the live counters on the parent when it is read', async () => {
        // Prepare
        await store.create(execution({ executionId: 'exec-parent' }));
        const limits = rate();
        for (let i = 0; i < 3; i++) await store.reserveTarget('exec-parent', limits);
        await store.finishTarget('exec-parent', 2, 'succeeded');
        const { execution: parent } = await read('exec-parent');
        // Act
        await store.save(next(parent, { status: 'InProgress', counters: { launched: 0, running: 0, succeeded: 0, failed: 0 } }));
        // Assess
        expect(parent.counters).toStrictEqual({ launched: 3, running: 2, succeeded: 1, failed: 0 });
        expect((await read('exec-parent')).execution.counters).toStrictEqual({ launched: 3, running: 2, succeeded: 1, failed: 0 });
      });
    });
  });
}
