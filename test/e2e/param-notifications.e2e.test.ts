import { ListTopicsCommand, GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { defineConfig } from '@opsauto/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';

// On the local stage, as deployed: the stage's topics exist, encrypted, and a parameter policy that falls due on the
// virtual clock ends as one message on the notifications topic, visible through the control API.

let stage: Stage;
let sns: SNSClient;
let ssm: SSMClient;

beforeAll(async () => {
  stage = await startStage({ config: defineConfig({ regions: ['us-east-1'] }), port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  sns = new SNSClient(clientConfig(stage.cloud));
  ssm = new SSMClient(clientConfig(stage.cloud));
});
afterAll(async () => {
  sns.destroy();
  ssm.destroy();
  await stage.stop();
});

describe('parameter notifications on the local stage', () => {
  it('creates the notification and escalation topics with alias/aws/sns, as the stacks do', async () => {
    const { Topics } = await sns.send(new ListTopicsCommand({}));
    const arns = (Topics ?? []).map((t) => t.TopicArn);
    expect(arns).toEqual(expect.arrayContaining([stage.topics.notification, stage.topics.escalation]));
    expect(stage.topics.notification).toBe('arn:aws:sns:us-east-1:000000000000:opsauto-local-notifications');
    expect(stage.topics.escalation).toBe('arn:aws:sns:us-east-1:000000000000:opsauto-local-escalations');
    const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: stage.topics.notification }));
    expect(Attributes?.KmsMasterKeyId).toBe('alias/aws/sns');
  });

  it('publishes one notice when a NoChangeNotification policy falls due on the virtual clock', async () => {
    // Prepare
    await ssm.send(
      new PutParameterCommand({
        Name: '/e2e/token',
        Value: 'not-to-be-seen',
        Type: 'SecureString',
        Tier: 'Advanced',
        Policies: '[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"2","Unit":"Hours"}}]',
        Tags: [{ Key: 'owner', Value: 'e2e' }],
      }),
    );
    // Act
    await stage.cloud.advance('3h');
    await stage.cloud.advance('3h');
    // Assess
    const res = await fetch(`${stage.cloud.url}/_localcloud/sns/messages?topicArn=${encodeURIComponent(stage.topics.notification)}`);
    const messages = (await res.json()) as { subject?: string; message: string }[];
    expect(messages.map((m) => m.subject)).toEqual(['opsauto: /e2e/token has not changed (notify after 2h without change)']);
    expect(messages[0].message).toContain('Owner: e2e (tag owner)');
    expect(messages[0].message).not.toContain('not-to-be-seen');
  });
});
