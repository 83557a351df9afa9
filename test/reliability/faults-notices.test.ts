import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../packages/cli/src/stage.js';
import {
  activationHosts,
  createToken,
  everyFault,
  faultPhases,
  noticesAbout,
  postActivation,
  reliabilityClients,
  serviceDown,
  snsMessages,
  startReliabilityStage,
} from '../helpers/reliability.js';

// The jobs that answer people, end to end on one local stage while AWS misbehaves (parameter-expiry notices, the
// activation API; the fleet's jobs are in faults.test.ts): every service throttling 20% of calls, failing 5% with
// its 5xx error and answering 50 ms late; then one service down for minutes of virtual time; then the clock moved
// on. Nothing is lost (every due notice sent, every server that retries gets its activation) and nothing is done
// twice (one notice per due date, one activation per idempotency key); a failure reaches a booting server only
// as a retryable 503 with Retry-After.

let stage: Stage;
let c: ReturnType<typeof reliabilityClients>;
let figures: ReturnType<typeof faultPhases>['figures'];
let withFaults: ReturnType<typeof faultPhases>['withFaults'];
let recordTotals: ReturnType<typeof faultPhases>['recordTotals'];

beforeAll(async () => {
  stage = await startReliabilityStage();
  c = reliabilityClients(stage);
  ({ figures, withFaults, recordTotals } = faultPhases(stage));
});
afterAll(async () => {
  stage?.cloud.faults.set([]);
  console.info(`reliability faults (parameter notices, activations): ${JSON.stringify(figures)}`);
  recordTotals(import.meta.url);
  await stage?.stop();
});

describe('parameter-expiry notifications under faults', () => {
  const NAME = '/faults/db-password';
  const DAY = 86_400_000;

  it('sends each due notice once, under every fault and with SNS down at the expiry', async () => {
    // Prepare: 08:00 UTC tomorrow; a parameter expiring at 12:00 two days later, with a reminder a day before.
    const start = (Math.floor(stage.cloud.clock.nowMs() / DAY) + 1) * DAY + 8 * 3_600_000;
    await stage.cloud.advance(start - stage.cloud.clock.nowMs());
    const expiry = new Date(start + 2 * DAY + 4 * 3_600_000);
    const reminder = new Date(expiry.getTime() - DAY);
    const policies = [
      { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: expiry.toISOString() } },
      { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '1', Unit: 'Days' } },
    ];
    await c.ssm.send(new PutParameterCommand({ Name: NAME, Value: 'never-in-a-notice', Type: 'SecureString', Tier: 'Advanced', Policies: JSON.stringify(policies), Tags: [{ Key: 'owner', Value: 'dba' }] }));

    // Act 1: the reminder falls due under every fault (and a daily sweep runs on the way).
    await withFaults('param-expiry: every fault', everyFault(), () => stage.cloud.advance(reminder.getTime() + 3_600_000 - stage.cloud.clock.nowMs()));
    // Act 2: SNS is down from a minute before the expiry to two minutes after it.
    await stage.cloud.advance(expiry.getTime() - 60_000 - stage.cloud.clock.nowMs());
    await withFaults('param-expiry: SNS down', serviceDown('sns'), () => stage.cloud.advance('3m'));
    // Then two more days: Lambda's last retry, and two daily sweeps that must not send anything again.
    await stage.cloud.advance('2d');

    // Assess
    const notices = noticesAbout(await snsMessages(stage, stage.topics.notification), NAME);
    expect(notices.map((n) => n.due).sort(), JSON.stringify(stage.cloud.lambda.failures)).toEqual([reminder.toISOString(), expiry.toISOString()]);
    expect(notices.find((n) => n.due === expiry.toISOString())?.subject).toMatch(/expired/);
  }, 60_000);
});

describe('hybrid activations under faults', () => {
  it('issues one activation per idempotency key, answering a failure only with a retryable 503', async () => {
    // Prepare
    const { token, id } = await createToken(stage, c.tokens, 'faults', 10);
    const hosts = ['node-1', 'node-2', 'node-3'];
    const answers: { status: number; retryAfter: string | null; error?: string }[] = [];
    /** A booting server: retries with the same key until it has an activation (at most 10 tries). */
    async function boot(host: string): Promise<Record<string, string> | undefined> {
      for (let attempt = 0; attempt < 10; attempt++) {
        const res = await postActivation(stage, token, host, `boot-${host}`);
        answers.push({ status: res.status, retryAfter: res.retryAfter, error: res.body.error });
        if (res.status === 200) return res.body;
      }
      return undefined;
    }

    // Act 1: three servers boot under every fault; one of them boots twice (same key).
    const issued = await withFaults('activations: every fault', everyFault(), async () => [await boot('node-1'), await boot('node-2'), await boot('node-1')]);
    // Act 2: with SSM down the third server is refused with 503; once SSM is back, its retry succeeds.
    const refused = await withFaults('activations: SSM down', serviceDown('ssm'), () => postActivation(stage, token, 'node-3', 'boot-node-3'));
    await stage.cloud.advance('1m');
    const third = await boot('node-3');

    // Assess
    expect(issued.every(Boolean), JSON.stringify(answers)).toBe(true);
    expect(issued[2]).toEqual(issued[0]);
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(refused.retryAfter).toMatch(/^\d+$/);
    expect(third?.activationId).toMatch(/.+/);
    expect(answers.filter((a) => a.status !== 200).map((a) => [a.status, Boolean(a.retryAfter)])).toEqual(answers.filter((a) => a.status !== 200).map(() => [503, true]));
    expect(await activationHosts(c.ssm)).toEqual(hosts);
    expect((await c.tokens.get(id))?.uses).toBe(3);
  }, 60_000);
});
