import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { AddTagsToResourceCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoNoticeStore } from '@opsauto/aws';
import { manifest } from '@opsauto/functions';
import { defineConfig } from '@opsauto/core';
import type { Localcloud, LambdaHandler } from '@opsauto/localcloud';
import { handler as rawHandler } from '../../../packages/functions/src/handlers/param-policy-events.js';
import { fixture } from '../../helpers/fixtures.js';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { captureMetrics } from '../../helpers/metrics.js';
import { functionEnvironment } from '../../helpers/table.js';

type Handler = (event: unknown, context: unknown) => Promise<any>;
const handler = rawHandler as unknown as Handler;

interface Message {
  topicArn: string;
  subject?: string;
  message: string;
  messageAttributes: Record<string, { StringValue?: string }>;
}

let cloud: Localcloud;
let table: string;
let ssm: SSMClient;
let sns: SNSClient;
let store: DynamoNoticeStore;
const topics: Record<'notification' | 'escalation' | 'payments', string> = { notification: '', escalation: '', payments: '' };

const messages = async (topicArn: string): Promise<Message[]> => {
  const res = await fetch(`${cloud.url}/_localcloud/sns/messages?topicArn=${encodeURIComponent(topicArn)}`);
  return (await res.json()) as Message[];
};

// The handler was imported before any environment was set: its metrics are on (no POWERTOOLS_DEV), kept here.
const metrics = captureMetrics();

beforeAll(async () => {
  cloud = await startTestCloud();
  ssm = new SSMClient(clientConfig(cloud));
  sns = new SNSClient(clientConfig(cloud));
  const create = async (Name: string) => (await sns.send(new CreateTopicCommand({ Name, Attributes: { KmsMasterKeyId: 'alias/aws/sns' } }))).TopicArn!;
  topics.notification = await create('opsauto-test-notifications');
  topics.escalation = await create('opsauto-test-escalations');
  topics.payments = await create('payments-alerts');
});

beforeEach(async () => {
  table = await functionEnvironment(cloud);
  Object.assign(process.env, {
    NOTIFICATION_TOPIC_ARN: topics.notification,
    ESCALATION_TOPIC_ARN: topics.escalation,
    OPSAUTO_CONFIG: JSON.stringify({ regions: ['us-east-1'], parameterExpiry: { routes: [{ match: { tag: 'team', value: 'payments' }, topic: topics.payments }] } }),
  });
  store = new DynamoNoticeStore(new AwsClients('us-east-1', clientConfig(cloud)), table);
  cloud.faults.set([]);
  metrics.clear();
});

afterAll(async () => {
  metrics.restore();
  ssm.destroy();
  sns.destroy();
  await cloud.stop();
});

describe('param-policy-events', () => {
  it('sends one notice for the real NoChangeNotification sample, however often it comes, to the default topic', async () => {
    // Prepare
    await ssm.send(new PutParameterCommand({ Name: 'foo', Value: 'bar', Type: 'String', Tier: 'Advanced', Policies: '[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"2","Unit":"Hours"}}]', Tags: [{ Key: 'owner', Value: 'alice' }] }));
    const event = fixture('events/community-copy__parameter-store-policy-action_NoChangeNotification.json');
    const before = (await messages(topics.notification)).length;
    // Act
    const first = await handler(event, fakeContext('param-policy-events'));
    const again = await handler(event, fakeContext('param-policy-events'));
    // Assess: the parameter was written after the sample's time, so the notice is due at the event's time.
    expect(first).toEqual({ outcome: 'sent', parameter: 'foo', kind: 'NoChangeNotification', dueAt: '2017-05-22T16:43:48.000Z' });
    expect(again.outcome).toBe('duplicate');
    const sent = (await messages(topics.notification)).slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].subject).toBe('opsauto: foo has not changed (notify after 2h without change)');
    expect(sent[0].message).toContain('Owner: alice (tag owner)');
    expect(sent[0].message).not.toContain('bar');
    expect(sent[0].messageAttributes.kind?.StringValue).toBe('NoChangeNotification');
    expect(await store.list({ parameter: 'foo' })).toMatchObject([{ key: 'foo#NoChangeNotification#2017-05-22T16:43:48.000Z', status: 'sent', channel: topics.notification, via: 'event' }]);
    expect(await store.lastSeen('foo')).toMatchObject({ name: 'foo', tier: 'Advanced', tags: { owner: 'alice' } });
    // The first delivery sent a notice; the duplicate counts nothing.
    expect(metrics.values()).toEqual({ NotificationsSent: [1] });
  });

  it('counts NotificationsFailed when SNS fails the notice, and the invocation fails so that Lambda retries it', async () => {
    // Prepare
    await ssm.send(new PutParameterCommand({ Name: 'flaky', Value: 'v', Type: 'String', Tier: 'Advanced', Policies: '[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"2","Unit":"Hours"}}]' }));
    const event = fixture('events/community-copy__parameter-store-policy-action_NoChangeNotification.json');
    event.detail['parameter-name'] = 'flaky';
    cloud.faults.set([{ service: 'sns', operation: 'Publish', errorRate: 1 }]);
    // Act
    const failed = handler(event, fakeContext('param-policy-events'));
    // Assess
    await expect(failed).rejects.toBeDefined();
    expect(metrics.values()).toEqual({ NotificationsFailed: [1] });
  });

  it('ignores events that are not policy actions, with a reason, and refuses a policy action without a parameter name', async () => {
    // Prepare
    const other = fixture('events/awsdocs-ec2__ami-state-change_available.json');
    const sample = fixture('events/community-copy__parameter-store-policy-action_NoChangeNotification.json');
    delete (sample.detail as Record<string, unknown>)['parameter-name'];
    // Act
    const ignored = await handler(other, fakeContext('param-policy-events'));
    const refused = handler(sample, fakeContext('param-policy-events'));
    // Assess
    expect(ignored).toEqual({ outcome: 'ignored', reason: 'not a Parameter Store policy event (source aws.ec2, detail-type EC2 AMI State Change)' });
    await expect(refused).rejects.toThrow('detail.parameter-name: parameter-name (or name) is required');
    // Neither is a notification, sent or failed.
    expect(metrics.values()).toEqual({});
  });

  it("turns localcloud's policy events on the virtual clock into a reminder, an expiry record and one escalation, routed by tag", async () => {
    // Prepare: the function on its manifest trigger, as the local stage wires it.
    const definition = manifest(defineConfig({ regions: ['us-east-1'] })).find((d) => d.name === 'param-policy-events')!;
    const trigger = definition.triggers[0];
    if (trigger.type !== 'event') throw new Error('param-policy-events has an event trigger');
    cloud.lambda.register({ name: definition.name, handler: rawHandler as unknown as LambdaHandler, timeoutSeconds: definition.timeoutSeconds, memoryMB: definition.memoryMB });
    cloud.bus.putRule({ name: `${definition.name}.${trigger.name}`, pattern: trigger.pattern, targets: [definition.name], region: 'us-east-1' });
    const expires = new Date(cloud.clock.nowMs() + 3 * 86_400_000).toISOString();
    await ssm.send(
      new PutParameterCommand({
        Name: '/db/password',
        Value: 's3cr3t-value',
        Type: 'SecureString',
        Tier: 'Advanced',
        Policies: JSON.stringify([
          { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: expires } },
          { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '2', Unit: 'Days' } },
        ]),
      }),
    );
    await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/db/password', Tags: [{ Key: 'team', Value: 'payments' }] }));
    const escalationsBefore = (await messages(topics.escalation)).length;

    // Act + Assess: the reminder, 2 days before the expiry.
    await cloud.advance('1d');
    const reminders = await messages(topics.payments);
    expect(reminders.map((m) => m.subject)).toEqual([`opsauto: /db/password expires ${new Date(Date.parse(expires)).toISOString()}`]);
    expect(reminders[0].message).toContain('Owner: payments (tag team)');
    expect(reminders[0].message).not.toContain('s3cr3t-value');

    // Act + Assess: the expiry deletes the parameter; its owner hears, and the unchanged parameter is escalated once.
    await cloud.advance('2d');
    expect((await messages(topics.payments)).map((m) => m.subject)).toEqual([reminders[0].subject, 'opsauto: /db/password expired and was deleted by Parameter Store']);
    const escalations = (await messages(topics.escalation)).slice(escalationsBefore);
    expect(escalations.map((m) => m.subject)).toEqual([`opsauto ESCALATION: /db/password expires ${new Date(Date.parse(expires)).toISOString()}, still unchanged`]);
    expect(await store.listExpired({})).toMatchObject([
      { parameter: '/db/password', policy: `expires ${new Date(Date.parse(expires)).toISOString()}`, lastVersion: { type: 'SecureString', tier: 'Advanced', version: 1, tags: { team: 'payments' } } },
    ]);
    expect((await store.list({ parameter: '/db/password' })).map((n) => [n.kind, n.status, n.channel])).toEqual([
      ['Expiration', 'sent', topics.payments],
      ['Escalation', 'sent', topics.escalation],
      ['ExpirationNotification', 'sent', topics.payments],
    ]);
  });
});
