import type { NoticePublisher, NoticeStore, ParameterCatalog } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { DynamoNoticeStore } from './dynamo-notice-store.js';
import { snsNoticePublisher } from './sns-notice-publisher.js';
import { SsmParameterCatalog } from './ssm-parameter-catalog.js';

/** The parameter-expiry notifier's AWS adapters; `clients` must have the table's region as its home region. */
export function parameterNoticeAdapters(clients: AwsClients, tableName: string): { store: NoticeStore; publisher: NoticePublisher; catalog: ParameterCatalog } {
  return { store: new DynamoNoticeStore(clients, tableName), publisher: snsNoticePublisher(clients), catalog: new SsmParameterCatalog(clients) };
}
