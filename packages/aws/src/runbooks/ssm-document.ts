import { GetDocumentCommand, paginateListDocuments, SSMClient, type GetDocumentCommandOutput } from '@aws-sdk/client-ssm';
import type { AwsClients } from '../clients.js';

/** ssm:GetDocument of a document in YAML (imported by SsmRunbookSource on its first read). */
export function getDocument(clients: AwsClients, region: string | undefined, name: string, version?: string): Promise<GetDocumentCommandOutput> {
  return clients.get(SSMClient, region).send(new GetDocumentCommand({ Name: name, DocumentVersion: version, DocumentFormat: 'YAML' }));
}

/** An Automation document as `opsauto runbook docs` lists it. */
export interface AutomationDocumentListing {
  name: string;
  owner: 'Amazon' | 'Self';
  version?: string;
  displayName?: string;
}

/**
 * The Automation documents one owner has in the region (ssm:ListDocuments, Owner Amazon or Self, every page): the
 * AWS-owned runbooks, or the account's own.
 *
 * @example
 * const own = await listAutomationDocuments(clients, undefined, 'Self');
 */
export async function listAutomationDocuments(clients: AwsClients, region: string | undefined, owner: 'Amazon' | 'Self'): Promise<AutomationDocumentListing[]> {
  const found: AutomationDocumentListing[] = [];
  const pages = paginateListDocuments(
    { client: clients.get(SSMClient, region) },
    { Filters: [{ Key: 'Owner', Values: [owner] }, { Key: 'DocumentType', Values: ['Automation'] }], MaxResults: 50 },
  );
  for await (const page of pages) {
    for (const d of page.DocumentIdentifiers ?? []) {
      if (d.Name) found.push({ name: d.Name, owner, ...(d.DocumentVersion ? { version: d.DocumentVersion } : {}), ...(d.DisplayName ? { displayName: d.DisplayName } : {}) });
    }
  }
  return found;
}
