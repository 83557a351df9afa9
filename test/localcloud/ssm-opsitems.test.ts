import {
  CreateOpsItemCommand,
  DescribeOpsItemsCommand,
  GetOpsItemCommand,
  paginateDescribeOpsItems,
  SSMClient,
  UpdateOpsItemCommand,
  type CreateOpsItemCommandInput,
  type DescribeOpsItemsCommandInput,
  type OpsItemFilter,
} from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusEvent, Localcloud } from '@opsauto/localcloud';
import { setOpenOpsItemLimit } from '../../packages/localcloud/src/services/ssm.js';
import { fixture } from '../helpers/fixtures.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

async function errorOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

const opsItemEvents = (cloud: Localcloud, kind: 'Create' | 'Update') => cloud.bus.recent.filter((e) => e['detail-type'] === `OpsItem ${kind}`) as (BusEvent & { detail: Record<string, string> })[];

const dedup = (s: string) => ({ '/aws/dedup': { Value: JSON.stringify({ dedupString: s }), Type: 'SearchableString' as const } });
const resources = (...arns: string[]) => ({ '/aws/resources': { Value: JSON.stringify(arns.map((arn) => ({ arn }))), Type: 'SearchableString' as const } });
const VOLUME_ARN = `arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-0123456789abcdef0`;

describe('localcloud SSM OpsCenter', () => {
  let cloud: Localcloud;
  let ssm: SSMClient;
  const create = (input: Partial<CreateOpsItemCommandInput> = {}) =>
    ssm.send(new CreateOpsItemCommand({ Title: 'Unattached EBS volume', Description: 'vol-0123 has been available for 46 days', Source: 'EBS', ...input }));
  const get = async (OpsItemId: string) => (await ssm.send(new GetOpsItemCommand({ OpsItemId }))).OpsItem!;

  beforeEach(async () => {
    cloud = await startTestCloud();
    ssm = new SSMClient(clientConfig(cloud));
  });
  afterEach(async () => {
    ssm.destroy();
    await cloud.stop();
  });

  describe('CreateOpsItem and GetOpsItem', () => {
    it('creates an Open /aws/issue item with its operational data and emits an OpsItem Create event shaped like AWS sample', async () => {
      const { OpsItemId, OpsItemArn } = await create({
        Priority: 2,
        Category: 'Cost',
        Severity: '3',
        OperationalData: {
          ...dedup('stale-ebs/vol-0123'),
          ...resources(VOLUME_ARN),
          '/aws/automations': { Value: JSON.stringify([{ automationId: 'AWS-DeleteEbsVolumeSnapshots', automationType: 'AWS::SSM::Automation' }]), Type: 'SearchableString' },
          sizeGiB: { Value: '100', Type: 'String' },
        },
        Tags: [{ Key: 'Team', Value: 'platform' }],
      });

      expect(OpsItemId).toMatch(/^oi-[0-9a-f]{12}$/);
      expect(OpsItemArn).toBe(`arn:aws:ssm:${REGION}:${ACCOUNT}:opsitem/${OpsItemId}`);
      const item = await get(OpsItemId!);
      expect(item).toMatchObject({
        OpsItemId,
        OpsItemArn,
        OpsItemType: '/aws/issue',
        Status: 'Open',
        Title: 'Unattached EBS volume',
        Source: 'EBS',
        Priority: 2,
        Category: 'Cost',
        Severity: '3',
        Version: '1',
        CreatedBy: `arn:aws:iam::${ACCOUNT}:root`,
        Notifications: [],
        RelatedOpsItems: [],
      });
      expect(item.OperationalData?.sizeGiB).toEqual({ Value: '100', Type: 'String' });
      expect(item.CreatedTime?.getTime()).toBe(item.LastModifiedTime?.getTime());

      const [event] = opsItemEvents(cloud, 'Create');
      const sample = fixture('events/awsdocs-ssm-2024__opsitem-create.json');
      expect(Object.keys(event.detail)).toEqual(Object.keys(sample.detail as object));
      expect(event).toMatchObject({ source: 'aws.ssm', resources: [OpsItemArn], detail: { 'ops-item-id': OpsItemId, status: 'Open', source: 'EBS', 'ops-item-type': '/aws/issue' } });
    });

    it('answers missing or out-of-range fields, reserved keys and bad reserved values with AWS errors', async () => {
      expect((await errorOf(ssm.send(new CreateOpsItemCommand({ Description: 'd', Source: 'EBS' } as CreateOpsItemCommandInput)))).name).toBe('ValidationException');
      expect((await errorOf(create({ Priority: 6 }))).name).toBe('ValidationException');
      expect((await errorOf(create({ Title: 'x'.repeat(1025) }))).name).toBe('ValidationException');
      const awsSource = await errorOf(create({ Source: 'aws.ec2' }));
      expect(awsSource.name).toBe('OpsItemInvalidParameterException');
      const reserved = await errorOf(create({ OperationalData: { '/aws/mine': { Value: 'x', Type: 'String' } } }));
      expect(reserved.name).toBe('OpsItemInvalidParameterException');
      expect((await errorOf(create({ OperationalData: { '/aws/resources': { Value: 'vol-1', Type: 'SearchableString' } } }))).name).toBe('OpsItemInvalidParameterException');
      expect((await errorOf(create({ OperationalData: { big: { Value: 'x'.repeat(21 * 1024), Type: 'String' } } }))).name).toBe('OpsItemInvalidParameterException');
      expect((await errorOf(get('oi-000000000000'))).name).toBe('OpsItemNotFoundException');
      expect((await errorOf(get('not-an-id'))).name).toBe('ValidationException');
      expect(opsItemEvents(cloud, 'Create')).toEqual([]);
    });
  });

  describe('deduplication and the open-item limit', () => {
    it('refuses a duplicate of an Open or InProgress item with OpsItemAlreadyExistsException naming it', async () => {
      const { OpsItemId } = await create({ OperationalData: { ...dedup('Stale-EBS/vol-0123'), ...resources(VOLUME_ARN) } });
      const duplicate = await errorOf(create({ OperationalData: { ...dedup('stale-ebs/VOL-0123'), ...resources(VOLUME_ARN) } }));
      expect(duplicate.name).toBe('OpsItemAlreadyExistsException');
      expect(duplicate.message).toContain(OpsItemId);

      await ssm.send(new UpdateOpsItemCommand({ OpsItemId, Status: 'InProgress' }));
      expect((await errorOf(create({ OperationalData: { ...dedup('stale-ebs/vol-0123'), ...resources(VOLUME_ARN) } }))).name).toBe('OpsItemAlreadyExistsException');
    });

    it('creates a new item when the duplicate is Resolved, when the resources differ, or without a dedup string', async () => {
      const first = await create({ OperationalData: { ...dedup('disk full'), ...resources(VOLUME_ARN) } });
      const otherResource = await create({ OperationalData: { ...dedup('disk full'), ...resources(`${VOLUME_ARN}1`) } });
      await ssm.send(new UpdateOpsItemCommand({ OpsItemId: first.OpsItemId, Status: 'Resolved' }));
      const again = await create({ OperationalData: { ...dedup('disk full'), ...resources(VOLUME_ARN) } });
      await create();
      await create();
      expect(new Set([first.OpsItemId, otherResource.OpsItemId, again.OpsItemId]).size).toBe(3);
    });

    it('answers OpsItemLimitExceededException when the region holds its limit of open items', async () => {
      setOpenOpsItemLimit(cloud.store, ACCOUNT, REGION, 2);
      const a = await create();
      await create();
      expect((await errorOf(create())).name).toBe('OpsItemLimitExceededException');
      await ssm.send(new UpdateOpsItemCommand({ OpsItemId: a.OpsItemId, Status: 'Resolved' }));
      expect((await create()).OpsItemId).toMatch(/^oi-/);
    });
  });

  it('sends the members AWS puts in the error body: OpsItemId, Limit and ResourceTypes, ParameterNames', async () => {
    const { OpsItemId } = await create({ OperationalData: dedup('members') });
    expect(await errorOf(create({ OperationalData: dedup('members') }))).toMatchObject({ name: 'OpsItemAlreadyExistsException', OpsItemId });
    expect(await errorOf(create({ OperationalData: { '/aws/mine': { Value: 'x', Type: 'String' } } }))).toMatchObject({ ParameterNames: ['/aws/mine'] });
    setOpenOpsItemLimit(cloud.store, ACCOUNT, REGION, 1);
    expect(await errorOf(create())).toMatchObject({ name: 'OpsItemLimitExceededException', Limit: 1, ResourceTypes: ['OpsItem'] });
  });

  describe('UpdateOpsItem', () => {
    it('merges and deletes operational data, changes the fields given, bumps the version and emits OpsItem Update', async () => {
      const { OpsItemId } = await create({ Priority: 3, OperationalData: { keep: { Value: 'k', Type: 'String' }, drop: { Value: 'd', Type: 'SearchableString' } } });
      await cloud.advance('1h');
      await ssm.send(
        new UpdateOpsItemCommand({
          OpsItemId,
          Status: 'InProgress',
          Title: 'Unattached EBS volume (snapshotting)',
          Priority: 1,
          Severity: '1',
          OperationalData: { added: { Value: 'a', Type: 'SearchableString' }, keep: { Value: 'k2', Type: 'String' } },
          OperationalDataToDelete: ['drop'],
        }),
      );
      const item = await get(OpsItemId!);
      expect(item).toMatchObject({ Status: 'InProgress', Title: 'Unattached EBS volume (snapshotting)', Priority: 1, Severity: '1', Version: '2', Description: 'vol-0123 has been available for 46 days' });
      expect(item.OperationalData).toEqual({ keep: { Value: 'k2', Type: 'String' }, added: { Value: 'a', Type: 'SearchableString' } });
      expect(item.LastModifiedTime!.getTime() - item.CreatedTime!.getTime()).toBeGreaterThanOrEqual(3_600_000);

      const [event] = opsItemEvents(cloud, 'Update');
      const sample = fixture('events/awsdocs-ssm-2024__opsitem-update.json');
      expect(Object.keys(event.detail)).toEqual(Object.keys(sample.detail as object));
      expect(event.detail).toMatchObject({ 'ops-item-id': OpsItemId, status: 'InProgress', title: 'Unattached EBS volume (snapshotting)' });
    });

    it('refuses to change the dedup string, an unknown status, a change-request status and an unknown item', async () => {
      const { OpsItemId } = await create({ OperationalData: dedup('one') });
      expect((await errorOf(ssm.send(new UpdateOpsItemCommand({ OpsItemId, OperationalData: dedup('two') })))).name).toBe('OpsItemInvalidParameterException');
      expect((await errorOf(ssm.send(new UpdateOpsItemCommand({ OpsItemId, OperationalDataToDelete: ['/aws/dedup'] })))).name).toBe('OpsItemInvalidParameterException');
      expect((await errorOf(ssm.send(new UpdateOpsItemCommand({ OpsItemId, Status: 'Done' as 'Open' })))).name).toBe('ValidationException');
      expect((await errorOf(ssm.send(new UpdateOpsItemCommand({ OpsItemId, Status: 'Approved' })))).name).toBe('OpsItemInvalidParameterException');
      expect((await errorOf(ssm.send(new UpdateOpsItemCommand({ OpsItemId: 'oi-0123456789ab', Status: 'Resolved' })))).name).toBe('OpsItemNotFoundException');
      expect((await get(OpsItemId!)).Version).toBe('1');
    });
  });

  describe('DescribeOpsItems', () => {
    let ids: Record<string, string>;
    beforeEach(async () => {
      const make = async (key: string, input: Partial<CreateOpsItemCommandInput>) => [key, (await create(input)).OpsItemId!] as const;
      ids = Object.fromEntries([
        await make('volume', { Title: 'Stale volume vol-1', Source: 'EBS', Priority: 2, Category: 'Cost', OperationalData: { ...dedup('stale/vol-1'), ...resources(VOLUME_ARN) } }),
        await make('runbook', {
          Title: 'Restart web-1',
          Source: 'EC2',
          Severity: '1',
          OperationalData: { '/aws/automations': { Value: JSON.stringify([{ automationId: 'AWS-RestartEC2Instance', automationType: 'AWS::SSM::Automation' }]), Type: 'SearchableString' } },
        }),
      ]);
      await cloud.advance('2d');
      ids.secret = (await create({ Title: 'Private data', Source: 'RDS', OperationalData: { owner: { Value: 'db-team', Type: 'String' }, env: { Value: 'production', Type: 'SearchableString' } } })).OpsItemId!;
      await ssm.send(new UpdateOpsItemCommand({ OpsItemId: ids.runbook, Status: 'Resolved' }));
    });

    const find = async (...OpsItemFilters: OpsItemFilter[]) =>
      ((await ssm.send(new DescribeOpsItemsCommand({ OpsItemFilters }))).OpsItemSummaries ?? []).map((s) => Object.entries(ids).find(([, id]) => id === s.OpsItemId)?.[0]);

    it('filters by status, source, title, priority, category, severity and id', async () => {
      expect(await find()).toEqual(['secret', 'runbook', 'volume']);
      expect(await find({ Key: 'Status', Operator: 'Equal', Values: ['Open', 'InProgress'] })).toEqual(['secret', 'volume']);
      expect(await find({ Key: 'Source', Operator: 'Contains', Values: ['E'] })).toEqual(['runbook', 'volume']);
      expect(await find({ Key: 'Title', Operator: 'Equal', Values: ['Restart web-1'] })).toEqual(['runbook']);
      expect(await find({ Key: 'Title', Operator: 'Contains', Values: ['vol'] })).toEqual(['volume']);
      expect(await find({ Key: 'Priority', Operator: 'Equal', Values: ['2'] })).toEqual(['volume']);
      expect(await find({ Key: 'Category', Operator: 'Equal', Values: ['Cost'] }, { Key: 'Status', Operator: 'Equal', Values: ['Open'] })).toEqual(['volume']);
      expect(await find({ Key: 'Severity', Operator: 'Equal', Values: ['1'] })).toEqual(['runbook']);
      expect(await find({ Key: 'OpsItemId', Operator: 'Equal', Values: [ids.secret] })).toEqual(['secret']);
    });

    it('filters by searchable operational data, the dedup string, resources and automations', async () => {
      expect(await find({ Key: 'OperationalData', Operator: 'Equal', Values: [JSON.stringify({ key: '/aws/dedup', value: 'STALE/vol-1' })] })).toEqual(['volume']);
      expect(await find({ Key: 'OperationalData', Operator: 'Equal', Values: [JSON.stringify({ key: 'env', value: 'production' })] })).toEqual(['secret']);
      expect(await find({ Key: 'OperationalDataKey', Operator: 'Equal', Values: ['/aws/automations'] })).toEqual(['runbook']);
      expect(await find({ Key: 'OperationalDataValue', Operator: 'Contains', Values: ['product'] })).toEqual(['secret']);
      expect(await find({ Key: 'ResourceId', Operator: 'Contains', Values: ['vol-0123456789abcdef0'] })).toEqual(['volume']);
      expect(await find({ Key: 'AutomationId', Operator: 'Equal', Values: ['AWS-RestartEC2Instance'] })).toEqual(['runbook']);
      // String (not searchable) data is neither filtered on nor shown in summaries.
      expect(await find({ Key: 'OperationalData', Operator: 'Equal', Values: [JSON.stringify({ key: 'owner', value: 'db-team' })] })).toEqual([]);
      const summary = (await ssm.send(new DescribeOpsItemsCommand({ OpsItemFilters: [{ Key: 'OpsItemId', Operator: 'Equal', Values: [ids.secret] }] }))).OpsItemSummaries![0];
      expect(summary.OperationalData).toEqual({ env: { Value: 'production', Type: 'SearchableString' } });
    });

    it('filters by creation time with GreaterThan and LessThan', async () => {
      const cut = new Date(cloud.clock.nowMs() - 86_400_000).toISOString();
      expect(await find({ Key: 'CreatedTime', Operator: 'GreaterThan', Values: [cut] })).toEqual(['secret']);
      expect(await find({ Key: 'CreatedTime', Operator: 'LessThan', Values: [cut] })).toEqual(['runbook', 'volume']);
    });

    it('pages with the SDK paginator', async () => {
      for (let i = 0; i < 4; i++) await create({ Title: `extra ${i}` });
      const sizes: number[] = [];
      const seen = new Set<string>();
      for await (const page of paginateDescribeOpsItems({ client: ssm, pageSize: 3 }, {})) {
        sizes.push(page.OpsItemSummaries?.length ?? 0);
        for (const s of page.OpsItemSummaries ?? []) seen.add(s.OpsItemId!);
      }
      expect(sizes).toEqual([3, 3, 1]);
      expect(seen.size).toBe(7);
    });

    it('answers an operator the key does not take, a bad OperationalData value, MaxResults and tokens with AWS errors', async () => {
      const errorName = async (input: DescribeOpsItemsCommandInput) => (await errorOf(ssm.send(new DescribeOpsItemsCommand(input)))).name;
      expect(await errorName({ OpsItemFilters: [{ Key: 'Status', Operator: 'Contains', Values: ['Open'] }] })).toBe('ValidationException');
      expect(await errorName({ OpsItemFilters: [{ Key: 'OperationalData', Operator: 'Equal', Values: ['/aws/dedup=x'] }] })).toBe('ValidationException');
      expect(await errorName({ OpsItemFilters: [{ Key: 'Title', Operator: 'Equal', Values: ['x'.repeat(101)] }] })).toBe('ValidationException');
      expect(await errorName({ MaxResults: 51 })).toBe('ValidationException');
      expect(await errorName({ NextToken: 'garbage' })).toBe('InvalidNextToken');
    });
  });
});
