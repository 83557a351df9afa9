import { DeleteVolumeCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeOpsItemsCommand, GetOpsItemCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AccountClients, AwsClients, Ec2VolumeInventory, RESOLUTION_KEY, SsmOpsCenter, ownAccountId } from '@opsauto/aws';
import { OpsItemLimitError, ThrottledError, defineConfig, staleVolumeOpsItem, type VolumeInfo } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { generateVolumes } from '../../../packages/localcloud/src/services/ec2.js';
import { setOpenOpsItemLimit } from '../../../packages/localcloud/src/services/ssm.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

const OWN = '000000000000';
const OTHER = '111122223333';
const OTHER_ROLE = `arn:aws:iam::${OTHER}:role/opsauto-stale-volume-scan`;

let cloud: Localcloud;
let clients: AwsClients;
let accounts: AccountClients;

/** Fresh per-account clients, as a new Lambda container would build them. */
const newAccounts = () =>
  new AccountClients(clients, { ownAccount: OWN, roles: [{ accountId: OTHER, roleArn: OTHER_ROLE }], settings: clientConfig(cloud), now: () => cloud.clock.nowMs() });

const listAll = async (inventory: Ec2VolumeInventory, account: string, region: string) => {
  const pages: VolumeInfo[][] = [];
  for await (const page of inventory.listUnattached(account, region)) pages.push(page);
  return pages;
};
const calls = (service: string, operation: string) => cloud.calls.snapshot()[service]?.[operation] ?? 0;

beforeAll(async () => {
  cloud = await startTestCloud();
  cloud.seed({
    regions: {
      'us-east-1': {
        images: [{ name: 'base' }],
        instances: [{ image: 'base', tags: { Name: 'web-1' } }],
        volumes: [
          { size: 100, type: 'gp3', tags: { Name: 'data-1', Team: 'payments' } },
          { size: 20, attachedTo: 'web-1' },
          { size: 1, tags: { Name: 'doomed' } },
        ],
      },
    },
  });
  cloud.seed({ account: OTHER, regions: { 'us-east-2': { volumes: [{ size: 500, type: 'st1', tags: { Name: 'other-account' } }] }, 'us-west-1': { volumes: [{ size: 8 }] } } });
  clients = new AwsClients('us-east-1', clientConfig(cloud));
  accounts = newAccounts();
});
afterAll(async () => {
  await cloud.stop();
});
afterEach(() => {
  cloud.faults.set([]);
});

describe('Ec2VolumeInventory', () => {
  const inventory = () => new Ec2VolumeInventory(accounts);

  it('lists the unattached volumes of a region as VolumeInfo, and no attached or root volume', async () => {
    // Act
    const volumes = (await listAll(inventory(), OWN, 'us-east-1')).flat();
    // Assess
    expect(volumes.map((v) => v.tags.Name).sort()).toEqual(['data-1', 'doomed']);
    expect(volumes.find((v) => v.tags.Name === 'data-1')).toEqual({
      volumeId: expect.stringMatching(/^vol-[0-9a-f]{17}$/),
      account: OWN,
      region: 'us-east-1',
      availabilityZone: 'us-east-1a',
      sizeGiB: 100,
      type: 'gp3',
      iops: 3000,
      throughputMiBs: 125,
      createTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/),
      state: 'available',
      attachedTo: [],
      tags: { Name: 'data-1', Team: 'payments' },
    });
  });

  it('reads a region of 1,050 unattached volumes in 3 DescribeVolumes pages of at most 500, never one call per volume', async () => {
    // Prepare: 1,400 volumes, a quarter attached
    generateVolumes(cloud.store, OWN, 'eu-west-1', 1_400, { inUseShare: 0.25 });
    cloud.calls.reset();
    // Act
    const pages = await listAll(inventory(), OWN, 'eu-west-1');
    // Assess
    expect(pages.map((p) => p.length)).toEqual([500, 500, 50]);
    expect(calls('ec2', 'DescribeVolumes')).toBe(Math.ceil(1_050 / 500));
    const volumes = pages.flat();
    expect(new Set(volumes.map((v) => v.volumeId)).size).toBe(1_050);
    expect(volumes.every((v) => v.state === 'available' && v.attachedTo.length === 0)).toBe(true);
  });

  it('lists every unattached volume when DescribeVolumes answers empty pages with a NextToken', async () => {
    // Prepare
    const without = (await listAll(inventory(), OWN, 'us-east-1')).flat().map((v) => v.volumeId).sort();
    cloud.faults.set([{ service: 'ec2', operation: 'DescribeVolumes', emptyPageRate: 1 }]);
    // Act
    const pages = await listAll(inventory(), OWN, 'us-east-1');
    // Assess
    expect(pages.flat().map((v) => v.volumeId).sort()).toEqual(without);
    expect(without.length).toBeGreaterThan(0);
  });

  it('describes an attached volume with the instance it is attached to', async () => {
    // Prepare
    const inUse = (await new EC2Client(clientConfig(cloud)).send(new DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['in-use'] }, { Name: 'size', Values: ['20'] }] }))).Volumes![0];
    // Act
    const [described] = await inventory().describe(OWN, 'us-east-1', [inUse.VolumeId!]);
    // Assess
    expect(described).toMatchObject({ volumeId: inUse.VolumeId, state: 'in-use', attachedTo: [inUse.Attachments![0].InstanceId], sizeGiB: 20, type: 'gp2' });
  });

  it('makes no call when asked to describe no volumes', async () => {
    cloud.calls.reset();
    expect(await inventory().describe(OWN, 'us-east-1', [])).toEqual([]);
    expect(calls('ec2', 'DescribeVolumes')).toBe(0);
  });

  it('leaves out deleted and unknown volumes instead of failing, in chunks of 200 IDs a call', async () => {
    // Prepare
    const seeded = (await listAll(inventory(), OWN, 'us-east-1')).flat();
    const doomed = seeded.find((v) => v.tags.Name === 'doomed')!.volumeId;
    const kept = seeded.find((v) => v.tags.Name === 'data-1')!.volumeId;
    await new EC2Client(clientConfig(cloud)).send(new DeleteVolumeCommand({ VolumeId: doomed }));
    const unknown = Array.from({ length: 447 }, (_, i) => `vol-${i.toString(16).padStart(17, '0')}`);
    cloud.calls.reset();
    // Act
    const described = await inventory().describe(OWN, 'us-east-1', [doomed, kept, 'vol-0123456789abcdef0', ...unknown]);
    // Assess
    expect(described.map((v) => v.volumeId)).toEqual([kept]);
    expect(calls('ec2', 'DescribeVolumes')).toBe(3);
  });
});

describe('SsmOpsCenter', () => {
  const config = defineConfig({ regions: ['us-east-1'] });
  const opsCenter = () => new SsmOpsCenter(accounts);
  const volume = (over: Partial<VolumeInfo> = {}): VolumeInfo => ({
    volumeId: 'vol-0a1b2c3d4e5f60718',
    account: OWN,
    region: 'us-east-1',
    availabilityZone: 'us-east-1a',
    sizeGiB: 500,
    type: 'gp3',
    createTime: '2026-01-01T00:00:00.000Z',
    state: 'available',
    attachedTo: [],
    tags: { Name: 'old-data' },
    ...over,
  });
  const item = (over: Partial<VolumeInfo> = {}) => staleVolumeOpsItem(volume(over), { unattachedSince: '2026-10-01T00:00:00.000Z', basis: 'observed' }, new Date('2026-11-22T06:00:00.000Z'), config);
  const getOpsItem = async (opsItemId: string, account = OWN, region = 'us-east-1') => (await accounts.for(account).get(SSMClient, region).send(new GetOpsItemCommand({ OpsItemId: opsItemId }))).OpsItem!;

  it('files an OpsItem with its title, source, category, severity, priority and typed OperationalData', async () => {
    // Act
    const { opsItemId, created } = await opsCenter().create(OWN, 'us-east-1', item());
    // Assess
    expect(created).toBe(true);
    const filed = await getOpsItem(opsItemId);
    const expected = item();
    expect(filed).toMatchObject({ Title: expected.title, Description: expected.description, Source: 'opsauto', Category: 'Cost', Severity: expected.severity, Priority: expected.priority, Status: 'Open' });
    expect(filed.OperationalData?.['/aws/dedup']).toEqual({ Value: expected.operationalData['/aws/dedup'].value, Type: 'SearchableString' });
    expect(filed.OperationalData?.['/aws/resources']?.Type).toBe('SearchableString');
    expect(filed.OperationalData?.sizeGiB).toEqual({ Value: '500', Type: 'String' });
  });

  it('answers the existing item with created false when an open item has the same dedup string', async () => {
    // Prepare
    const first = await opsCenter().create(OWN, 'us-east-1', item({ volumeId: 'vol-0a1b2c3d4e5f60719' }));
    // Act
    const second = await opsCenter().create(OWN, 'us-east-1', item({ volumeId: 'vol-0a1b2c3d4e5f60719' }));
    // Assess
    expect(second).toEqual({ opsItemId: first.opsItemId, created: false });
  });

  it('resolves an item with the note in OperationalData, after which the volume may be filed again', async () => {
    // Prepare
    const { opsItemId } = await opsCenter().create(OWN, 'us-east-1', item({ volumeId: 'vol-0a1b2c3d4e5f6071a' }));
    // Act
    await opsCenter().resolve(OWN, 'us-east-1', opsItemId, 'Resolved by opsauto: the volume was deleted.');
    // Assess
    const resolved = await getOpsItem(opsItemId);
    expect(resolved.Status).toBe('Resolved');
    expect(resolved.OperationalData?.[RESOLUTION_KEY]).toEqual({ Value: 'Resolved by opsauto: the volume was deleted.', Type: 'String' });
    const again = await opsCenter().create(OWN, 'us-east-1', item({ volumeId: 'vol-0a1b2c3d4e5f6071a' }));
    expect(again.created).toBe(true);
    expect(again.opsItemId).not.toBe(opsItemId);
  });

  it('finds the open item of a volume by following NextToken past the empty pages OpsCenter may answer a filtered call with', async () => {
    // Prepare
    const { opsItemId } = await opsCenter().create(OWN, 'us-east-1', item({ volumeId: 'vol-0a1b2c3d4e5f6071e' }));
    cloud.faults.set([{ service: 'ssm', operation: 'DescribeOpsItems', emptyPageRate: 1 }]);
    const ssm = accounts.for(OWN).get(SSMClient, 'us-east-1');
    const first = await ssm.send(new DescribeOpsItemsCommand({ OpsItemFilters: [{ Key: 'Source', Values: ['opsauto'], Operator: 'Equal' }] }));
    // Act
    const found = await opsCenter().findOpen(OWN, 'us-east-1', item({ volumeId: 'vol-0a1b2c3d4e5f6071e' }).dedupString);
    // Assess: the first page alone holds nothing; the adapter follows its token to the item.
    expect(first.OpsItemSummaries).toEqual([]);
    expect(first.NextToken).toBeDefined();
    expect(found).toBe(opsItemId);
    expect(await opsCenter().findOpen(OWN, 'us-east-1', item({ volumeId: 'vol-0a1b2c3d4e5f6071f' }).dedupString)).toBeUndefined();
  });

  it('resolves an item that no longer exists without error', async () => {
    await expect(opsCenter().resolve(OWN, 'us-east-1', 'oi-0123456789ab', 'gone')).resolves.toBeUndefined();
  });

  it('throws OpsItemLimitError when the open-item limit is reached', async () => {
    // Prepare
    setOpenOpsItemLimit(cloud.store, OWN, 'us-west-2', 1);
    await opsCenter().create(OWN, 'us-west-2', item({ region: 'us-west-2', volumeId: 'vol-0a1b2c3d4e5f6071b' }));
    // Act
    const over = opsCenter().create(OWN, 'us-west-2', item({ region: 'us-west-2', volumeId: 'vol-0a1b2c3d4e5f6071c' }));
    // Assess
    await expect(over).rejects.toBeInstanceOf(OpsItemLimitError);
  });

  it('throws ThrottledError when OpsCenter keeps throttling after the SDK retries', async () => {
    // Prepare
    cloud.faults.set([{ service: 'ssm', operation: 'CreateOpsItem', throttleRate: 1 }]);
    // Act
    const throttled = opsCenter().create(OWN, 'us-east-1', item({ volumeId: 'vol-0a1b2c3d4e5f6071d' }));
    // Assess
    await expect(throttled).rejects.toBeInstanceOf(ThrottledError);
  });
});

describe('AccountClients', () => {
  it('lists the volumes of another account through its assumed role, and not through the own credentials', async () => {
    // Prepare
    const fresh = newAccounts();
    const inventory = new Ec2VolumeInventory(fresh);
    // Act
    const other = (await listAll(inventory, OTHER, 'us-east-2')).flat();
    const own = (await listAll(inventory, OWN, 'us-east-2')).flat();
    // Assess
    expect(other.map((v) => [v.account, v.tags.Name, v.type])).toEqual([[OTHER, 'other-account', 'st1']]);
    expect(own).toEqual([]);
  });

  it('assumes the role once for every region and service of the account', async () => {
    // Prepare
    const fresh = newAccounts();
    cloud.calls.reset();
    // Act
    await Promise.all([listAll(new Ec2VolumeInventory(fresh), OTHER, 'us-east-2'), listAll(new Ec2VolumeInventory(fresh), OTHER, 'us-west-1')]);
    const filed = await new SsmOpsCenter(fresh).create(OTHER, 'us-east-2', staleVolumeOpsItem({ volumeId: 'vol-0ffffffffffffffff', account: OTHER, region: 'us-east-2', availabilityZone: 'us-east-2a', sizeGiB: 500, type: 'st1', createTime: '2026-01-01T00:00:00.000Z', state: 'available', attachedTo: [], tags: {} }, { unattachedSince: '2026-01-01T00:00:00.000Z', basis: 'created' }, new Date('2026-11-22T00:00:00.000Z'), defineConfig({ regions: ['us-east-2'] })));
    // Assess
    expect(calls('sts', 'AssumeRole')).toBe(1);
    // The item is in the other account: the own credentials do not see it.
    await expect(clients.get(SSMClient, 'us-east-2').send(new GetOpsItemCommand({ OpsItemId: filed.opsItemId }))).rejects.toMatchObject({ name: 'OpsItemNotFoundException' });
    expect((await fresh.for(OTHER).get(SSMClient, 'us-east-2').send(new GetOpsItemCommand({ OpsItemId: filed.opsItemId }))).OpsItem?.Status).toBe('Open');
  });

  it('assumes the role again when its credentials expire on the clock it is given, not the system clock', async () => {
    // Prepare
    const fresh = newAccounts();
    const inventory = new Ec2VolumeInventory(fresh);
    await listAll(inventory, OTHER, 'us-east-2');
    cloud.calls.reset();
    // Act: the session lasted an hour; localcloud answers ExpiredToken to its keys now
    await cloud.advance('2h');
    const volumes = (await listAll(inventory, OTHER, 'us-east-2')).flat();
    // Assess
    expect(volumes).toHaveLength(1);
    expect(calls('sts', 'AssumeRole')).toBe(1);
  });

  it('gives the own account its own clients and refuses an account without a configured role', () => {
    expect(accounts.for(OWN)).toBe(clients);
    expect(() => accounts.for('444455556666')).toThrow(/no role is configured for account 444455556666/);
  });

  it('takes the own account ID from the function ARN when there is one, else from STS', async () => {
    cloud.calls.reset();
    expect(await ownAccountId(clients, 'arn:aws:lambda:us-east-1:123456789012:function:stale-volume-scan')).toBe('123456789012');
    expect(calls('sts', 'GetCallerIdentity')).toBe(0);
    expect(await ownAccountId(clients)).toBe(OWN);
  });
});
