import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { NoticePublisher } from '@opsauto/core';
import type { AwsClients } from '../clients.js';

/** SNS subjects: at most 100 printable ASCII characters. */
const SUBJECT_MAX = 100;

/** NoticePublisher over SNS Publish, in the topic's own region (read from its ARN). */
export function snsNoticePublisher(clients: AwsClients): NoticePublisher {
  return {
    async publish(topicArn, message) {
      const region = topicArn.split(':')[3];
      const subject = message.subject.replace(/[^\x20-\x7e]/g, '?').slice(0, SUBJECT_MAX);
      const attributes = Object.fromEntries(Object.entries(message.attributes ?? {}).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]));
      const out = await clients.get(SNSClient, region).send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message.body, MessageAttributes: attributes }));
      return out.MessageId ? { messageId: out.MessageId } : {};
    },
  };
}
