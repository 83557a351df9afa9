import { GetTopicAttributesCommand, ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { DescribeParametersCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { defineConfig } from '@opsauto/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { cliAgainst } from '../helpers/cli.js';
import { clientConfig } from '../helpers/localcloud.js';
import { DAILY_BACKGROUND } from '../helpers/stage.js';

// Parameter expiry on the local stage, as deployed: policies set with the CLI, a week of the virtual clock in daily
// steps (the daily sweep runs at 07:00 UTC; localcloud fires each policy at its due time as a Policy Action event),
// then what reached the stage's SNS topics and what `opsauto params notifications` lists.

const DAY = 86_400_000;
/** 08:00 UTC of the day after the stage started: day 0 of the test. */
let start: number;
/** `days` after day 0's midnight, at `time` (UTC), as AWS and opsauto print it. */
const on = (days: number, time = '00:00') => new Date(start - 8 * 3_600_000 + days * DAY + Date.parse(`1970-01-01T${time}:00.000Z`)).toISOString();
const SECRET = 'pA55-never-in-a-message';
const DB = '/e2e/payments/db-password';
const KEY = '/e2e/app/api-key';
const TOKEN = '/e2e/app/token';

let stage: Stage;
let sns: SNSClient;
let ssm: SSMClient;
const { opsauto, printed } = cliAgainst(() => stage.cloud.url);

interface Message {
  subject?: string;
  message: string;
}
const messages = async (topicArn: string) => (await (await fetch(`${stage.cloud.url}/_localcloud/sns/messages?topicArn=${encodeURIComponent(topicArn)}`)).json()) as Message[];
const about = (ms: Message[], name: string) => ms.filter((m) => m.message.startsWith(`Parameter: ${name}\n`));
const dueOf = (m: Message) => /^Due: (.+)$/m.exec(m.message)?.[1];

beforeAll(async () => {
  // No runbooks here: the runbook tick (every 5 minutes by default) would only add 8 empty Queries a tick.
  stage = await startStage({ config: defineConfig({ regions: ['us-east-1'], ...DAILY_BACKGROUND }), port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  // Forward to 08:00 tomorrow, running what falls due on the way (setting a clock back would leave the schedules
  // armed at their later times).
  start = (Math.floor(stage.cloud.clock.nowMs() / DAY) + 1) * DAY + 8 * 3_600_000;
  await stage.cloud.advance(start - stage.cloud.clock.nowMs());
  sns = new SNSClient(clientConfig(stage.cloud));
  ssm = new SSMClient(clientConfig(stage.cloud));
  // A standard SecureString that the CLI moves to the advanced tier with an expiry and two reminders.
  await ssm.send(new PutParameterCommand({ Name: DB, Value: SECRET, Type: 'SecureString', Tags: [{ Key: 'team', Value: 'payments' }] }));
  // A standard parameter whose expiry is a tag (reminders 15d and 1d from the config's defaults).
  await ssm.send(new PutParameterCommand({ Name: KEY, Value: SECRET, Type: 'SecureString', Tags: [{ Key: 'owner', Value: 'alice' }, { Key: 'opsauto:expires-at', Value: on(16).slice(0, 10) }] }));
  // An advanced parameter that must change every 2 days.
  await ssm.send(
    new PutParameterCommand({
      Name: TOKEN,
      Value: SECRET,
      Type: 'SecureString',
      Tier: 'Advanced',
      Policies: '[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"2","Unit":"Days"}}]',
      Tags: [{ Key: 'owner', Value: 'alice' }],
    }),
  );
  await opsauto('params', 'policy', 'set', DB, '--expires', on(6, '12:00'), '--notify-before', '4d', '--notify-before', '1d', '--allow-advanced');
  // A week, a day at a time: days 1 to 7, 08:00 UTC.
  for (let day = 1; day <= 7; day++) await stage.cloud.advance('1d');
}, 240_000);
afterAll(async () => {
  sns?.destroy();
  ssm?.destroy();
  await stage?.stop();
});

describe('parameter expiry on the local stage', () => {
  it('creates the notification and escalation topics with alias/aws/sns, as the stacks do', async () => {
    const { Topics } = await sns.send(new ListTopicsCommand({}));
    expect((Topics ?? []).map((t) => t.TopicArn)).toEqual(expect.arrayContaining([stage.topics.notification, stage.topics.escalation]));
    expect(stage.topics.notification).toBe('arn:aws:sns:us-east-1:000000000000:opsauto-local-notifications');
    expect(stage.topics.escalation).toBe('arn:aws:sns:us-east-1:000000000000:opsauto-local-escalations');
    const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: stage.topics.notification }));
    expect(Attributes?.KmsMasterKeyId).toBe('alias/aws/sns');
  });

  it('localcloud emitted the policy events of the CLI-set policies at their due times, and deleted the expired parameter', async () => {
    const events = (await (await fetch(`${stage.cloud.url}/_localcloud/events`)).json()) as { source: string; 'detail-type': string; time: string; detail: Record<string, string> }[];
    const policyEvents = events.filter((e) => e.source === 'aws.ssm' && e['detail-type'] === 'Parameter Store Policy Action' && e.detail['parameter-name'] === DB);
    expect(policyEvents.map((e) => [e.detail['policy-type'], e.time])).toEqual([
      ['ExpirationNotification', on(2, '12:00').replace('.000Z', 'Z')],
      ['ExpirationNotification', on(5, '12:00').replace('.000Z', 'Z')],
      ['Expiration', on(6, '12:00').replace('.000Z', 'Z')],
    ]);
    await expect(ssm.send(new GetParameterCommand({ Name: DB }))).rejects.toMatchObject({ name: 'ParameterNotFound' });
  });

  it('sends one notice per due date whether the event or the sweep saw it first, and one escalation', async () => {
    const notices = await messages(stage.topics.notification);
    const db = about(notices, DB);
    expect(db.map((m) => [m.subject, dueOf(m)])).toEqual([
      [`opsauto: ${DB} expires ${on(6, '12:00')}`, on(2, '12:00')],
      [`opsauto: ${DB} expires ${on(6, '12:00')}`, on(5, '12:00')],
      [`opsauto: ${DB} expired and was deleted by Parameter Store`, on(6, '12:00')],
    ]);
    expect(db[0].message).toContain('Owner: payments (tag team)');
    expect(db[0].message).toContain(`Extend the expiry: opsauto params policy set ${DB} --expires-in 90d`);
    // The tag-based expiry: only the 15-day reminder is due within the week, sent by the sweep.
    expect(about(notices, KEY).map((m) => [m.subject, dueOf(m)])).toEqual([[`opsauto: ${KEY} expires ${on(16)}`, on(1)]]);
    // Unchanged for 2 days since it was written on day 0: due then, once (a no-change notice fires once per last change).
    const written = (await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [TOKEN] }] }))).Parameters![0].LastModifiedDate!;
    expect(about(notices, TOKEN).map((m) => [m.subject, dueOf(m)])).toEqual([[`opsauto: ${TOKEN} has not changed (notify after 2d without change)`, new Date(written.getTime() + 2 * DAY).toISOString()]]);
    // Within 3 days of expiry and unchanged since the first reminder: the 1-day reminder escalates, once.
    const escalations = await messages(stage.topics.escalation);
    expect(escalations.map((m) => m.subject)).toEqual([`opsauto ESCALATION: ${DB} expires ${on(6, '12:00')}, still unchanged`]);
    expect(JSON.stringify([notices, escalations])).not.toContain(SECRET);
  });

  it('publishes a digest per owner at each daily sweep while deadlines lie ahead', async () => {
    const digests = (await messages(stage.topics.notification)).filter((m) => m.subject?.includes('parameter deadline'));
    const payments = digests.filter((m) => m.subject!.endsWith('(payments)'));
    const alice = digests.filter((m) => m.subject!.endsWith('(alice)'));
    // Sweeps at 07:00 on days 1 to 7: payments has deadlines ahead until the expiry on day 6, alice all week.
    expect(payments).toHaveLength(6);
    expect(alice).toHaveLength(7);
    expect(payments[0].message).toContain(DB);
    expect(alice[0].message).toContain(KEY);
  });

  it('opsauto params notifications lists the notices sent and what Parameter Store deleted', async () => {
    const sent = JSON.parse(await opsauto('--json', 'params', 'notifications', '--parameter', DB)) as { kind: string; dueAt: string; status: string }[];
    expect(sent.map((n) => [n.kind, n.dueAt, n.status])).toEqual([
      ['Expiration', on(6, '12:00'), 'sent'],
      // One escalation per expiry: keyed by the expiry it is about.
      ['Escalation', on(6, '12:00'), 'sent'],
      ['ExpirationNotification', on(5, '12:00'), 'sent'],
      ['ExpirationNotification', on(2, '12:00'), 'sent'],
    ]);
    const expired = await opsauto('params', 'notifications', '--expired');
    expect(expired).toContain(DB);
    expect(printed.join('\n')).not.toContain(SECRET);
  });

});
