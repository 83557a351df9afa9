import { EC2Client, paginateDescribeInstances, type Instance } from '@aws-sdk/client-ec2';
import { paginateDescribeDBClusters, paginateDescribeDBInstances, RDSClient, type Tag as RdsTag } from '@aws-sdk/client-rds';
import { EC2_START_FAILURE_CODES, type AutomationInventory, type ResizableInstance, type ScheduledResource } from '@opsauto/core';
import type { AwsClients } from '../clients.js';

/** States that are gone for good: nothing to start or stop. */
const LIVE_EC2 = ['pending', 'running', 'stopping', 'stopped'];

const tagsOf = (tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? '']));

async function instances(clients: AwsClients, region: string, filters: { Name: string; Values: string[] }[]): Promise<Instance[]> {
  const found: Instance[] = [];
  const input = { Filters: [...filters, { Name: 'instance-state-name', Values: LIVE_EC2 }], MaxResults: 1000 };
  for await (const page of paginateDescribeInstances({ client: clients.get(EC2Client, region) }, input)) {
    for (const r of page.Reservations ?? []) found.push(...(r.Instances ?? []));
  }
  return found;
}

const hasTag = (tags: RdsTag[] | undefined, key: string, value: string) => (tags ?? []).some((t) => t.Key === key && t.Value === value);

/**
 * AutomationInventory through DescribeInstances (filtered by tag on EC2's side) and DescribeDBInstances /
 * DescribeDBClusters (whose filters take no tags: the TagList each carries is read instead), every page (SDK
 * paginators).
 */
export function awsAutomationInventory(clients: AwsClients, region: string): AutomationInventory {
  return {
    async scheduled(tag, kinds) {
      const resources: ScheduledResource[] = [];
      if (kinds.includes('ec2')) {
        for (const i of await instances(clients, region, [{ Name: `tag:${tag.key}`, Values: [tag.value] }])) {
          const state = i.State?.Name ?? 'unknown';
          // A start EC2 accepted but could not carry out leaves the instance stopped with the reason.
          const reason = state === 'stopped' && i.StateReason?.Code && EC2_START_FAILURE_CODES.has(i.StateReason.Code) ? i.StateReason : undefined;
          resources.push({
            kind: 'ec2-instance',
            id: i.InstanceId!,
            state,
            tags: tagsOf(i.Tags),
            hibernationConfigured: i.HibernationOptions?.Configured === true,
            ...(reason ? { startFailure: reason.Message ?? reason.Code } : {}),
          });
        }
      }
      if (kinds.includes('rds')) {
        const client = clients.get(RDSClient, region);
        for await (const page of paginateDescribeDBInstances({ client }, {})) {
          for (const db of page.DBInstances ?? []) {
            if (!hasTag(db.TagList, tag.key, tag.value)) continue;
            resources.push({ kind: 'rds-instance', id: db.DBInstanceIdentifier!, state: db.DBInstanceStatus ?? 'unknown', tags: tagsOf(db.TagList), memberOfCluster: db.DBClusterIdentifier !== undefined });
          }
        }
        for await (const page of paginateDescribeDBClusters({ client }, {})) {
          for (const c of page.DBClusters ?? []) {
            if (hasTag(c.TagList, tag.key, tag.value)) resources.push({ kind: 'rds-cluster', id: c.DBClusterIdentifier!, state: c.Status ?? 'unknown', tags: tagsOf(c.TagList) });
          }
        }
      }
      return resources;
    },
    async resizable(tagKeys): Promise<ResizableInstance[]> {
      return (await instances(clients, region, [{ Name: 'tag-key', Values: [...tagKeys] }])).map((i) => ({ id: i.InstanceId!, type: i.InstanceType ?? '', state: i.State?.Name ?? 'unknown', tags: tagsOf(i.Tags) }));
    },
  };
}
