import { DescribeParametersCommand, ListTagsForResourceCommand, paginateDescribeParameters, SSMClient, type ParameterMetadata, type ParameterStringFilter } from '@aws-sdk/client-ssm';
import { parsePolicyText, type ParameterCatalog, type ParameterPolicy, type ParameterSummary } from '@opsauto/core';
import type { AwsClients } from '../clients.js';

/** DescribeParameters answers at most 50 a page. */
const PAGE_SIZE = 50;

/** A parameter's metadata as the notifier keeps it (its value is never read). */
export function parameterSummary(p: ParameterMetadata): ParameterSummary {
  const policies = (p.Policies ?? []).flatMap((x): ParameterPolicy[] => {
    const parsed = x.PolicyText ? parsePolicyText(x.PolicyText) : undefined;
    return parsed ? [parsed] : [];
  });
  return {
    name: p.Name ?? '',
    type: p.Type ?? 'String',
    tier: p.Tier ?? 'Standard',
    version: p.Version ?? 0,
    lastModifiedDate: (p.LastModifiedDate ?? new Date(0)).toISOString(),
    ...(p.LastModifiedUser ? { lastModifiedUser: p.LastModifiedUser } : {}),
    ...(p.Description ? { description: p.Description } : {}),
    policies,
  };
}

/**
 * ParameterCatalog over SSM DescribeParameters (SDK paginator, 50 a page, pages yielded as they come: a sweep holds
 * one page at a time) and ListTagsForResource. Never GetParameter: values stay in Parameter Store.
 */
export class SsmParameterCatalog implements ParameterCatalog {
  constructor(
    private readonly clients: AwsClients,
    private readonly region?: string,
  ) {}

  async *pages(filters: { key: string; option?: string; values?: string[] }[]): AsyncIterable<ParameterSummary[]> {
    const ParameterFilters: ParameterStringFilter[] = filters.map((f) => ({ Key: f.key, ...(f.option ? { Option: f.option } : {}), ...(f.values ? { Values: f.values } : {}) }));
    for await (const page of paginateDescribeParameters({ client: this.ssm(), pageSize: PAGE_SIZE }, { ParameterFilters })) {
      yield (page.Parameters ?? []).map(parameterSummary);
    }
  }

  async describe(name: string): Promise<ParameterSummary | undefined> {
    const out = await this.ssm().send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }));
    const found = out.Parameters?.find((p) => p.Name === name);
    return found ? parameterSummary(found) : undefined;
  }

  async tags(name: string): Promise<Record<string, string>> {
    const out = await this.ssm().send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }));
    return Object.fromEntries((out.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  private ssm(): SSMClient {
    return this.clients.get(SSMClient, this.region);
  }
}
