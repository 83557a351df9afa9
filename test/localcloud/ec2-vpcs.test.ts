import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  paginateDescribeSubnets,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allowRoleActions, emulatedOperations, type Localcloud } from '@opsauto/localcloud';
import { seedEc2 } from '../../packages/localcloud/src/services/ec2.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

describe('localcloud EC2 default VPC and subnets', () => {
  let cloud: Localcloud;
  let ec2: EC2Client;

  beforeEach(async () => {
    cloud = await startTestCloud();
    ec2 = new EC2Client(clientConfig(cloud));
  });
  afterEach(async () => {
    ec2.destroy();
    await cloud.stop();
  });

  const subnets = async (Filters?: { Name: string; Values: string[] }[]) => (await ec2.send(new DescribeSubnetsCommand({ Filters }))).Subnets ?? [];

  it('lists the operations as emulated', () => {
    expect(emulatedOperations()).toEqual(expect.arrayContaining(['ec2:DescribeVpcs', 'ec2:DescribeSubnets', 'ec2:ModifySubnetAttribute']));
  });

  it('answers the default VPC, the one its security groups are in, with one default subnet per zone', async () => {
    const vpcs = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? [];
    expect(vpcs).toHaveLength(1);
    expect(vpcs[0]).toMatchObject({ IsDefault: true, State: 'available', CidrBlock: '172.31.0.0/16', OwnerId: ACCOUNT });
    const vpcId = vpcs[0].VpcId!;
    const groups = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }))).SecurityGroups ?? [];
    expect(groups[0]?.VpcId).toBe(vpcId);

    const all = await subnets();
    expect(all.map((s) => s.AvailabilityZone)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((l) => `${REGION}${l}`));
    expect(all[0]).toMatchObject({
      VpcId: vpcId,
      State: 'available',
      CidrBlock: '172.31.0.0/20',
      DefaultForAz: true,
      MapPublicIpOnLaunch: true,
      AvailableIpAddressCount: 4091,
      AvailabilityZoneId: 'use1-az1',
      OwnerId: ACCOUNT,
      SubnetArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/${all[0].SubnetId}`,
    });
    expect(all[1].CidrBlock).toBe('172.31.16.0/20');
    expect(new Set(all.map((s) => s.SubnetId)).size).toBe(6);
    // The same subnets on every call.
    expect((await subnets()).map((s) => s.SubnetId)).toEqual(all.map((s) => s.SubnetId));
  });

  it('filters by vpc-id, default-for-az, subnet-id, availability-zone and map-public-ip-on-launch, and pages', async () => {
    const all = await subnets();
    const vpcId = all[0].VpcId!;
    expect(await subnets([{ Name: 'vpc-id', Values: [vpcId] }])).toHaveLength(6);
    expect(await subnets([{ Name: 'vpc-id', Values: ['vpc-0123456789abcdef0'] }])).toEqual([]);
    expect(await subnets([{ Name: 'default-for-az', Values: ['true'] }])).toHaveLength(6);
    expect((await subnets([{ Name: 'subnet-id', Values: [all[2].SubnetId!] }])).map((s) => s.SubnetId)).toEqual([all[2].SubnetId]);
    expect((await subnets([{ Name: 'availability-zone', Values: [`${REGION}b`] }])).map((s) => s.SubnetId)).toEqual([all[1].SubnetId]);

    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: all[0].SubnetId, MapPublicIpOnLaunch: { Value: false } }));
    expect((await subnets([{ Name: 'map-public-ip-on-launch', Values: ['false'] }])).map((s) => s.SubnetId)).toEqual([all[0].SubnetId]);
    expect(await subnets([{ Name: 'map-public-ip-on-launch', Values: ['true'] }])).toHaveLength(5);

    const pages: number[] = [];
    for await (const page of paginateDescribeSubnets({ client: ec2, pageSize: 5 }, {})) pages.push(page.Subnets?.length ?? 0);
    expect(pages).toEqual([5, 1]);
  });

  it('describes subnets by id and refuses ids that do not exist or are malformed, and filters it does not know', async () => {
    const [first] = await subnets();
    expect((await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [first.SubnetId!] }))).Subnets?.map((s) => s.SubnetId)).toEqual([first.SubnetId]);
    expect(await errorWithStatusOf(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0123456789abcdef0'] })))).toMatchObject({ name: 'InvalidSubnetID.NotFound', status: 400 });
    expect(await errorWithStatusOf(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['sub-1'] })))).toMatchObject({ name: 'InvalidSubnetID.Malformed' });
    expect(await errorWithStatusOf(ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] })))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await errorWithStatusOf(ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0123456789abcdef0'] })))).toMatchObject({ name: 'InvalidVpcID.NotFound' });
  });

  it('ModifySubnetAttribute turns MapPublicIpOnLaunch off and on, refuses an unknown subnet, and names attributes it does not emulate', async () => {
    const [first] = await subnets();
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: first.SubnetId, MapPublicIpOnLaunch: { Value: false } }));
    expect((await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [first.SubnetId!] }))).Subnets?.[0]?.MapPublicIpOnLaunch).toBe(false);
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: first.SubnetId, MapPublicIpOnLaunch: { Value: true } }));
    expect((await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [first.SubnetId!] }))).Subnets?.[0]?.MapPublicIpOnLaunch).toBe(true);

    expect(
      await errorWithStatusOf(ec2.send(new ModifySubnetAttributeCommand({ SubnetId: 'subnet-0123456789abcdef0', MapPublicIpOnLaunch: { Value: false } }))),
    ).toMatchObject({ name: 'InvalidSubnetID.NotFound' });
    expect(await errorWithStatusOf(ec2.send(new ModifySubnetAttributeCommand({ SubnetId: first.SubnetId, EnableDns64: { Value: true } })))).toMatchObject({
      name: 'UnsupportedOperation',
      message: expect.stringContaining('ModifySubnetAttribute attribute EnableDns64'),
    });
    expect(await errorWithStatusOf(ec2.send(new ModifySubnetAttributeCommand({ SubnetId: first.SubnetId })))).toMatchObject({ name: 'MissingParameter' });
    expect((await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [first.SubnetId!] }))).Subnets?.[0]?.MapPublicIpOnLaunch).toBe(true);
  });

  it('launches an instance without SubnetId into the default subnet of its zone, and tags subnets', async () => {
    const imageId = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'base' }] }).imageIds[0];
    const run = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: `${REGION}c` } }));
    const instanceId = run.Instances![0].InstanceId!;
    const [zoneC] = await subnets([{ Name: 'availability-zone', Values: [`${REGION}c`] }]);
    const described = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations?.[0]?.Instances?.[0];
    expect(described).toMatchObject({ SubnetId: zoneC.SubnetId, VpcId: zoneC.VpcId });

    await ec2.send(new CreateTagsCommand({ Resources: [zoneC.SubnetId!], Tags: [{ Key: 'tier', Value: 'public' }] }));
    expect((await subnets([{ Name: 'tag:tier', Values: ['public'] }])).map((s) => s.SubnetId)).toEqual([zoneC.SubnetId]);
  });

  it('refuses ModifySubnetAttribute to a role allowed only ec2:DescribeSubnets', async () => {
    const [first] = await subnets();
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/opsauto-net-reader`;
    await allowRoleActions(cloud.url, { roleArn, actions: ['ec2:DescribeSubnets'] });
    const sts = new STSClient(clientConfig(cloud));
    const creds = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'reader' }))).Credentials!;
    sts.destroy();
    const reader = new EC2Client({ ...clientConfig(cloud), credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! } });
    try {
      expect((await reader.send(new DescribeSubnetsCommand({}))).Subnets).toHaveLength(6);
      const refused = await errorWithStatusOf(reader.send(new ModifySubnetAttributeCommand({ SubnetId: first.SubnetId, MapPublicIpOnLaunch: { Value: false } })));
      expect(refused).toMatchObject({ name: 'UnauthorizedOperation', status: 403 });
    } finally {
      reader.destroy();
    }
    expect((await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [first.SubnetId!] }))).Subnets?.[0]?.MapPublicIpOnLaunch).toBe(true);
  });

  it('answers an empty first page with a token under the emptyPageRate fault, and the subnets after it', async () => {
    await subnets();
    cloud.faults.set([{ emptyPageRate: 1 }]);
    const first = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }));
    expect(first.Subnets).toEqual([]);
    const next = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }], NextToken: first.NextToken }));
    expect(next.Subnets).toHaveLength(6);
  });
});
