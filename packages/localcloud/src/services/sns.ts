/**
 * SNS (query protocol, XML answers): topics (standard and FIFO) with their attributes, and Publish. Subscriptions are not emulated:
 * published messages are kept instead (`publishedMessages`, served by the control API) so that a developer can
 * see what the backend sent.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import { XmlList, type XmlValue } from '../protocols/xml.js';
import type { Store } from '../store.js';
import { pageAfter } from './filters.js';
import {
  checkMessageAttributes,
  checkTags,
  checkTopicAttributes,
  checkTopicName,
  invalidParameter,
  MAX_KEPT_MESSAGES,
  optionalString,
  setTopicAttribute,
  snsState,
  SNS_SERVICE,
  topicArn,
  topicAttributes,
  topicByArn,
  wireAttributes,
  wireMessageAttributes,
  wireTags,
  type PublishedMessage,
  type SnsState,
  type TopicRecord,
} from './sns-model.js';
import type { RequestContext, ServiceDefinition } from './types.js';

export type { MessageAttribute, PublishedMessage } from './sns-model.js';

type SnsOperation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

/** SNS's limit on a message with its attributes: 256 KiB. */
const MAX_MESSAGE_BYTES = 262_144;

/** FIFO topics drop a message whose deduplication id was seen within the last five minutes. */
const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

const sameTags = (a: TopicRecord['tags'], b: TopicRecord['tags']) =>
  a.length === b.length && a.every((t) => b.some((u) => u.Key === t.Key && u.Value === t.Value));

const createTopic: SnsOperation = (input, ctx) => {
  const name = optionalString(input, 'Name');
  if (!name) throw invalidParameter('Topic Name');
  const attributes = wireAttributes(input);
  checkTopicName(name, attributes.FifoTopic === 'true');
  checkTopicAttributes(attributes);
  const tags = checkTags(wireTags(input));

  const state = snsState(ctx.store, ctx.account, ctx.region);
  const existing = state.topics[name];
  if (existing) {
    // Idempotent by name, as long as the request asks for the topic that exists.
    const differs = Object.entries(attributes).some(([k, v]) => existing.attributes[k] !== v);
    if (differs) throw invalidParameter('Attributes Reason: Topic already exists with different attributes');
    if (tags.length > 0 && !sameTags(tags, existing.tags)) throw invalidParameter('Tags Reason: Topic already exists with different tags');
    return { TopicArn: existing.arn };
  }
  const arn = topicArn(ctx.region, ctx.account, name);
  state.topics[name] = { name, arn, attributes, tags, createdAt: ctx.clock.now().toISOString() };
  return { TopicArn: arn };
};

const listTopics: SnsOperation = (input, ctx) => {
  const topics = Object.values(snsState(ctx.store, ctx.account, ctx.region).topics);
  const { page, nextToken } = pageAfter(topics, (t) => t.name, 100, optionalString(input, 'NextToken'), () => invalidParameter('NextToken'));
  return { Topics: page.map((t) => ({ TopicArn: t.arn })), ...(nextToken ? { NextToken: nextToken } : {}) };
};

const getTopicAttributes: SnsOperation = (input, ctx) => {
  const topic = topicByArn(snsState(ctx.store, ctx.account, ctx.region), ctx.account, ctx.region, optionalString(input, 'TopicArn') ?? '');
  return { Attributes: new XmlList('entry', Object.entries(topicAttributes(topic, ctx.account)).map(([key, value]) => ({ key, value }))) };
};

/** SetTopicAttributes: one attribute per call; an empty or absent AttributeValue clears the ones that can be cleared. */
const setTopicAttributes: SnsOperation = (input, ctx) => {
  const topic = topicByArn(snsState(ctx.store, ctx.account, ctx.region), ctx.account, ctx.region, optionalString(input, 'TopicArn') ?? '');
  const name = optionalString(input, 'AttributeName');
  if (!name) throw invalidParameter('AttributeName');
  setTopicAttribute(topic, name, optionalString(input, 'AttributeValue') ?? '');
  return {};
};

const deleteTopic: SnsOperation = (input, ctx) => {
  const arn = optionalString(input, 'TopicArn') ?? '';
  const state = snsState(ctx.store, ctx.account, ctx.region);
  try {
    delete state.topics[topicByArn(state, ctx.account, ctx.region, arn).name];
  } catch (e) {
    // "Deleting a topic that does not exist does not result in an error."
    if (!(e instanceof AwsError && e.code === 'NotFound')) throw e;
  }
  return {};
};

/** The topic a Publish goes to: TopicArn or TargetArn (one of them); phone numbers and endpoints are not emulated. */
function publishTarget(input: QueryTree, ctx: RequestContext, state: SnsState): TopicRecord {
  const topic = optionalString(input, 'TopicArn');
  const target = optionalString(input, 'TargetArn');
  const phone = optionalString(input, 'PhoneNumber');
  if ([topic, target, phone].filter((v) => v).length > 1) throw invalidParameter('TopicArn or TargetArn Reason: Only one of TopicArn, TargetArn or PhoneNumber can be set');
  if (phone) throw invalidParameter('PhoneNumber Reason: localcloud does not emulate SMS delivery');
  const arn = topic || target;
  if (!arn) throw invalidParameter('TopicArn or TargetArn Reason: no value for required parameter');
  if (target && /:endpoint\//.test(target)) throw new AwsError('NotFound', 'Endpoint does not exist', 404);
  return topicByArn(state, ctx.account, ctx.region, arn);
}

function checkMessage(message: string, structure: string | undefined, subject: string | undefined): void {
  if (message === '') throw invalidParameter('Empty message');
  if (structure !== undefined) {
    if (structure !== 'json') throw invalidParameter(`MessageStructure Reason: ${structure} is not a valid value`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      throw invalidParameter('Message Structure - JSON message body failed to parse');
    }
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { default?: unknown }).default !== 'string') {
      throw invalidParameter('Message Structure - No default entry in JSON message body');
    }
  }
  // A subject is a single line of printable ASCII, at most 100 characters.
  if (subject !== undefined && (subject === '' || subject.length > 100 || !/^[\x20-\x7e]+$/.test(subject))) throw invalidParameter('Subject');
}

const publish: SnsOperation = (input, ctx) => {
  const state = snsState(ctx.store, ctx.account, ctx.region);
  const topic = publishTarget(input, ctx, state);
  const message = optionalString(input, 'Message');
  if (message === undefined) {
    throw new AwsError('ValidationError', "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null");
  }
  const subject = optionalString(input, 'Subject');
  const messageStructure = optionalString(input, 'MessageStructure');
  checkMessage(message, messageStructure, subject);
  const messageAttributes = wireMessageAttributes(input);
  checkMessageAttributes(messageAttributes);
  const size = Buffer.byteLength(message) + Object.entries(messageAttributes).reduce((n, [k, v]) => n + Buffer.byteLength(k + v.DataType + (v.StringValue ?? v.BinaryValue ?? '')), 0);
  if (size > MAX_MESSAGE_BYTES) throw invalidParameter('Message too long');

  const now = ctx.clock.nowMs();
  const fifo = topic.attributes.FifoTopic === 'true';
  const messageGroupId = optionalString(input, 'MessageGroupId');
  let messageDeduplicationId = optionalString(input, 'MessageDeduplicationId');
  if (fifo) {
    if (!messageGroupId) throw invalidParameter('The MessageGroupId parameter is required for FIFO topics');
    if (!messageDeduplicationId) {
      if (topic.attributes.ContentBasedDeduplication !== 'true') {
        throw invalidParameter('The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
      }
      messageDeduplicationId = createHash('sha256').update(message).digest('hex');
    }
    const duplicate = state.messages.find(
      (m) => m.topicArn === topic.arn && m.messageDeduplicationId === messageDeduplicationId && now - Date.parse(m.timestamp) < DEDUPLICATION_WINDOW_MS,
    );
    if (duplicate) return { MessageId: duplicate.messageId, ...(duplicate.sequenceNumber ? { SequenceNumber: duplicate.sequenceNumber } : {}) };
  } else if (messageDeduplicationId) {
    throw invalidParameter('MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type');
  }

  let sequenceNumber: string | undefined;
  if (fifo) {
    topic.lastSequence = (topic.lastSequence ?? 0) + 1;
    sequenceNumber = String(topic.lastSequence).padStart(20, '0');
  }
  const published: PublishedMessage = {
    messageId: randomUUID(),
    topicArn: topic.arn,
    ...(subject !== undefined ? { subject } : {}),
    message,
    ...(messageStructure ? { messageStructure } : {}),
    messageAttributes,
    ...(messageGroupId ? { messageGroupId } : {}),
    ...(fifo ? { messageDeduplicationId, sequenceNumber } : {}),
    timestamp: new Date(now).toISOString(),
  };
  state.messages.push(published);
  if (state.messages.length > MAX_KEPT_MESSAGES) state.messages.splice(0, state.messages.length - MAX_KEPT_MESSAGES);
  return { MessageId: published.messageId, ...(published.sequenceNumber ? { SequenceNumber: published.sequenceNumber } : {}) };
};

export const sns: ServiceDefinition = {
  name: 'sns',
  protocol: 'query',
  xmlns: 'http://sns.amazonaws.com/doc/2010-03-31/',
  operations: {
    CreateTopic: createTopic,
    ListTopics: listTopics,
    GetTopicAttributes: getTopicAttributes,
    SetTopicAttributes: setTopicAttributes,
    DeleteTopic: deleteTopic,
    Publish: publish,
  },
};

/**
 * The messages published in an account and region (oldest first, the last MAX_KEPT_MESSAGES), optionally to one
 * topic only: what GET /_localcloud/sns/messages shows. Copies, so callers cannot change the kept state.
 */
export function publishedMessages(store: Store, account: string, region: string, topicArnFilter?: string): PublishedMessage[] {
  const state = store.all<SnsState>(SNS_SERVICE).find((s) => s.account === account && s.region === region)?.state;
  return (state?.messages ?? []).filter((m) => topicArnFilter === undefined || m.topicArn === topicArnFilter).map((m) => structuredClone(m));
}
