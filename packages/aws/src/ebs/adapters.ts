import type { Clock, OpsCenter, VolumeInventory, VolumeStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import type { AccountClients } from './account-clients.js';
import { DynamoVolumeStore } from './dynamo-volume-store.js';
import { Ec2VolumeInventory } from './ec2-volume-inventory.js';
import { SsmOpsCenter } from './ssm-ops-center.js';

/**
 * The stale-EBS scanner's AWS adapters. EC2 and OpsCenter act in each volume's account (`accounts`); the store
 * is in the backend's own account, and `clients` must have the table's region as its home region.
 *
 * @example
 * ```ts
 * const { inventory, opsCenter, store } = staleVolumeAdapters(accounts, clients, process.env.TABLE_NAME!, clock);
 * await scanFleet({ config, clock, inventory, opsCenter, store }, { ownAccount: accounts.ownAccount, runId });
 * ```
 */
export function staleVolumeAdapters(accounts: AccountClients, clients: AwsClients, tableName: string, clock?: Clock): { inventory: VolumeInventory; opsCenter: OpsCenter; store: VolumeStore } {
  return { inventory: new Ec2VolumeInventory(accounts), opsCenter: new SsmOpsCenter(accounts), store: new DynamoVolumeStore(clients, tableName, { clock }) };
}
