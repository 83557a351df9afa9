import type { Clock } from '../clock.js';
import type { OpsautoConfig } from '../config.js';
import { parseSpan, spanMs } from './policy.js';
import type { Deadline, ParameterSummary } from './deadlines.js';
import type { NoticePublisher, NoticeRecord, NoticeStore, ParameterCatalog, SendNotice } from './ports.js';

export type ParameterExpiryConfig = OpsautoConfig['parameterExpiry'];

/** The stage's own topics (env NOTIFICATION_TOPIC_ARN / ESCALATION_TOPIC_ARN), used unless the config names others. */
export interface NoticeTopics {
  default: string;
  escalation: string;
}

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** Every topic notices may go to: the default and escalation topics and each route's (IAM grants sns:Publish on these only). */
export function noticeTopics(config: ParameterExpiryConfig, topics: NoticeTopics): string[] {
  return [...new Set([config.defaultTopic ?? topics.default, config.escalationTopic ?? topics.escalation, ...config.routes.map((r) => r.topic)])].filter(Boolean);
}

/**
 * Where a parameter's notices go: the topic its topic tag names (`opsauto:notify-topic`), then the first route whose
 * tag matches, else the default topic (the config's, or the stage's own).
 *
 * A topic tag is honoured only when it names one of the known topics (`noticeTopics`): the function may publish to
 * those only, and anyone allowed to tag a parameter must not be able to send its notices to a topic of their own.
 *
 * @example
 * routeNotice({ team: 'payments' }, config.parameterExpiry, { default: 'arn:aws:sns:eu-west-1:123456789012:opsauto-prod-notifications', escalation: '…' })
 * // the route's topic when routes has { match: { tag: 'team', value: 'payments' }, topic }, else the default
 */
export function routeNotice(tags: Record<string, string>, config: ParameterExpiryConfig, topics: NoticeTopics): string {
  const tagged = tags[config.topicTag]?.trim();
  if (tagged && TOPIC_ARN.test(tagged) && noticeTopics(config, topics).includes(tagged)) return tagged;
  const route = config.routes.find((r) => tags[r.match.tag] === r.match.value);
  return route?.topic ?? config.defaultTopic ?? topics.default;
}

/** Where escalations go: the config's escalation topic, else the stage's own. */
export const escalationTopic = (config: ParameterExpiryConfig, topics: NoticeTopics): string => config.escalationTopic ?? topics.escalation;

/** The owner a parameter's tags name: the first of `ownerTags` present (and not blank). */
export function ownerOf(tags: Record<string, string>, ownerTags: readonly string[]): { tag: string; value: string } | undefined {
  for (const tag of ownerTags) {
    const value = tags[tag]?.trim();
    if (value) return { tag, value };
  }
  return undefined;
}

/** The dedup key of a notice: one per parameter, kind and due time. */
export const noticeKey = (parameter: string, kind: NoticeRecord['kind'], dueAt: string): string => `${parameter}#${kind}#${dueAt}`;

export interface NoticeMessage {
  subject: string;
  body: string;
  attributes: Record<string, string>;
}

const WHAT: Record<NoticeRecord['kind'], string> = {
  ExpirationNotification: 'expiry reminder',
  Expiration: 'expired',
  NoChangeNotification: 'not changed',
  Escalation: 'ESCALATION: expiry close and parameter unchanged',
};

/**
 * The message of a notice: what (parameter, kind), when (due, expiry), which policy in words, the owner, and the
 * commands to rotate or extend. Built from metadata only: the parameter's value is never read, so it cannot be sent.
 *
 * @example
 * noticeMessage({ parameter: '/db/password', kind: 'ExpirationNotification', source: 'policy', dueAt: '2027-02-14T00:00:00.000Z',
 *   expiresAt: '2027-03-01T00:00:00.000Z', policy: 'notify 15d before expiry' }, summary, config)
 * // { subject: 'opsauto: /db/password expires 2027-03-01T00:00:00.000Z', body: 'Parameter: /db/password\nWhat: expiry reminder …', … }
 */
export function noticeMessage(
  deadline: Omit<Deadline, 'kind'> & { kind: NoticeRecord['kind'] },
  parameter: Pick<ParameterSummary, 'name' | 'type' | 'tier' | 'version' | 'lastModifiedDate' | 'lastModifiedUser' | 'tags'>,
  config: Pick<ParameterExpiryConfig, 'ownerTags'>,
  extra: { firstNoticeAt?: string } = {},
): NoticeMessage {
  const name = parameter.name;
  const owner = ownerOf(parameter.tags ?? {}, config.ownerTags);
  const tagged = deadline.source === 'tag';
  const subject = (() => {
    switch (deadline.kind) {
      case 'ExpirationNotification':
        return `opsauto: ${name} expires ${deadline.expiresAt ?? 'soon'}`;
      case 'Expiration':
        return tagged ? `opsauto: ${name} is past its expiry date` : `opsauto: ${name} expired and was deleted by Parameter Store`;
      case 'NoChangeNotification':
        return `opsauto: ${name} has not changed (${deadline.policy})`;
      case 'Escalation':
        return `opsauto ESCALATION: ${name} expires ${deadline.expiresAt ?? 'soon'}, still unchanged`;
    }
  })();
  const rotate = deadline.kind === 'Expiration' && !tagged
    ? `aws ssm put-parameter --name ${name} --type ${parameter.type} --value <new value>   (it no longer exists: this creates it again)`
    : `aws ssm put-parameter --name ${name} --overwrite --type ${parameter.type} --value <new value>`;
  const extend = tagged
    ? `aws ssm add-tags-to-resource --resource-type Parameter --resource-id ${name} --tags Key=<expiry tag>,Value=<new date>   (or give it a policy: opsauto params policy set ${name} --expires-in 90d)`
    : `opsauto params policy set ${name} --expires-in 90d`;
  const lines = [
    `Parameter: ${name}`,
    `What: ${WHAT[deadline.kind]} (${deadline.kind})`,
    `Due: ${deadline.dueAt}`,
    ...(deadline.expiresAt ? [`Expires: ${deadline.expiresAt}`] : []),
    `Policy: ${deadline.policy}${tagged ? ' (expiry tag, standard tier: Parameter Store does not delete it)' : ''}`,
    `Owner: ${owner ? `${owner.value} (tag ${owner.tag})` : `unknown (no ${config.ownerTags.join(' or ')} tag)`}`,
    `Parameter details: ${parameter.type}, ${parameter.tier} tier, version ${parameter.version}, last changed ${parameter.lastModifiedDate || 'unknown'}${parameter.lastModifiedUser ? ` by ${parameter.lastModifiedUser}` : ''}`,
    ...(extra.firstNoticeAt ? [`First notice: ${extra.firstNoticeAt}; the parameter has not changed since.`] : []),
    '',
    `Rotate the value: ${rotate}`,
    `Extend the expiry: ${extend}`,
    ...(deadline.kind === 'Expiration' && !tagged ? ['What was deleted: opsauto params notifications --expired'] : []),
    `Notices sent about it: opsauto params notifications --parameter ${name}`,
  ];
  return {
    subject,
    body: lines.join('\n'),
    attributes: { parameter: name, kind: deadline.kind, ...(owner ? { owner: owner.value } : {}) },
  };
}

export interface NoticeSenderDeps {
  store: NoticeStore;
  publisher: NoticePublisher;
  catalog: Pick<ParameterCatalog, 'tags'>;
  config: ParameterExpiryConfig;
  topics: NoticeTopics;
  clock: Clock;
}

/**
 * The SendNotice of the event handler and the sweep. Each notice is claimed in the store under
 * `<parameter>#<kind>#<dueAt>` first, so it is sent once whoever asks (an event, a sweep, a retry): a claim that exists
 * answers 'duplicate' and publishes nothing; a publish that fails drops the claim and throws, so a retry sends it.
 *
 * Escalation: when the deadline is about an expiry (Expiration or ExpirationNotification with `expiresAt`) within
 * `escalateWithin` of now, and an earlier notice about that expiry was sent and the parameter has not changed since
 * (lastModifiedDate <= that notice's sentAt), one escalation (`<parameter>#Escalation#<expiresAt>`) also goes to the
 * escalation topic, under the same claim rule. The parameter's tags are read (catalog.tags) only when the summary
 * has none.
 *
 * @example
 * const send = noticeSender({ store, publisher, catalog, config: config.parameterExpiry, topics, clock });
 * await send(deadline, summary, 'event'); // 'sent', then 'duplicate' for the same deadline
 */
export function noticeSender(deps: NoticeSenderDeps): SendNotice {
  const { store, publisher, config, topics, clock } = deps;

  async function deliver(record: NoticeRecord, message: NoticeMessage): Promise<'sent' | 'duplicate'> {
    if (!(await store.claim(record))) return 'duplicate';
    let messageId: string | undefined;
    try {
      ({ messageId } = await publisher.publish(record.channel, message));
    } catch (e) {
      await store.release(record.key);
      throw e;
    }
    await store.markSent(record.key, { sentAt: clock.now().toISOString(), ...(messageId ? { messageId } : {}) });
    return 'sent';
  }

  return async (deadline, parameter, via) => {
    const tags = parameter.tags ?? (await deps.catalog.tags(parameter.name));
    const withTags = { ...parameter, tags };
    const key = noticeKey(deadline.parameter, deadline.kind, deadline.dueAt);
    const outcome = await deliver(
      {
        key,
        parameter: deadline.parameter,
        kind: deadline.kind,
        policy: deadline.policy,
        dueAt: deadline.dueAt,
        ...(deadline.expiresAt ? { expiresAt: deadline.expiresAt } : {}),
        channel: routeNotice(tags, config, topics),
        status: 'pending',
        via,
      },
      noticeMessage(deadline, withTags, config),
    );
    await escalate(deadline, withTags, via, key, outcome);
    return outcome;
  };

  async function escalate(deadline: Deadline, parameter: ParameterSummary, via: NoticeRecord['via'], key: string, outcome: 'sent' | 'duplicate'): Promise<void> {
    if (deadline.kind === 'NoChangeNotification' || !deadline.expiresAt) return;
    const now = clock.now().getTime();
    if (Date.parse(deadline.expiresAt) - now > spanMs(parseSpan(config.escalateWithin, 'parameterExpiry.escalateWithin'))) return;
    const first = await store.firstExpiryNotice(deadline.parameter, deadline.expiresAt);
    // The first notice must be an earlier one the owner could act on: not the one just sent.
    if (!first?.sentAt || (first.key === key && outcome === 'sent')) return;
    const modified = Date.parse(parameter.lastModifiedDate);
    if (!Number.isFinite(modified) || modified > Date.parse(first.sentAt)) return;
    const escalation = { ...deadline, kind: 'Escalation' as const, dueAt: deadline.expiresAt };
    await deliver(
      {
        key: noticeKey(deadline.parameter, 'Escalation', deadline.expiresAt),
        parameter: deadline.parameter,
        kind: 'Escalation',
        policy: deadline.policy,
        dueAt: deadline.expiresAt,
        expiresAt: deadline.expiresAt,
        channel: escalationTopic(config, topics),
        status: 'pending',
        via,
      },
      noticeMessage(escalation, parameter, config, { firstNoticeAt: first.sentAt }),
    );
  }
}
