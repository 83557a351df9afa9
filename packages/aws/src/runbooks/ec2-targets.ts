import { EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { paginateDescribeInstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import { ec2InstanceFilters, type InstanceTargetQuery, type TargetQuery } from '@opsauto/core';
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

/**
 * The IDs of the managed nodes (EC2 instances with an agent, hybrid `mi-` nodes) carrying the tags, through SSM
 * DescribeInstanceInformation's `tag:<key>` and `tag-key` filters (SDK paginator; at most 50 a page), sorted and once
 * each. Every registered node counts, online or not: one that cannot be reached fails its own target.
 */
export async function describeTargetManagedNodes(clients: AwsClients, region: string | undefined, query: Extract<TargetQuery, { kind: 'tags' }>): Promise<string[]> {
  const Filters = [
    ...Object.entries(query.tags).map(([key, values]) => ({ Key: `tag:${key}`, Values: [...values] })),
    ...(query.tagKeys.length > 0 ? [{ Key: 'tag-key', Values: [...query.tagKeys] }] : []),
  ];
  const ids: string[] = [];
  for await (const page of paginateDescribeInstanceInformation({ client: clients.get(SSMClient, region) }, { Filters, MaxResults: 50 })) {
    for (const node of page.InstanceInformationList ?? []) if (node.InstanceId) ids.push(node.InstanceId);
  }
  return [...new Set(ids)].sort();
}
