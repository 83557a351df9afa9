import {
  AddTagsToResourceCommand,
  DeregisterManagedInstanceCommand,
  paginateDescribeInstanceInformation,
  SSMClient,
  type InstanceInformation,
  type InstanceInformationStringFilter,
} from '@aws-sdk/client-ssm';
import type { ManagedNode, ManagedNodeDirectory } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';

/** DescribeInstanceInformation answers at most 50 nodes a page. */
const PAGE_SIZE = 50;
/** Values one DescribeInstanceInformation string filter takes. */
const MAX_FILTER_VALUES = 100;

/** A node as DescribeInstanceInformation describes it, as the sweep keeps it. */
export function managedNode(i: InstanceInformation): ManagedNode {
  return {
    id: i.InstanceId ?? '',
    ...(i.ActivationId ? { activationId: i.ActivationId } : {}),
    ...(i.Name ? { name: i.Name } : {}),
    ...(i.RegistrationDate ? { registeredAt: i.RegistrationDate.toISOString() } : {}),
    ...(i.LastPingDateTime ? { lastPingAt: i.LastPingDateTime.toISOString() } : {}),
    ...(i.PingStatus ? { pingStatus: i.PingStatus } : {}),
  };
}

/**
 * ManagedNodeDirectory over SSM: DescribeInstanceInformation (SDK paginator, 50 a page) filtered by `ActivationIds`
 * (up to 100 ids a query) or by `tag-key` on hybrid nodes (`ResourceType` ManagedInstance), AddTagsToResource and
 * DeregisterManagedInstance on `ManagedInstance` resources.
 *
 * @example
 * const nodes = new SsmManagedNodes(clients);
 * await nodes.nodesOfActivations(['e488f2f6-…']) // [{ id: 'mi-0123456789abcdef0', activationId: 'e488f2f6-…', lastPingAt: '…', … }]
 */
export class SsmManagedNodes implements ManagedNodeDirectory {
  constructor(
    private readonly clients: AwsClients,
    private readonly region?: string,
  ) {}

  async nodesOfActivations(activationIds: readonly string[]): Promise<ManagedNode[]> {
    const nodes: ManagedNode[] = [];
    for (let i = 0; i < activationIds.length; i += MAX_FILTER_VALUES) {
      for await (const page of this.pages([{ Key: 'ActivationIds', Values: activationIds.slice(i, i + MAX_FILTER_VALUES) }])) nodes.push(...page);
    }
    return nodes;
  }

  nodesTagged(tagKey: string): AsyncIterable<ManagedNode[]> {
    return this.pages([
      { Key: 'tag-key', Values: [tagKey] },
      { Key: 'ResourceType', Values: ['ManagedInstance'] },
    ]);
  }

  async tag(nodeId: string, tags: Record<string, string>): Promise<void> {
    const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    if (Tags.length === 0) return;
    await this.ssm().send(new AddTagsToResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: nodeId, Tags }));
  }

  async deregister(nodeId: string): Promise<boolean> {
    try {
      await this.ssm().send(new DeregisterManagedInstanceCommand({ InstanceId: nodeId }));
      return true;
    } catch (e) {
      // Deregistered already (by a person, another run, or an earlier run whose answer was lost).
      if (!isAwsError(e, 'InvalidInstanceId')) throw e;
      return false;
    }
  }

  private async *pages(Filters: InstanceInformationStringFilter[]): AsyncGenerator<ManagedNode[]> {
    for await (const page of paginateDescribeInstanceInformation({ client: this.ssm(), pageSize: PAGE_SIZE }, { Filters })) {
      yield (page.InstanceInformationList ?? []).map(managedNode);
    }
  }

  private ssm(): SSMClient {
    return this.clients.get(SSMClient, this.region);
  }
}
