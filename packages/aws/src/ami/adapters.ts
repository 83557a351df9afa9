import type { ImageCatalog, ImageParameter, PublicationStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { DynamoPublicationStore } from './dynamo-publication-store.js';
import { Ec2ImageCatalog } from './ec2-image-catalog.js';
import { SsmImageParameter } from './ssm-image-parameter.js';

/** The AMI publisher's AWS adapters; `clients` must have the table's region as its home region. */
export function amiPublisherAdapters(clients: AwsClients, tableName: string): { images: ImageCatalog; parameters: ImageParameter; store: PublicationStore } {
  return { images: new Ec2ImageCatalog(clients), parameters: new SsmImageParameter(clients), store: new DynamoPublicationStore(clients, tableName) };
}
