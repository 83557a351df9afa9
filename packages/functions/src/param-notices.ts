import type { AwsClients } from '@opsauto/aws';
import type { Clock, NoticePublisher, NoticeStore, OpsautoConfig, ParameterCatalog, SendNotice } from '@opsauto/core';

/** The stage's notice topics: the config's, else the ones the stacks create (env NOTIFICATION_TOPIC_ARN, ESCALATION_TOPIC_ARN). */
export interface NoticeTopics {
  default: string;
  escalation: string;
}

/** What the parameter-expiry functions need to send notices: the sender (dedup, escalation), the store, the router. */
export interface NoticeWiring {
  send: SendNotice;
  store: Pick<NoticeStore, 'rememberParameter'>;
  /** The topic a parameter's notices go to, from its tags. */
  route: (tags: Record<string, string>) => string;
}

export interface NoticeWiringInput {
  clients: AwsClients;
  tableName: string;
  config: OpsautoConfig['parameterExpiry'];
  topics: NoticeTopics;
  clock: Clock;
  catalog: ParameterCatalog;
  publisher: NoticePublisher;
}

export type NoticeWiringFactory = (input: NoticeWiringInput) => NoticeWiring;

/**
 * The notice sender, store and router of the deployed functions. NOT WIRED YET: core's `noticeSender` and
 * `routeNotice` (params/notify.ts) and aws's `DynamoNoticeStore` come with the notifications part of issue 11; at
 * merge this becomes
 *   ({ clients, tableName, config, topics, clock, catalog, publisher }) => {
 *     const store = new DynamoNoticeStore(clients, tableName);
 *     return { store, send: noticeSender({ store, publisher, catalog, config, topics, clock }), route: (tags) => routeNotice(tags, config, topics) };
 *   }
 * Until then a sweep fails loudly instead of pretending to send.
 */
export const noticeWiring: NoticeWiringFactory = () => {
  throw new Error('parameter notices are not wired in this build: noticeSender/DynamoNoticeStore (issue 11, notifications) are missing');
};
