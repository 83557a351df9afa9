import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '@opsauto/aws';
import { snsNotificationPublisher } from '@opsauto/aws/runbooks';
import type { OutboxEntry } from '@opsauto/core';
import { allowRoleActions, type Localcloud } from '@opsauto/localcloud';
import { publishedMessages } from '../../../packages/localcloud/src/services/sns.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

const OWN = '000000000000';
const REGION = 'us-east-1';
const PUBLISHER = `arn:aws:iam::${OWN}:role/opsauto-test-runbook-approvals`;
const NO_SNS = `arn:aws:iam::${OWN}:role/opsauto-test-runbook-ec2-only`;

let cloud: Localcloud;
let clients: AwsClients;
let topicArn: string;
let fifoArn: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  clients = new AwsClients(REGION, clientConfig(cloud));
  const sns = new SNSClient(clientConfig(cloud));
  topicArn = (await sns.send(new CreateTopicCommand({ Name: 'AutomationApproval' }))).TopicArn!;
  fifoArn = (await sns.send(new CreateTopicCommand({ Name: 'AutomationApproval.fifo', Attributes: { FifoTopic: 'true' } }))).TopicArn!;
  sns.destroy();
  await allowRoleActions(cloud.url, { roleArn: PUBLISHER, actions: ['sns:Publish'] });
  await allowRoleActions(cloud.url, { roleArn: NO_SNS, actions: ['ec2:Describe*'] });
});
afterAll(async () => {
  await cloud.stop();
});

const entry = (id: string, topic: string, roleArn?: string): OutboxEntry => ({
  id: `exec-1/${id}`,
  detailType: 'Runbook Approval Requested',
  detail: { ExecutionId: 'exec-1' },
  notification: { topicArn: topic, subject: 'Approval needed: demo at approve', message: 'Approve: opsauto runbook approve exec-1', ...(roleArn ? { roleArn } : {}) },
});

describe('snsNotificationPublisher', () => {
  it('publishes the approval request through the SNS client as the execution role', async () => {
    // Prepare
    const dropped: string[] = [];
    const publish = snsNotificationPublisher(clients, { settings: clientConfig(cloud), onDropped: (e) => dropped.push(e.id) });
    cloud.calls.reset();
    // Act
    await publish([entry('00000003-n00', topicArn, PUBLISHER)]);
    // Assess
    const messages = publishedMessages(cloud.store, OWN, REGION, topicArn);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ subject: 'Approval needed: demo at approve' });
    expect(messages[0]?.message).toBe('Approve: opsauto runbook approve exec-1\n\nEventId: exec-1/00000003-n00');
    expect(cloud.calls.snapshot().sts?.AssumeRole).toBe(1);
    expect(dropped).toEqual([]);
  });

  it('delivers a request published twice once on a FIFO topic (its ID is the deduplication ID)', async () => {
    // Prepare
    const publish = snsNotificationPublisher(clients, { settings: clientConfig(cloud), onDropped: () => undefined });
    // Act
    await publish([entry('00000004-n00', fifoArn, PUBLISHER)]);
    await publish([entry('00000004-n00', fifoArn, PUBLISHER)]);
    // Assess
    expect(publishedMessages(cloud.store, OWN, REGION, fifoArn)).toHaveLength(1);
  });

  it('drops, and reports, a request its role may not publish or that has no role, without throwing', async () => {
    // Prepare
    const dropped: { id: string; error: string }[] = [];
    const publish = snsNotificationPublisher(clients, {
      settings: clientConfig(cloud),
      mayAssume: (role) => role !== `arn:aws:iam::${OWN}:role/not-allowed`,
      onDropped: (e, error) => dropped.push({ id: e.id, error: `${(error as Error).name}: ${(error as Error).message}` }),
    });
    const before = publishedMessages(cloud.store, OWN, REGION, topicArn).length;
    // Act
    await publish([entry('a', topicArn, NO_SNS), entry('b', topicArn), entry('c', topicArn, `arn:aws:iam::${OWN}:role/not-allowed`)]);
    // Assess
    expect(publishedMessages(cloud.store, OWN, REGION, topicArn)).toHaveLength(before);
    expect(dropped.map((d) => d.id)).toEqual(['exec-1/a', 'exec-1/b', 'exec-1/c']);
    expect(dropped[0]?.error).toMatch(/^AuthorizationErrorException: .*not authorized to perform: sns:Publish/);
    expect(dropped[1]?.error).toBe('Error: the execution has no role to publish as');
    expect(dropped[2]?.error).toBe(`Error: role arn:aws:iam::${OWN}:role/not-allowed is not one runbooks may run as here`);
  });
});
