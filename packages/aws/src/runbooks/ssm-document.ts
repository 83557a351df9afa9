import { GetDocumentCommand, SSMClient, type GetDocumentCommandOutput } from '@aws-sdk/client-ssm';
import type { AwsClients } from '../clients.js';

/** ssm:GetDocument of a document in YAML (imported by SsmRunbookSource on its first read). */
export function getDocument(clients: AwsClients, region: string | undefined, name: string, version?: string): Promise<GetDocumentCommandOutput> {
  return clients.get(SSMClient, region).send(new GetDocumentCommand({ Name: name, DocumentVersion: version, DocumentFormat: 'YAML' }));
}
