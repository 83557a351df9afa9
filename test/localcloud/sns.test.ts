import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListTopicsCommand,
  paginateListTopics,
  PublishCommand,
  SetTopicAttributesCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { publishedMessages } from '../../packages/localcloud/src/services/sns.js';
import { clientConfig, removeDir, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

describe('localcloud SNS', () => {
  let cloud: Localcloud;
  let sns: SNSClient;

  beforeEach(async () => {
    cloud = await startTestCloud();
    sns = new SNSClient(clientConfig(cloud));
  });
  afterEach(async () => {
    sns.destroy();
    await cloud.stop();
  });

  const topic = async (Name: string, Attributes?: Record<string, string>) => (await sns.send(new CreateTopicCommand({ Name, Attributes }))).TopicArn!;

  describe('CreateTopic', () => {
    it('creates a topic with attributes and tags, and answers the same ARN for the same name', async () => {
      const arn = await topic('opsauto-alerts', { DisplayName: 'Ops alerts' });
      expect(arn).toBe(`arn:aws:sns:${REGION}:${ACCOUNT}:opsauto-alerts`);
      const again = await sns.send(new CreateTopicCommand({ Name: 'opsauto-alerts', Tags: [] }));
      expect(again.TopicArn).toBe(arn);

      const tagged = await sns.send(new CreateTopicCommand({ Name: 'opsauto-tagged', Tags: [{ Key: 'Team', Value: 'ops' }] }));
      expect(tagged.TopicArn).toBe(`arn:aws:sns:${REGION}:${ACCOUNT}:opsauto-tagged`);
    });

    it('refuses invalid names, unknown attributes, and a same-name topic with different attributes', async () => {
      for (const Name of ['has space', 'dots.not.allowed', 'x'.repeat(257)]) {
        expect(await errorWithStatusOf(sns.send(new CreateTopicCommand({ Name }))), Name).toMatchObject({ name: 'InvalidParameterException', status: 400 });
      }
      expect(await errorWithStatusOf(sns.send(new CreateTopicCommand({ Name: 'plain.fifo' })))).toMatchObject({ name: 'InvalidParameterException' });
      expect(await errorWithStatusOf(sns.send(new CreateTopicCommand({ Name: 'no-suffix', Attributes: { FifoTopic: 'true' } })))).toMatchObject({ name: 'InvalidParameterException' });
      expect(await errorWithStatusOf(sns.send(new CreateTopicCommand({ Name: 'odd', Attributes: { Colour: 'blue' } })))).toMatchObject({ name: 'InvalidParameterException' });

      await topic('opsauto-alerts', { DisplayName: 'Ops alerts' });
      const clash = await errorWithStatusOf(sns.send(new CreateTopicCommand({ Name: 'opsauto-alerts', Attributes: { DisplayName: 'Other' } })));
      expect(clash).toMatchObject({ name: 'InvalidParameterException', message: 'Invalid parameter: Attributes Reason: Topic already exists with different attributes' });
      expect((await sns.send(new ListTopicsCommand({}))).Topics).toHaveLength(1);
    });
  });

  describe('ListTopics', () => {
    it('lists topics 100 to a page through the SDK paginator', async () => {
      for (let i = 0; i < 130; i++) await topic(`topic-${String(i).padStart(3, '0')}`);
      const pages: string[][] = [];
      for await (const page of paginateListTopics({ client: sns }, {})) pages.push(page.Topics!.map((t) => t.TopicArn!));
      expect(pages.map((p) => p.length)).toEqual([100, 30]);
      expect(pages.flat()[129]).toBe(`arn:aws:sns:${REGION}:${ACCOUNT}:topic-129`);
    });

    it('refuses a NextToken it did not give, and keeps regions apart', async () => {
      expect(await errorWithStatusOf(sns.send(new ListTopicsCommand({ NextToken: 'made-up' })))).toMatchObject({ name: 'InvalidParameterException' });
      await topic('here-only');
      const eu = new SNSClient(clientConfig(cloud, 'eu-west-1'));
      try {
        expect((await eu.send(new ListTopicsCommand({}))).Topics).toEqual([]);
      } finally {
        eu.destroy();
      }
    });
  });

  describe('GetTopicAttributes and DeleteTopic', () => {
    it('answers the attributes SNS computes and those set, and deletes idempotently', async () => {
      const arn = await topic('opsauto-alerts', { DisplayName: 'Ops alerts' });
      const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }));
      expect(Attributes).toMatchObject({ TopicArn: arn, Owner: ACCOUNT, DisplayName: 'Ops alerts', SubscriptionsConfirmed: '0' });
      expect(JSON.parse(Attributes!.Policy)).toMatchObject({ Statement: [{ Resource: arn, Condition: { StringEquals: { 'AWS:SourceOwner': ACCOUNT } } }] });

      await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
      await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
      expect((await sns.send(new ListTopicsCommand({}))).Topics).toEqual([]);
      expect(await errorWithStatusOf(sns.send(new GetTopicAttributesCommand({ TopicArn: arn })))).toMatchObject({ name: 'NotFoundException', message: 'Topic does not exist', status: 404 });
    });
  });

  describe('SetTopicAttributes', () => {
    const attributesOf = async (TopicArn: string) => (await sns.send(new GetTopicAttributesCommand({ TopicArn }))).Attributes!;

    it('sets KmsMasterKeyId (reported only once set), DisplayName, Policy and DeliveryPolicy, and clears with an empty value', async () => {
      const arn = await topic('opsauto-encrypted');
      expect(await attributesOf(arn)).not.toHaveProperty('KmsMasterKeyId');

      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'KmsMasterKeyId', AttributeValue: 'alias/aws/sns' }));
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'DisplayName', AttributeValue: 'Encrypted alerts' }));
      const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'SNS:Publish', Resource: arn }] });
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'Policy', AttributeValue: policy }));
      const delivery = JSON.stringify({ http: { defaultHealthyRetryPolicy: { numRetries: 5 } } });
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'DeliveryPolicy', AttributeValue: delivery }));

      const attrs = await attributesOf(arn);
      expect(attrs).toMatchObject({ KmsMasterKeyId: 'alias/aws/sns', DisplayName: 'Encrypted alerts', Policy: policy, DeliveryPolicy: delivery });
      // The effective policy is the set one laid over SNS's defaults.
      const effective = JSON.parse(attrs.EffectiveDeliveryPolicy) as { http: { defaultHealthyRetryPolicy: { numRetries: number; minDelayTarget: number } } };
      expect(effective.http.defaultHealthyRetryPolicy).toMatchObject({ numRetries: 5, minDelayTarget: 20 });

      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'KmsMasterKeyId', AttributeValue: '' }));
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'DisplayName', AttributeValue: '' }));
      const cleared = await attributesOf(arn);
      expect(cleared).not.toHaveProperty('KmsMasterKeyId');
      expect(cleared.DisplayName).toBe('');
    });

    it('takes a KMS key ARN, and sets ContentBasedDeduplication on a FIFO topic only', async () => {
      const arn = await topic('opsauto-orders.fifo', { FifoTopic: 'true' });
      const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'KmsMasterKeyId', AttributeValue: key }));
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'ContentBasedDeduplication', AttributeValue: 'true' }));
      expect(await attributesOf(arn)).toMatchObject({ KmsMasterKeyId: key, ContentBasedDeduplication: 'true', FifoTopic: 'true' });
      const standard = await topic('opsauto-standard');
      expect(
        await errorWithStatusOf(sns.send(new SetTopicAttributesCommand({ TopicArn: standard, AttributeName: 'ContentBasedDeduplication', AttributeValue: 'true' }))),
      ).toMatchObject({ name: 'InvalidParameterException', message: expect.stringContaining('FIFO topics') });
    });

    it('refuses an unknown or fixed attribute name, a bad value, and a topic that does not exist, changing nothing', async () => {
      const arn = await topic('opsauto-strict', { DisplayName: 'Strict' });
      const bad: [string, string, string][] = [
        ['Colour', 'blue', 'Invalid parameter: AttributeName'],
        ['FifoTopic', 'true', 'Invalid parameter: AttributeName'],
        ['TopicArn', arn, 'Invalid parameter: AttributeName'],
        ['KmsMasterKeyId', 'not a key', 'KmsMasterKeyId'],
        ['Policy', '{"Statement": []}', 'Policy'],
        ['DeliveryPolicy', 'not json', 'DeliveryPolicy'],
        ['DisplayName', 'x'.repeat(101), 'DisplayName'],
        ['TracingConfig', 'Sometimes', 'TracingConfig'],
        ['HTTPSuccessFeedbackSampleRate', '150', 'HTTPSuccessFeedbackSampleRate'],
      ];
      for (const [AttributeName, AttributeValue, message] of bad) {
        const err = await errorWithStatusOf(sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName, AttributeValue })));
        expect(err, AttributeName).toMatchObject({ name: 'InvalidParameterException', status: 400, message: expect.stringContaining(message) });
      }
      const attrs = await attributesOf(arn);
      expect(attrs.DisplayName).toBe('Strict');
      expect(attrs).not.toHaveProperty('KmsMasterKeyId');
      expect(
        await errorWithStatusOf(sns.send(new SetTopicAttributesCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:missing`, AttributeName: 'DisplayName', AttributeValue: 'x' }))),
      ).toMatchObject({ name: 'NotFoundException', status: 404 });
    });
  });

  describe('Publish', () => {
    it('keeps the published message with its subject and attributes, and answers a MessageId', async () => {
      const arn = await topic('opsauto-alerts');
      const out = await sns.send(
        new PublishCommand({
          TopicArn: arn,
          Subject: 'Volume cleanup finished',
          Message: JSON.stringify({ deleted: 3 }),
          MessageAttributes: {
            job: { DataType: 'String', StringValue: 'volume-cleanup' },
            count: { DataType: 'Number', StringValue: '3' },
            regions: { DataType: 'String.Array', StringValue: '["us-east-1","eu-west-1"]' },
            raw: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
          },
        }),
      );
      expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
      await sns.send(new PublishCommand({ TargetArn: arn, Message: 'second' }));

      const kept = publishedMessages(cloud.store, ACCOUNT, REGION, arn);
      expect(kept).toHaveLength(2);
      expect(kept[0]).toMatchObject({
        messageId: out.MessageId,
        topicArn: arn,
        subject: 'Volume cleanup finished',
        message: '{"deleted":3}',
        messageAttributes: {
          job: { DataType: 'String', StringValue: 'volume-cleanup' },
          count: { DataType: 'Number', StringValue: '3' },
          regions: { DataType: 'String.Array', StringValue: '["us-east-1","eu-west-1"]' },
          raw: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]).toString('base64') },
        },
      });
      expect(Date.parse(kept[0].timestamp)).toBeGreaterThan(0);
      expect(kept[1]).toMatchObject({ message: 'second', messageAttributes: {} });
      expect(publishedMessages(cloud.store, ACCOUNT, REGION, `arn:aws:sns:${REGION}:${ACCOUNT}:other`)).toEqual([]);
      expect(publishedMessages(cloud.store, ACCOUNT, 'eu-west-1')).toEqual([]);
    });

    it('answers NotFound for a topic that does not exist, and keeps nothing', async () => {
      const err = await errorWithStatusOf(sns.send(new PublishCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:missing`, Message: 'hello' })));
      expect(err).toMatchObject({ name: 'NotFoundException', message: 'Topic does not exist', status: 404 });
      expect(publishedMessages(cloud.store, ACCOUNT, REGION)).toEqual([]);
    });

    it('refuses an empty or missing message, a bad subject, bad attributes and a JSON structure without default', async () => {
      const TopicArn = await topic('opsauto-alerts');
      expect(await errorWithStatusOf(sns.send(new PublishCommand({ TopicArn, Message: '' })))).toMatchObject({ name: 'InvalidParameterException', message: 'Invalid parameter: Empty message' });
      expect(await errorWithStatusOf(sns.send(new PublishCommand({ TopicArn } as never)))).toMatchObject({ name: 'ValidationError', status: 400 });
      expect(await errorWithStatusOf(sns.send(new PublishCommand({ TopicArn, Message: 'x', Subject: 'two\nlines' })))).toMatchObject({ name: 'InvalidParameterException' });
      expect(
        await errorWithStatusOf(sns.send(new PublishCommand({ TopicArn, Message: 'x', MessageAttributes: { n: { DataType: 'Number', StringValue: 'many' } } }))),
      ).toMatchObject({ name: 'InvalidParameterValueException' });
      expect(await errorWithStatusOf(sns.send(new PublishCommand({ TopicArn, Message: '{"email":"hi"}', MessageStructure: 'json' })))).toMatchObject({
        name: 'InvalidParameterException',
        message: 'Invalid parameter: Message Structure - No default entry in JSON message body',
      });
      expect(await errorWithStatusOf(sns.send(new PublishCommand({ Message: 'nowhere' })))).toMatchObject({ name: 'InvalidParameterException' });
      expect(publishedMessages(cloud.store, ACCOUNT, REGION)).toEqual([]);
    });

    it('orders FIFO topics: a group id is required, duplicates within 5 minutes are dropped, sequence numbers grow', async () => {
      const TopicArn = await topic('opsauto-jobs.fifo', { FifoTopic: 'true', ContentBasedDeduplication: 'true' });
      expect(await errorWithStatusOf(sns.send(new PublishCommand({ TopicArn, Message: 'a' })))).toMatchObject({ name: 'InvalidParameterException' });

      const first = await sns.send(new PublishCommand({ TopicArn, Message: 'a', MessageGroupId: 'g1' }));
      const duplicate = await sns.send(new PublishCommand({ TopicArn, Message: 'a', MessageGroupId: 'g1' }));
      const second = await sns.send(new PublishCommand({ TopicArn, Message: 'b', MessageGroupId: 'g1' }));
      expect(duplicate.MessageId).toBe(first.MessageId);
      expect(first.SequenceNumber).toMatch(/^\d{20}$/);
      expect(BigInt(second.SequenceNumber!)).toBeGreaterThan(BigInt(first.SequenceNumber!));
      await cloud.advance('6m');
      await sns.send(new PublishCommand({ TopicArn, Message: 'a', MessageGroupId: 'g1' }));
      expect(publishedMessages(cloud.store, ACCOUNT, REGION, TopicArn).map((m) => m.message)).toEqual(['a', 'b', 'a']);
    });
  });

  it('retries a throttled call (Throttling) to success through the SDK', async () => {
    cloud.faults.set([{ service: 'sns', throttleRate: 0.5 }]);
    cloud.calls.reset();
    for (let i = 0; i < 5; i++) expect((await sns.send(new ListTopicsCommand({}))).Topics).toEqual([]);
    cloud.faults.set([]);
    expect(cloud.calls.snapshot().sns?.ListTopics).toBeGreaterThan(5);
  });
});

describe('localcloud SNS state across a restart', () => {
  const dataDirs: string[] = [];
  afterAll(async () => {
    for (const dir of dataDirs) await removeDir(dir);
  });

  it('keeps topics and published messages', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-sns-'));
    dataDirs.push(dataDir);
    let cloud = await startTestCloud({ dataDir });
    let sns = new SNSClient(clientConfig(cloud));
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'opsauto-kept', Attributes: { DisplayName: 'Kept' } }));
    const { MessageId } = await sns.send(new PublishCommand({ TopicArn, Subject: 'before', Message: 'restart' }));
    sns.destroy();
    await cloud.stop();

    cloud = await startTestCloud({ dataDir });
    sns = new SNSClient(clientConfig(cloud));
    try {
      expect(cloud.restored).toBe(true);
      expect((await sns.send(new ListTopicsCommand({}))).Topics).toEqual([{ TopicArn }]);
      expect((await sns.send(new GetTopicAttributesCommand({ TopicArn }))).Attributes?.DisplayName).toBe('Kept');
      expect(publishedMessages(cloud.store, ACCOUNT, REGION)).toMatchObject([{ messageId: MessageId, subject: 'before', message: 'restart' }]);
    } finally {
      sns.destroy();
      await cloud.stop();
    }
  });
});
