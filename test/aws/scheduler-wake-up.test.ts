import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, SchedulerWakeUp } from '@opsauto/aws';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:runbook-worker';
const ROLE_ARN = 'arn:aws:iam::000000000000:role/opsauto-wake-up';
const PREFIX = 'opsauto-test-wake-';
const KEY = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('SchedulerWakeUp on localcloud', () => {
  let cloud: Localcloud;
  let scheduler: SchedulerClient;
  let wakeUp: SchedulerWakeUp;
  /** What the worker received, with the virtual time it ran at. */
  let runs: { event: unknown; at: number }[];

  const inMinutes = (minutes: number, extraMs = 0) => new Date(cloud.clock.nowMs() + minutes * 60_000 + extraMs);
  const schedules = async () => (await scheduler.send(new ListSchedulesCommand({}))).Schedules ?? [];

  beforeEach(async () => {
    cloud = await startTestCloud();
    scheduler = new SchedulerClient(clientConfig(cloud));
    wakeUp = new SchedulerWakeUp(new AwsClients('us-east-1', clientConfig(cloud)), { functionArn: FUNCTION_ARN, roleArn: ROLE_ARN, namePrefix: PREFIX, now: () => cloud.clock.now() });
    runs = [];
    cloud.lambda.register({ name: 'runbook-worker', handler: (event) => Promise.resolve(void runs.push({ event, at: cloud.clock.nowMs() })) });
  });
  afterEach(async () => {
    scheduler.destroy();
    await cloud.stop();
  });

  it('keeps one one-time schedule, at the later time, when the same key is scheduled twice', async () => {
    // Prepare
    const first = inMinutes(10);
    const second = inMinutes(30);

    // Act
    await wakeUp.schedule(KEY, first);
    await wakeUp.schedule(KEY, second);

    // Assess
    expect((await schedules()).map((s) => s.Name)).toEqual([`${PREFIX}${KEY}`]);
    const got = await scheduler.send(new GetScheduleCommand({ Name: `${PREFIX}${KEY}` }));
    expect(got).toMatchObject({
      ScheduleExpression: `at(${new Date(Math.ceil(second.getTime() / 1000) * 1000).toISOString().slice(0, 19)})`,
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: { Arn: FUNCTION_ARN, RoleArn: ROLE_ARN },
    });
    expect(JSON.parse(got.Target!.Input!)).toEqual({ executionId: KEY, wakeAt: second.toISOString() });
  });

  it('invokes the function once with the key, at the wake-up time rounded up to the second, when the clock passes it', async () => {
    // Prepare: a time between two seconds; an earlier wake-up for the key that the later one replaces.
    const at = inMinutes(10, 250);
    await wakeUp.schedule(KEY, inMinutes(5));
    await wakeUp.schedule(KEY, at);

    // Act
    await cloud.advance('9m');
    const early = runs.length;
    await cloud.advance('1h');

    // Assess
    expect(early).toBe(0);
    expect(runs).toEqual([{ event: { executionId: KEY, wakeAt: at.toISOString() }, at: expect.any(Number) as number }]);
    const fireTime = Math.ceil(at.getTime() / 1000) * 1000;
    expect(runs[0].at - fireTime).toBeGreaterThanOrEqual(0);
    expect(runs[0].at - fireTime).toBeLessThan(1000);
    // ActionAfterCompletion DELETE: the schedule is gone once it has fired, so the key can be scheduled anew.
    expect(await schedules()).toEqual([]);
  });

  it('sets the wake-up a second or two ahead when the time asked for has already passed', async () => {
    // Act
    await wakeUp.schedule(KEY, inMinutes(-60));
    await cloud.advance('3s');

    // Assess
    expect(runs).toHaveLength(1);
  });

  it('removes the wake-up when the key is cancelled, and does not fail when the key has none', async () => {
    // Prepare
    await wakeUp.schedule(KEY, inMinutes(10));

    // Act
    await wakeUp.cancel(KEY);
    await wakeUp.cancel(KEY);
    await cloud.advance('1h');

    // Assess
    expect(await schedules()).toEqual([]);
    expect(runs).toEqual([]);
  });

  it('names each key its own valid schedule when the key is too long or has characters a name may not', async () => {
    // Prepare
    const long = `${'a'.repeat(70)}-1`;
    const otherLong = `${'a'.repeat(70)}-2`;
    const odd = 'run/42:step#3';

    // Act
    for (const key of [long, otherLong, odd]) await wakeUp.schedule(key, inMinutes(10));
    await cloud.advance('1h');

    // Assess: three schedules, each fired for its own key.
    const names = [long, otherLong, odd].map((k) => wakeUp.nameOf(k));
    for (const name of names) expect(name).toMatch(/^[0-9a-zA-Z\-_.]{1,64}$/);
    expect(new Set(names).size).toBe(3);
    expect(runs.map((r) => (r.event as { executionId: string }).executionId).sort()).toEqual([long, otherLong, odd].sort());
  });
});
