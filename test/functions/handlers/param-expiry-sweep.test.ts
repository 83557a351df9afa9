import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryNoticeStore, type Deadline, type ParameterSummary, type SendNotice } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import type { NoticeWiringFactory } from '../../../packages/functions/src/param-notices.js';
import { fixture } from '../../helpers/fixtures.js';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { captureMetrics } from '../../helpers/metrics.js';
import { functionEnvironment } from '../../helpers/table.js';

type Handler = (event: unknown, context: unknown) => Promise<any>;
type Factory = (wiring: NoticeWiringFactory) => Handler;

const DAY = 86_400_000;
let cloud: Localcloud;
let sweepHandler: Factory;
let deployed: Handler;
let topicArn: string;
let now: number;
let metrics: ReturnType<typeof captureMetrics>;

beforeAll(async () => {
  metrics = captureMetrics();
  cloud = await startTestCloud();
  now = Math.ceil(cloud.clock.nowMs() / DAY) * DAY + 7 * 3_600_000;
  await cloud.clock.set(new Date(now));
  const iso = (ms: number) => new Date(ms).toISOString();
  cloud.seed({
    regions: {
      'us-east-1': {
        parameters: [
          {
            name: '/db/password',
            value: 'hunter2-secret',
            type: 'SecureString',
            tier: 'Advanced',
            tags: { team: 'payments' },
            policies: [
              { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: iso(now + 10 * DAY) } },
              { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '15', Unit: 'Days' } },
            ],
          },
          { name: '/app/api-key', value: 'v', tags: { 'opsauto:expires-at': iso(now + 20 * DAY), owner: 'alice' } },
          ...Array.from({ length: 30 }, (_, i) => ({ name: `/app/plain/p${i}`, value: 'v' })),
        ],
      },
    },
  });
  await functionEnvironment(cloud, 'SILENT', { metrics: true });
  topicArn = (await new SNSClient(clientConfig(cloud)).send(new CreateTopicCommand({ Name: 'opsauto-test-notifications' }))).TopicArn!;
  Object.assign(process.env, { NOTIFICATION_TOPIC_ARN: topicArn, ESCALATION_TOPIC_ARN: topicArn.replace(/notifications$/, 'escalations') });
  ({ paramExpirySweepHandler: sweepHandler, handler: deployed } = (await import('../../../packages/functions/src/handlers/param-expiry-sweep.js')) as { paramExpirySweepHandler: Factory; handler: Handler });
});
afterAll(async () => {
  metrics.restore();
  await cloud.stop();
});

/** The notice sender's contract (once per parameter, kind and due time), recording what it was asked to send. */
function memoryWiring(fail?: string) {
  const keys = new Set<string>();
  const sent: Deadline[] = [];
  const remembered: ParameterSummary[] = [];
  const send: SendNotice = (d, p) => {
    if (p.name === fail) return Promise.reject(new Error('SNS said no'));
    const key = `${d.parameter}#${d.kind}#${d.dueAt}`;
    if (keys.has(key)) return Promise.resolve('duplicate');
    keys.add(key);
    sent.push(d);
    return Promise.resolve('sent');
  };
  const digests = new InMemoryNoticeStore();
  const factory: NoticeWiringFactory = ({ topics }) => ({
    send,
    store: { rememberParameter: (p) => Promise.resolve(void remembered.push(p)), claimDigest: (k) => digests.claimDigest(k), releaseDigest: (k) => digests.releaseDigest(k) },
    route: () => topics.default,
  });
  return { factory, sent, remembered };
}

const messages = async () => (await (await fetch(`${cloud.url}/_localcloud/sns/messages?topicArn=${encodeURIComponent(topicArn)}`)).json()) as { subject?: string; message: string }[];

/** AWS's Scheduled Event sample at the sweep's scheduled time. */
const scheduled = () => ({ ...fixture('events/awsdocs-eventbridge__scheduled-event.json'), id: `sweep-${now}`, time: new Date(now).toISOString() });

describe('param-expiry-sweep handler', () => {
  it('sends the due reminder and a digest per owner once when one scheduled run is delivered twice, never a value', async () => {
    // Prepare
    const { factory, sent, remembered } = memoryWiring();
    const handler = sweepHandler(factory);
    const before = (await messages()).length;
    metrics.clear();

    // Act
    const first = await handler(scheduled(), fakeContext('param-expiry-sweep'));
    const second = await handler(scheduled(), fakeContext('param-expiry-sweep'));

    // Assert
    expect(first.summary).toEqual({ listed: 2, withDeadlines: 2, sent: 1, duplicates: 0, digests: 2, digestDuplicates: 0, failures: [], failed: 0 });
    // The same scheduled event again (a second delivery, or Lambda's retry): its digests were sent.
    expect(second.summary).toMatchObject({ sent: 0, duplicates: 1, digests: 0, digestDuplicates: 2 });
    expect(sent).toEqual([expect.objectContaining({ parameter: '/db/password', kind: 'ExpirationNotification', source: 'policy' })]);
    expect(remembered.map((p) => p.name).sort()).toEqual(['/app/api-key', '/app/api-key', '/db/password', '/db/password']);
    const digests = (await messages()).slice(before);
    expect(digests.map((m) => m.subject).sort()).toEqual([
      'opsauto: 2 parameter deadlines in the next 30 days (payments)',
      'opsauto: 3 parameter deadlines in the next 30 days (alice)',
    ]);
    expect(JSON.stringify(digests)).not.toContain('hunter2');
    // Per run: the reminder and the two digests, then nothing.
    expect(metrics.values()).toEqual({ NotificationsSent: [3, 0], NotificationsFailed: [0, 0] });
  });

  it('runs when invoked by hand with {} and refuses any other input naming it', async () => {
    // Prepare
    const handler = sweepHandler(memoryWiring().factory);

    // Act
    const out = await handler({}, fakeContext('param-expiry-sweep'));

    // Assert
    expect(out.summary).toMatchObject({ listed: 2, withDeadlines: 2 });
    await expect(handler({ dryRun: 'yes' }, fakeContext('param-expiry-sweep'))).rejects.toThrow(/invalid event/);
  });

  it('fails the invocation naming the parameter whose notice failed, after handling the others', async () => {
    // Prepare
    const { factory, remembered } = memoryWiring('/db/password');
    const handler = sweepHandler(factory);
    metrics.clear();

    // Act
    const run = handler(scheduled(), fakeContext('param-expiry-sweep'));

    // Assert
    await expect(run).rejects.toThrow("parameter expiry sweep: 1 parameters' notices failed (the others were sent): /db/password: Error: SNS said no");
    expect(remembered.map((p) => p.name).sort()).toEqual(['/app/api-key', '/db/password']);
    // Counted although the invocation failed: the metrics are flushed on error too.
    expect(metrics.values().NotificationsFailed).toEqual([1]);
  });

  it('as deployed, claims each notice in the table: the reminder reaches the topic once over two runs, without the value', async () => {
    // Prepare
    const reminders = async () => (await messages()).filter((m) => m.message.includes('/db/password') && !m.subject?.includes('parameter deadlines'));
    const before = (await reminders()).length;

    // Act
    const first = await deployed(scheduled(), fakeContext('param-expiry-sweep'));
    const second = await deployed(scheduled(), fakeContext('param-expiry-sweep'));

    // Assert
    expect(first.summary).toMatchObject({ listed: 2, withDeadlines: 2, sent: 1, duplicates: 0, failed: 0 });
    expect(second.summary).toMatchObject({ sent: 0, duplicates: 1, failed: 0 });
    const sent = (await reminders()).slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].message).toContain('ExpirationNotification');
    expect(JSON.stringify(sent)).not.toContain('hunter2');
  });
});
