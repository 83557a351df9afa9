import { EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { ec2InstanceFilters, type InstanceTargetQuery } from '@opsauto/core';
import type { AwsClients } from '../clients.js';

/**
 * The ids of the EC2 instances a target query matches, through DescribeInstances (SDK paginator; 1000 a page for a
 * filter, whose pages may be many), sorted and once each. Imported by ec2InstanceFinder on its first query.
 */
export async function describeTargetInstances(clients: AwsClients, region: string | undefined, query: InstanceTargetQuery): Promise<string[]> {
  const client = clients.get(EC2Client, region);
  const ids: string[] = [];
  // EC2 refuses MaxResults together with InstanceIds.
  const input = query.kind === 'instances' ? { InstanceIds: query.instanceIds, Filters: ec2InstanceFilters(query) } : { Filters: ec2InstanceFilters(query), MaxResults: 1000 };
  for await (const page of paginateDescribeInstances({ client }, input)) {
    for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) ids.push(i.InstanceId);
  }
  return [...new Set(ids)].sort();
}
