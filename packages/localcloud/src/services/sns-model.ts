/**
 * SNS's persisted state (per account and region): topics with their attributes and tags, and the messages
 * published to them, kept so that a developer (and the control API) can see what the backend sent.
 */
import { AwsError } from '../errors.js';
import type { QueryTree, QueryValue } from '../protocols/query.js';
import { list, optionalString } from '../protocols/query.js';
import type { Store } from '../store.js';
import type { Tag } from './filters.js';

export const SNS_SERVICE = 'sns';

/** Published messages kept per account and region; the oldest go first. */
export const MAX_KEPT_MESSAGES = 1000;

export interface TopicRecord {
  name: string;
  arn: string;
  /** The attributes set at creation (DisplayName, Policy, FifoTopic …), as strings, as SNS keeps them. */
  attributes: Record<string, string>;
  tags: Tag[];
  /** ISO-8601. */
  createdAt: string;
  /** The last SequenceNumber given to a message of a FIFO topic. */
  lastSequence?: number;
}

export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  /** Base64, as on the wire. */
  BinaryValue?: string;
}

export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  subject?: string;
  message: string;
  messageStructure?: string;
  messageAttributes: Record<string, MessageAttribute>;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  sequenceNumber?: string;
  /** ISO-8601 (virtual time). */
  timestamp: string;
}

/** Plain JSON, persisted by the store. Topics are keyed by name. */
export interface SnsState {
  topics: Record<string, TopicRecord>;
  messages: PublishedMessage[];
}

export function snsState(store: Store, account: string, region: string): SnsState {
  return store.scope<SnsState>(SNS_SERVICE, account, region, () => ({ topics: {}, messages: [] }));
}

export const topicArn = (region: string, account: string, name: string) => `arn:aws:sns:${region}:${account}:${name}`;

export const invalidParameter = (message: string) => new AwsError('InvalidParameter', `Invalid parameter: ${message}`);
export const invalidParameterValue = (message: string) => new AwsError('ParameterValueInvalid', message);
export const topicNotFound = () => new AwsError('NotFound', 'Topic does not exist', 404);

/** The topic an ARN names in this account and region; SNS's NotFound otherwise. */
export function topicByArn(state: SnsState, account: string, region: string, arn: string): TopicRecord {
  if (!/^arn:aws[a-z-]*:sns:[^:]+:\d{12}:[^:]+$/.test(arn)) throw invalidParameter('TopicArn');
  const name = arn.slice(arn.lastIndexOf(':') + 1);
  const topic = state.topics[name];
  if (!topic || topic.arn !== topicArn(region, account, name)) throw topicNotFound();
  return topic;
}

// --- topics -------------------------------------------------------------------------------------------------

const SETTABLE_ATTRIBUTES = [
  'DeliveryPolicy',
  'DisplayName',
  'Policy',
  'SignatureVersion',
  'TracingConfig',
  'KmsMasterKeyId',
  'FifoTopic',
  'ContentBasedDeduplication',
  'ArchivePolicy',
  'FifoThroughputScope',
];

/**
 * The attributes SetTopicAttributes changes (SNS API reference, SetTopicAttributes): the topic's own, and the
 * delivery status logging ones. FifoTopic is fixed at creation; ContentBasedDeduplication is FIFO topics' only.
 */
const CHANGEABLE_ATTRIBUTES = [
  'DeliveryPolicy',
  'DisplayName',
  'Policy',
  'SignatureVersion',
  'TracingConfig',
  'KmsMasterKeyId',
  'ContentBasedDeduplication',
  'ArchivePolicy',
  'FifoThroughputScope',
  ...['Application', 'Firehose', 'HTTP', 'Lambda', 'SQS'].flatMap((p) => [`${p}SuccessFeedbackRoleArn`, `${p}SuccessFeedbackSampleRate`, `${p}FailureFeedbackRoleArn`]),
];

/** Attributes that an empty value removes, so that GetTopicAttributes answers SNS's default (or nothing) again. */
const CLEARABLE_ATTRIBUTES = ['DisplayName', 'KmsMasterKeyId', 'DeliveryPolicy', 'ArchivePolicy'];

/** A KMS key as SNS takes it: key id, alias name, or the ARN of either. */
const KMS_KEY = /^(?:alias\/[A-Za-z0-9/_-]{1,250}|(?:mrk-)?[0-9a-f-]{32,36}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/(?:mrk-)?[0-9a-f-]{32,36}|alias\/[A-Za-z0-9/_-]{1,250}))$/;

/**
 * Applies one SetTopicAttributes change to a topic after checking it; throws InvalidParameter (naming the
 * attribute) and changes nothing when the name or value is not one SNS takes.
 *
 * @example
 * setTopicAttribute(topic, 'KmsMasterKeyId', 'alias/aws/sns');
 */
export function setTopicAttribute(topic: TopicRecord, name: string, value: string): void {
  if (!CHANGEABLE_ATTRIBUTES.includes(name)) throw invalidParameter('AttributeName');
  if (value === '' && CLEARABLE_ATTRIBUTES.includes(name)) {
    delete topic.attributes[name];
    return;
  }
  const bad = () => invalidParameter(`${name}: Invalid value [${value}]`);
  if (name === 'KmsMasterKeyId' && !KMS_KEY.test(value)) throw bad();
  if (name === 'ContentBasedDeduplication' && topic.attributes.FifoTopic !== 'true') {
    throw invalidParameter('ContentBasedDeduplication Reason: Content-based deduplication can only be set for FIFO topics');
  }
  if (name === 'FifoThroughputScope' && (topic.attributes.FifoTopic !== 'true' || (value !== 'Topic' && value !== 'MessageGroup'))) throw bad();
  if (/SampleRate$/.test(name) && !(/^\d{1,3}$/.test(value) && Number(value) <= 100)) throw bad();
  if (/RoleArn$/.test(name) && !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(value)) throw bad();
  if (name === 'Policy' && !isPolicyDocument(value)) throw bad();
  if (name === 'DeliveryPolicy' && !isJsonObject(value)) throw bad();
  checkTopicAttributes({ ...(SETTABLE_ATTRIBUTES.includes(name) ? { [name]: value } : {}), ...(name === 'ContentBasedDeduplication' ? { FifoTopic: 'true' } : {}) });
  topic.attributes[name] = value;
}

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** A policy document: a JSON object with a non-empty Statement. */
function isPolicyDocument(text: string): boolean {
  if (!isJsonObject(text)) return false;
  const statement = (JSON.parse(text) as { Statement?: unknown }).Statement;
  return Array.isArray(statement) ? statement.length > 0 : typeof statement === 'object' && statement !== null;
}

/** SNS's EffectiveDeliveryPolicy: the topic's DeliveryPolicy laid over the default, object by object. */
function effectiveDeliveryPolicy(deliveryPolicy: string | undefined): string {
  if (deliveryPolicy === undefined) return DEFAULT_DELIVERY_POLICY;
  const merge = (base: unknown, over: unknown): unknown => {
    if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over)) return over;
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  };
  return JSON.stringify(merge(JSON.parse(DEFAULT_DELIVERY_POLICY), JSON.parse(deliveryPolicy)));
}

/** Checks a topic name against SNS's rules: letters, digits, `-` and `_`, up to 256 characters, `.fifo` for FIFO. */
export function checkTopicName(name: string, fifo: boolean): void {
  if (fifo) {
    if (!/^[A-Za-z0-9_-]{1,251}\.fifo$/.test(name)) {
      throw invalidParameter(
        'Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.',
      );
    }
  } else if (!/^[A-Za-z0-9_-]{1,256}$/.test(name)) {
    throw invalidParameter('Topic Name');
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Checks the attributes CreateTopic takes: known names, and values of the shape each one has. */
export function checkTopicAttributes(attributes: Record<string, string>): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (!SETTABLE_ATTRIBUTES.includes(name)) throw invalidParameter(`Attributes Reason: Unknown attribute ${name}`);
    const bad = () => invalidParameter(`Attributes Reason: ${name}: Invalid value [${value}]`);
    if ((name === 'Policy' || name === 'DeliveryPolicy' || name === 'ArchivePolicy') && !isJson(value)) throw bad();
    if ((name === 'FifoTopic' || name === 'ContentBasedDeduplication') && value !== 'true' && value !== 'false') throw bad();
    if (name === 'DisplayName' && value.length > 100) throw bad();
    if (name === 'SignatureVersion' && value !== '1' && value !== '2') throw bad();
    if (name === 'TracingConfig' && value !== 'PassThrough' && value !== 'Active') throw bad();
  }
  if (attributes.ContentBasedDeduplication === 'true' && attributes.FifoTopic !== 'true') {
    throw invalidParameter('Attributes Reason: Content-based deduplication can only be set for FIFO topics');
  }
}

/** Tags as SNS checks them: at most 50, key 1-128 characters without `aws:`, value up to 256. */
export function checkTags(tags: Tag[]): Tag[] {
  if (tags.length > 50) throw new AwsError('TagLimitExceeded', 'Could not complete request: tag quota of per resource exceeded');
  for (const t of tags) {
    if (t.Key.length < 1 || t.Key.length > 128 || t.Key.toLowerCase().startsWith('aws:')) throw invalidParameter(`Tags Reason: invalid tag key ${t.Key}`);
    if (t.Value.length > 256) throw invalidParameter(`Tags Reason: invalid tag value for ${t.Key}`);
  }
  return tags;
}

/**
 * What GetTopicAttributes answers: SNS's computed attributes, its defaults, then those set at creation or by
 * SetTopicAttributes (KmsMasterKeyId, DeliveryPolicy … only once set).
 */
export function topicAttributes(topic: TopicRecord, account: string): Record<string, string> {
  return {
    TopicArn: topic.arn,
    Owner: account,
    Policy: defaultPolicy(topic.arn, account),
    DisplayName: '',
    SubscriptionsConfirmed: '0',
    SubscriptionsPending: '0',
    SubscriptionsDeleted: '0',
    EffectiveDeliveryPolicy: effectiveDeliveryPolicy(topic.attributes.DeliveryPolicy),
    ...topic.attributes,
  };
}

function defaultPolicy(arn: string, account: string): string {
  return JSON.stringify({
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: arn,
        Condition: { StringEquals: { 'AWS:SourceOwner': account } },
      },
    ],
  });
}

const DEFAULT_DELIVERY_POLICY = JSON.stringify({
  http: {
    defaultHealthyRetryPolicy: {
      minDelayTarget: 20,
      maxDelayTarget: 20,
      numRetries: 3,
      numMaxDelayRetries: 0,
      numNoDelayRetries: 0,
      numMinDelayRetries: 0,
      backoffFunction: 'linear',
    },
    disableSubscriptionOverrides: false,
    defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8' },
  },
});

// --- query-protocol input -----------------------------------------------------------------------------------

export { optionalString };

function entries(value: QueryValue | undefined): QueryTree[] {
  return list<QueryValue>(value).filter((v): v is QueryTree => typeof v === 'object' && v !== null && !Array.isArray(v));
}

/** `Attributes.entry.N.key` / `.value`. */
export function wireAttributes(input: QueryTree): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries(input.Attributes)) {
    const key = optionalString(e, 'key');
    if (!key) throw invalidParameter('Attributes Reason: an attribute name is required');
    out[key] = optionalString(e, 'value') ?? '';
  }
  return out;
}

/** `Tags.member.N.Key` / `.Value`. */
export function wireTags(input: QueryTree): Tag[] {
  return entries(input.Tags).map((t) => {
    const key = optionalString(t, 'Key');
    if (key === undefined) throw invalidParameter('Tags Reason: a tag key is required');
    return { Key: key, Value: optionalString(t, 'Value') ?? '' };
  });
}

/** `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` / `.Value.BinaryValue`. */
export function wireMessageAttributes(input: QueryTree): Record<string, MessageAttribute> {
  const out: Record<string, MessageAttribute> = {};
  for (const e of entries(input.MessageAttributes)) {
    const name = optionalString(e, 'Name') ?? '';
    const value = entries(e.Value)[0] ?? {};
    const dataType = optionalString(value, 'DataType');
    const stringValue = optionalString(value, 'StringValue');
    const binaryValue = optionalString(value, 'BinaryValue');
    out[name] = {
      DataType: dataType ?? '',
      ...(stringValue !== undefined ? { StringValue: stringValue } : {}),
      ...(binaryValue !== undefined ? { BinaryValue: binaryValue } : {}),
    };
  }
  return out;
}

/** Message attributes as SNS checks them: at most 10; names; a known data type with a value of that type. */
export function checkMessageAttributes(attributes: Record<string, MessageAttribute>): void {
  const names = Object.keys(attributes);
  if (names.length > 10) {
    throw invalidParameterValue(`Number of message attributes [${names.length}] exceeds the allowed maximum [10].`);
  }
  for (const name of names) {
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..') || /^(aws|amazon)\./i.test(name)) {
      throw invalidParameterValue(`Invalid attribute name: ${name}`);
    }
    const { DataType, StringValue, BinaryValue } = attributes[name];
    const base = /^(String\.Array|String|Number|Binary)(\.[A-Za-z0-9_.-]+)?$/.exec(DataType)?.[1];
    if (!base) throw invalidParameterValue(`The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
    if (base === 'Binary' ? !BinaryValue : !StringValue) {
      throw invalidParameterValue(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${DataType}'.`);
    }
    if (base === 'Number' && !Number.isFinite(Number(StringValue))) {
      throw invalidParameterValue(`Could not cast message attribute '${name}' value to number.`);
    }
    if (base === 'String.Array' && !isJson(StringValue!)) {
      throw invalidParameterValue(`The message attribute '${name}' with type 'String.Array' must use a JSON array as its value.`);
    }
  }
}
