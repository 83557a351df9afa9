import { DynamoNoticeStore, type AwsClients } from '@opsauto/aws';
import { noticeSender, routeNotice, type Clock, type NoticePublisher, type NoticeStore, type NoticeTopics, type OpsautoConfig, type ParameterCatalog, type SendNotice } from '@opsauto/core';

/** What the parameter-expiry sweep needs to send notices: the sender (dedup, escalation), the store, the router. */
export interface NoticeWiring {
  send: SendNotice;
  store: Pick<NoticeStore, 'rememberParameter' | 'claimDigest' | 'releaseDigest'>;
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
 * The deployed wiring: notices claimed in the state table (the same keys as the policy-event function's, so a notice
 * the event sent is not sent again by the sweep), routed by the parameter's tags.
 */
export const noticeWiring: NoticeWiringFactory = ({ clients, tableName, config, topics, clock, catalog, publisher }) => {
  const store = new DynamoNoticeStore(clients, tableName);
  return { store, send: noticeSender({ store, publisher, catalog, config, topics, clock }), route: (tags) => routeNotice(tags, config, topics) };
};
