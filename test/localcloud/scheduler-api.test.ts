import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, removeDir, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const OTHER_ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/opsauto-scheduler`;
const fnArn = (name: string, region = 'us-east-1') => `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`;
/** `at(...)` for a time `ms` from the clock's now, to the second (UTC). */
const atIn = (cloud: Localcloud, ms: number) => `at(${new Date(Math.ceil((cloud.clock.nowMs() + ms) / 1000) * 1000).toISOString().slice(0, 19)})`;
const timeOf = (expression: string) => Date.parse(`${/^at\((.*)\)$/.exec(expression)![1]}Z`);

describe('localcloud EventBridge Scheduler API', () => {
  let cloud: Localcloud;
  let scheduler: SchedulerClient;
  /** What the `worker` function received, with the virtual time it ran at. */
  let received: { event: unknown; at: number }[];

  const schedule = (name: string, overrides: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput => ({
    Name: name,
    ScheduleExpression: atIn(cloud, 10 * 60_000),
    ScheduleExpressionTimezone: 'UTC',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: fnArn('worker'), RoleArn: ROLE_ARN, Input: JSON.stringify({ executionId: name }) },
    ActionAfterCompletion: 'DELETE',
    ...overrides,
  });

  beforeEach(async () => {
    cloud = await startTestCloud();
    scheduler = new SchedulerClient(clientConfig(cloud));
    received = [];
    cloud.lambda.register({ name: 'worker', handler: (event) => Promise.resolve(void received.push({ event, at: cloud.clock.nowMs() })) });
  });
  afterEach(async () => {
    scheduler.destroy();
    await cloud.stop();
  });

  describe('CreateSchedule and GetSchedule', () => {
    it('answers a created schedule with its settings and AWS defaults when GetSchedule asks for it', async () => {
      // Prepare
      const input = schedule('wake-1', { ScheduleExpressionTimezone: undefined, ActionAfterCompletion: undefined, Description: 'wake up' });

      // Act
      const { ScheduleArn } = await scheduler.send(new CreateScheduleCommand(input));
      const got = await scheduler.send(new GetScheduleCommand({ Name: 'wake-1' }));

      // Assess
      expect(ScheduleArn).toBe(`arn:aws:scheduler:us-east-1:${ACCOUNT}:schedule/default/wake-1`);
      expect(got).toMatchObject({
        Arn: ScheduleArn,
        Name: 'wake-1',
        GroupName: 'default',
        ScheduleExpression: input.ScheduleExpression,
        ScheduleExpressionTimezone: 'UTC',
        Description: 'wake up',
        State: 'ENABLED',
        ActionAfterCompletion: 'NONE',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: fnArn('worker'), RoleArn: ROLE_ARN, Input: input.Target!.Input, RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 } },
      });
      expect(Math.abs(got.CreationDate!.getTime() - cloud.clock.nowMs())).toBeLessThan(2000);
      expect(got.LastModificationDate).toEqual(got.CreationDate);
    });

    it('answers ConflictException when a schedule of that name already exists', async () => {
      // Prepare
      await scheduler.send(new CreateScheduleCommand(schedule('taken')));

      // Act
      const err = await errorWithStatusOf(scheduler.send(new CreateScheduleCommand(schedule('taken'))));

      // Assess
      expect(err).toEqual({ name: 'ConflictException', message: 'Schedule taken already exists.', status: 409 });
    });

    it('answers ResourceNotFoundException when Get, Update or Delete names a schedule that does not exist', async () => {
      // Act
      const errors = await Promise.all([
        errorWithStatusOf(scheduler.send(new GetScheduleCommand({ Name: 'missing' }))),
        errorWithStatusOf(scheduler.send(new UpdateScheduleCommand(schedule('missing')))),
        errorWithStatusOf(scheduler.send(new DeleteScheduleCommand({ Name: 'missing' }))),
      ]);

      // Assess
      for (const err of errors) expect(err).toEqual({ name: 'ResourceNotFoundException', message: 'Schedule missing does not exist.', status: 404 });
    });

    it('answers ValidationException naming each missing member when Target and FlexibleTimeWindow are left out', async () => {
      // Act
      const err = await errorWithStatusOf(scheduler.send(new CreateScheduleCommand({ ...schedule('incomplete'), Target: undefined, FlexibleTimeWindow: undefined })));

      // Assess
      expect(err.name).toBe('ValidationException');
      expect(err.status).toBe(400);
      expect(err.message).toBe(
        "2 validation errors detected: Value null at 'target' failed to satisfy constraint: Member must not be null; " +
          "Value null at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null",
      );
    });

    it.each(['at(2026-11-22T10:00:00Z)', 'at(2026-11-22)', 'rate(10 seconds)', ' rate(10 minutes)', 'rate( 10 minutes )', 'cron(0 1 * * * *)'])(
      'answers ValidationException when the schedule expression is %j',
      async (expression) => {
        // Act
        const err = await errorWithStatusOf(scheduler.send(new CreateScheduleCommand(schedule('bad-expression', { ScheduleExpression: expression }))));

        // Assess
        expect(err).toEqual({ name: 'ValidationException', message: `Invalid Schedule Expression ${expression}.`, status: 400 });
      },
    );

    it('answers ValidationException when the name has a character outside [0-9a-zA-Z-_.] or more than 64 characters', async () => {
      // Act
      const badCharacter = await errorWithStatusOf(scheduler.send(new CreateScheduleCommand(schedule('wake:1'))));
      const tooLong = await errorWithStatusOf(scheduler.send(new CreateScheduleCommand(schedule('x'.repeat(65)))));
      const longest = await scheduler.send(new CreateScheduleCommand(schedule('x'.repeat(64))));

      // Assess
      expect(badCharacter.name).toBe('ValidationException');
      expect(badCharacter.message).toContain("Value 'wake:1' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$");
      expect(tooLong.name).toBe('ValidationException');
      expect(tooLong.message).toContain('Member must have length less than or equal to 64');
      expect(longest.ScheduleArn).toMatch(/\/x{64}$/);
    });

    it('answers ValidationException when a FLEXIBLE time window has no MaximumWindowInMinutes or the role ARN is not an IAM role', async () => {
      // Act
      const flexible = await errorWithStatusOf(scheduler.send(new CreateScheduleCommand(schedule('flexible', { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }))));
      const role = await errorWithStatusOf(scheduler.send(new CreateScheduleCommand(schedule('role', { Target: { Arn: fnArn('worker'), RoleArn: 'not-a-role' } }))));

      // Assess
      expect(flexible).toMatchObject({ name: 'ValidationException', status: 400 });
      expect(role).toMatchObject({ name: 'ValidationException', status: 400 });
      expect(role.message).toContain("at 'target.roleArn'");
    });

    it('accepts an at() in the past, as AWS does, and never fires it', async () => {
      // Act
      await scheduler.send(new CreateScheduleCommand(schedule('late', { ScheduleExpression: atIn(cloud, -60 * 60_000) })));
      await cloud.advance('1d');

      // Assess
      expect(received).toEqual([]);
      expect((await scheduler.send(new GetScheduleCommand({ Name: 'late' }))).State).toBe('ENABLED');
    });

    it('answers UnknownOperationException when the request is for an operation localcloud does not emulate', async () => {
      // Act
      const res = await fetch(`${cloud.url}/schedule-groups/mine`, {
        method: 'POST',
        headers: { authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/scheduler/aws4_request, SignedHeaders=host, Signature=x' },
        body: '{}',
      });

      // Assess
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    });
  });

  describe('UpdateSchedule, DeleteSchedule and ListSchedules', () => {
    it('replaces every setting, keeping the creation date, when a schedule is updated', async () => {
      // Prepare
      await scheduler.send(new CreateScheduleCommand(schedule('moving', { Description: 'first', ActionAfterCompletion: 'DELETE' })));
      const created = await scheduler.send(new GetScheduleCommand({ Name: 'moving' }));
      await cloud.advance('1m');

      // Act
      const later = atIn(cloud, 60 * 60_000);
      await scheduler.send(new UpdateScheduleCommand({ ...schedule('moving', { ScheduleExpression: later, State: 'DISABLED' }), Description: undefined, ActionAfterCompletion: undefined }));
      const updated = await scheduler.send(new GetScheduleCommand({ Name: 'moving' }));

      // Assess: what the update left out went back to its default.
      expect(updated).toMatchObject({ ScheduleExpression: later, State: 'DISABLED', ActionAfterCompletion: 'NONE' });
      expect(updated.Description).toBeUndefined();
      expect(updated.CreationDate).toEqual(created.CreationDate);
      expect(updated.LastModificationDate!.getTime()).toBeGreaterThan(created.LastModificationDate!.getTime());
    });

    it('forgets a schedule when it is deleted', async () => {
      // Prepare
      await scheduler.send(new CreateScheduleCommand(schedule('doomed')));

      // Act
      await scheduler.send(new DeleteScheduleCommand({ Name: 'doomed' }));

      // Assess
      expect((await errorWithStatusOf(scheduler.send(new GetScheduleCommand({ Name: 'doomed' })))).name).toBe('ResourceNotFoundException');
      expect((await scheduler.send(new ListSchedulesCommand({}))).Schedules).toEqual([]);
      await cloud.advance('1h');
      expect(received).toEqual([]);
    });

    it('lists schedules by name prefix and state, a page at a time, when ListSchedules is paged', async () => {
      // Prepare
      for (const name of ['wake-c', 'wake-a', 'other', 'wake-b']) await scheduler.send(new CreateScheduleCommand(schedule(name)));
      await scheduler.send(new UpdateScheduleCommand(schedule('wake-b', { State: 'DISABLED' })));

      // Act
      const first = await scheduler.send(new ListSchedulesCommand({ NamePrefix: 'wake-', MaxResults: 2 }));
      const second = await scheduler.send(new ListSchedulesCommand({ NamePrefix: 'wake-', MaxResults: 2, NextToken: first.NextToken }));
      const disabled = await scheduler.send(new ListSchedulesCommand({ State: 'DISABLED' }));

      // Assess
      expect(first.Schedules?.map((s) => s.Name)).toEqual(['wake-a', 'wake-b']);
      expect(first.NextToken).toBeTruthy();
      expect(second.Schedules?.map((s) => s.Name)).toEqual(['wake-c']);
      expect(second.NextToken).toBeUndefined();
      expect(disabled.Schedules).toEqual([
        {
          Arn: `arn:aws:scheduler:us-east-1:${ACCOUNT}:schedule/default/wake-b`,
          Name: 'wake-b',
          GroupName: 'default',
          State: 'DISABLED',
          CreationDate: expect.any(Date) as Date,
          LastModificationDate: expect.any(Date) as Date,
          Target: { Arn: fnArn('worker') },
        },
      ]);
    });
  });

  describe('firing on the virtual clock', () => {
    it('invokes the target function once, at its time, with the Input, then deletes the schedule when ActionAfterCompletion is DELETE', async () => {
      // Prepare
      const expression = atIn(cloud, 10 * 60_000);
      await scheduler.send(new CreateScheduleCommand(schedule('wake-once', { ScheduleExpression: expression })));

      // Act: nothing yet after 9 minutes; then the clock passes the time, and goes on.
      await cloud.advance('9m');
      const before = received.length;
      await cloud.advance('2m');
      await cloud.advance('1d');

      // Assess
      expect(before).toBe(0);
      expect(received).toEqual([{ event: { executionId: 'wake-once' }, at: expect.any(Number) as number }]);
      expect(received[0].at - timeOf(expression)).toBeGreaterThanOrEqual(0);
      expect(received[0].at - timeOf(expression)).toBeLessThan(1000);
      expect((await errorWithStatusOf(scheduler.send(new GetScheduleCommand({ Name: 'wake-once' })))).name).toBe('ResourceNotFoundException');
      expect(cloud.lambda.invocations.at(-1)).toMatchObject({ function: 'worker', trigger: 'schedule wake-once', ok: true });
    });

    it('keeps a fired one-time schedule, still ENABLED, and fires it only once when ActionAfterCompletion is NONE', async () => {
      // Prepare
      await scheduler.send(new CreateScheduleCommand(schedule('kept', { ActionAfterCompletion: 'NONE' })));

      // Act
      await cloud.advance('1d');

      // Assess
      expect(received).toHaveLength(1);
      expect((await scheduler.send(new GetScheduleCommand({ Name: 'kept' }))).State).toBe('ENABLED');
    });

    it('fires an updated schedule at its new time only when the time was moved', async () => {
      // Prepare
      await scheduler.send(new CreateScheduleCommand(schedule('moved', { ScheduleExpression: atIn(cloud, 5 * 60_000) })));
      const later = atIn(cloud, 30 * 60_000);

      // Act
      await scheduler.send(new UpdateScheduleCommand(schedule('moved', { ScheduleExpression: later })));
      await cloud.advance('1h');

      // Assess
      expect(received).toHaveLength(1);
      expect(received[0].at - timeOf(later)).toBeGreaterThanOrEqual(0);
      expect(received[0].at - timeOf(later)).toBeLessThan(1000);
    });

    it('does not fire a schedule when it is DISABLED', async () => {
      // Prepare
      await scheduler.send(new CreateScheduleCommand(schedule('off', { State: 'DISABLED' })));

      // Act
      await cloud.advance('1d');

      // Assess
      expect(received).toEqual([]);
    });

    it('fires a rate schedule every period from its creation when the expression is rate()', async () => {
      // Prepare
      await scheduler.send(new CreateScheduleCommand(schedule('every-hour', { ScheduleExpression: 'rate(1 hour)', ActionAfterCompletion: 'NONE' })));

      // Act
      await cloud.advance('3h');

      // Assess
      expect(received).toHaveLength(3);
    });

    it('fills in the scheduled time and the schedule ARN when the Input uses their placeholders', async () => {
      // Prepare
      const expression = atIn(cloud, 60_000);
      const Input = '{"time":"<aws.scheduler.scheduled-time>","arn":"<aws.scheduler.schedule-arn>"}';
      await scheduler.send(new CreateScheduleCommand(schedule('placeholders', { ScheduleExpression: expression, Target: { Arn: fnArn('worker'), RoleArn: ROLE_ARN, Input } })));

      // Act
      await cloud.advance('2m');

      // Assess
      expect(received[0]?.event).toEqual({
        time: new Date(timeOf(expression)).toISOString().replace('.000Z', 'Z'),
        arn: `arn:aws:scheduler:us-east-1:${ACCOUNT}:schedule/default/placeholders`,
      });
    });

    it('keeps the failure, after Lambda retries, when the target function does not exist', async () => {
      // Prepare
      await scheduler.send(new CreateScheduleCommand(schedule('nobody', { Target: { Arn: fnArn('not-deployed'), RoleArn: ROLE_ARN, Input: '{"n":1}' } })));

      // Act
      await cloud.advance('1h');

      // Assess
      expect(cloud.lambda.failures).toHaveLength(1);
      expect(cloud.lambda.failures[0]).toMatchObject({ function: 'not-deployed', trigger: 'schedule nobody', attempt: 3, ok: false, event: { n: 1 } });
      expect(cloud.lambda.failures[0].error).toContain('no function named not-deployed');
    });

    it('lists schedules created through the API beside the stage schedules when GET /_localcloud/health is asked', async () => {
      // Prepare
      const expression = atIn(cloud, 10 * 60_000);
      await scheduler.send(new CreateScheduleCommand(schedule('listed', { ScheduleExpression: expression })));

      // Act
      const health = (await (await fetch(`${cloud.url}/_localcloud/health`)).json()) as { schedules: Record<string, unknown>[] };

      // Assess
      expect(health.schedules).toContainEqual(
        expect.objectContaining({
          source: 'api',
          name: 'listed',
          expression,
          target: fnArn('worker'),
          next: new Date(timeOf(expression)).toISOString(),
          account: ACCOUNT,
          region: 'us-east-1',
          state: 'ENABLED',
        }),
      );
    });
  });

  describe('accounts, regions and restarts', () => {
    it('keeps the schedules of each region and account apart when the same name is used in each', async () => {
      // Prepare
      const west = new SchedulerClient(clientConfig(cloud, 'eu-west-1'));
      const sts = new STSClient(clientConfig(cloud));
      const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/ops`, RoleSessionName: 'other' }));
      const other = new SchedulerClient({
        ...clientConfig(cloud),
        credentials: { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! },
      });
      await scheduler.send(new CreateScheduleCommand(schedule('shared', { Description: 'home' })));

      // Act
      const westArn = (await west.send(new CreateScheduleCommand(schedule('shared', { Description: 'west' })))).ScheduleArn;
      const otherArn = (await other.send(new CreateScheduleCommand(schedule('shared', { Description: 'other account' })))).ScheduleArn;

      // Assess
      expect(westArn).toBe(`arn:aws:scheduler:eu-west-1:${ACCOUNT}:schedule/default/shared`);
      expect(otherArn).toBe(`arn:aws:scheduler:us-east-1:${OTHER_ACCOUNT}:schedule/default/shared`);
      expect((await scheduler.send(new GetScheduleCommand({ Name: 'shared' }))).Description).toBe('home');
      expect((await west.send(new GetScheduleCommand({ Name: 'shared' }))).Description).toBe('west');
      expect((await other.send(new GetScheduleCommand({ Name: 'shared' }))).Description).toBe('other account');
      await west.send(new DeleteScheduleCommand({ Name: 'shared' }));
      expect((await scheduler.send(new ListSchedulesCommand({}))).Schedules?.map((s) => s.Name)).toEqual(['shared']);
      for (const client of [west, sts, other]) client.destroy();
    });

    it('keeps a schedule across a restart and fires it once at its time when the clock passes it afterwards', async () => {
      // Prepare: a schedule, persisted, then a stop.
      const dir = join(mkdtempSync(join(tmpdir(), 'localcloud-scheduler-')), '.localcloud');
      const first = await startTestCloud({ dataDir: dir });
      const firstClient = new SchedulerClient(clientConfig(first));
      const expression = atIn(first, 10 * 60_000);
      await firstClient.send(new CreateScheduleCommand(schedule('survivor', { ScheduleExpression: expression })));
      firstClient.destroy();
      await first.stop();

      // Act
      const second = await startTestCloud({ dataDir: dir });
      const secondClient = new SchedulerClient(clientConfig(second));
      const runs: number[] = [];
      second.lambda.register({ name: 'worker', handler: () => Promise.resolve(void runs.push(second.clock.nowMs())) });
      const kept = await secondClient.send(new GetScheduleCommand({ Name: 'survivor' }));
      await second.advance('1h');

      // Assess
      expect(kept.ScheduleExpression).toBe(expression);
      expect(runs).toHaveLength(1);
      expect(runs[0] - timeOf(expression)).toBeGreaterThanOrEqual(0);
      expect(runs[0] - timeOf(expression)).toBeLessThan(1000);
      expect((await errorWithStatusOf(secondClient.send(new GetScheduleCommand({ Name: 'survivor' })))).name).toBe('ResourceNotFoundException');
      secondClient.destroy();
      await second.stop();
      await removeDir(join(dir, '..'));
    });
  });
});
