import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyInstanceMetadataOptionsCommand,
  paginateDescribeSecurityGroups,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { INSTANCE_RUNNING_DELAY_MS, INSTANCE_TERMINATED_DELAY_MS, seedEc2 } from '../../packages/localcloud/src/services/ec2.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';

describe('localcloud EC2 security groups and instance network shapes', () => {
  let cloud: Localcloud;
  let ec2: EC2Client;
  let imageId: string;

  beforeEach(async () => {
    cloud = await startTestCloud();
    ec2 = new EC2Client(clientConfig(cloud));
    imageId = seedEc2(cloud.store, ACCOUNT, 'us-east-1', { images: [{ name: 'base', creationDate: '2026-12-02T10:00:00.456Z', instanceStore: 2 }] }).imageIds[0];
  });
  afterEach(async () => {
    ec2.destroy();
    await cloud.stop();
  });

  async function instance(id: string): Promise<Instance> {
    return (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0];
  }

  it('has a default group per VPC that allows traffic from itself and all outbound traffic, and refuses to delete it', async () => {
    const [group] = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }))).SecurityGroups!;
    expect(group).toMatchObject({
      GroupName: 'default',
      Description: 'default VPC security group',
      OwnerId: ACCOUNT,
      VpcId: expect.stringMatching(/^vpc-/),
      IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: group.GroupId, UserId: ACCOUNT }], IpRanges: [], Ipv6Ranges: [], PrefixListIds: [] }],
      IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      SecurityGroupArn: `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${group.GroupId}`,
    });
    expect(await errorWithStatusOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: group.GroupId })))).toMatchObject({ name: 'CannotDelete' });
    expect(await errorWithStatusOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'default', Description: 'x' })))).toMatchObject({ name: 'InvalidGroup.Reserved' });
  });

  it('creates a group, authorizes and revokes ingress and egress rules, describes them by filter, and deletes it', async () => {
    const created = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web servers', TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'team', Value: 'web' }] }] }),
    );
    expect(created.GroupId).toMatch(/^sg-[0-9a-f]{17}$/);
    const authorized = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: created.GroupId,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'ssh' }, { CidrIp: '10.0.0.0/8' }] },
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
        ],
      }),
    );
    expect(authorized.Return).toBe(true);
    expect(authorized.SecurityGroupRules).toHaveLength(3);
    expect(authorized.SecurityGroupRules![0]).toMatchObject({ SecurityGroupRuleId: expect.stringMatching(/^sgr-/), GroupId: created.GroupId, IsEgress: false, IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIpv4: '0.0.0.0/0', Description: 'ssh' });

    expect(await errorWithStatusOf(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: created.GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })))).toMatchObject({
      name: 'InvalidPermission.Duplicate',
      message: 'the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists',
    });

    const [described] = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:team', Values: ['web'] }] }))).SecurityGroups!;
    expect(described.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, UserIdGroupPairs: [], IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'ssh' }, { CidrIp: '10.0.0.0/8' }], Ipv6Ranges: [], PrefixListIds: [] },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [], IpRanges: [], Ipv6Ranges: [{ CidrIpv6: '::/0' }], PrefixListIds: [] },
    ]);

    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: created.GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: created.GroupId, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    await ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: created.GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    const after = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [created.GroupId!] }))).SecurityGroups![0];
    expect(after.IpPermissions!.flatMap((p) => p.IpRanges!.map((r) => `${p.FromPort} ${r.CidrIp}`))).toEqual(['22 10.0.0.0/8']);
    expect(after.IpPermissionsEgress).toEqual([{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [], IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [] }]);

    const rules = (await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [created.GroupId!] }] }))).SecurityGroupRules!;
    expect(rules.map((r) => [r.IsEgress, r.CidrIpv4 ?? r.CidrIpv6])).toEqual([[false, '10.0.0.0/8'], [false, '::/0'], [true, '0.0.0.0/0']]);
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: created.GroupId, SecurityGroupRuleIds: [rules[1].SecurityGroupRuleId!] }));
    expect(await errorWithStatusOf(ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: created.GroupId, IpPermissions: [{ IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })))).toMatchObject({
      name: 'InvalidPermission.NotFound',
    });

    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: created.GroupId }));
    expect(await errorWithStatusOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [created.GroupId!] })))).toMatchObject({ name: 'InvalidGroup.NotFound' });
  });

  it('answers EC2 validation errors', async () => {
    expect(await errorWithStatusOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'x', Description: undefined as unknown as string })))).toMatchObject({ name: 'MissingParameter', message: expect.stringContaining('GroupDescription') });
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'dup', Description: 'd' }));
    expect(await errorWithStatusOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'dup', Description: 'd' })))).toMatchObject({ name: 'InvalidGroup.Duplicate' });
    expect(await errorWithStatusOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'x', Description: 'd', VpcId: 'vpc-0123456789abcdef0' })))).toMatchObject({ name: 'InvalidVpcID.NotFound' });
    expect(await errorWithStatusOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-nope'] })))).toMatchObject({ name: 'InvalidGroupId.Malformed' });
    expect(await errorWithStatusOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['absent'] })))).toMatchObject({ name: 'InvalidGroup.NotFound' });
    expect(await errorWithStatusOf(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupName: 'dup', IpPermissions: [{ IpProtocol: 'tcp', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await errorWithStatusOf(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupName: 'dup', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 2, IpRanges: [{ CidrIp: '300.0.0.0/0' }] }] })))).toMatchObject({ name: 'InvalidParameterValue', message: 'CIDR block 300.0.0.0/0 is malformed' });
    expect(await errorWithStatusOf(ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'ip-permission.cidr', Values: ['0.0.0.0/0'] }] })))).toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('pages DescribeSecurityGroups with MaxResults and NextToken', async () => {
    for (let n = 0; n < 7; n++) await ec2.send(new CreateSecurityGroupCommand({ GroupName: `g${n}`, Description: 'paged' }));
    const pages = [];
    for await (const page of paginateDescribeSecurityGroups({ client: ec2, pageSize: 5 }, { Filters: [{ Name: 'description', Values: ['paged'] }] })) pages.push(page.SecurityGroups!.length);
    expect(pages).toEqual([5, 2]);
  });

  it('launches instances in the groups asked for (default group otherwise), with a network interface and metadata options; a group in use cannot be deleted; a terminated instance has no network fields', async () => {
    const { GroupId: web } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web' }));
    const run = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, SecurityGroupIds: [web!], MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 } }));
    const id = run.Instances![0].InstanceId!;
    const plain = (await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }))).Instances![0];
    await cloud.advance(INSTANCE_RUNNING_DELAY_MS);

    const running = await instance(id);
    expect(running.SecurityGroups).toEqual([{ GroupId: web, GroupName: 'web' }]);
    expect(running.MetadataOptions).toEqual({ State: 'applied', HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled', HttpProtocolIpv6: 'disabled', InstanceMetadataTags: 'disabled' });
    expect(running.NetworkInterfaces).toHaveLength(1);
    expect(running.NetworkInterfaces![0]).toMatchObject({
      NetworkInterfaceId: expect.stringMatching(/^eni-/),
      SubnetId: running.SubnetId,
      VpcId: running.VpcId,
      PrivateIpAddress: running.PrivateIpAddress,
      Groups: [{ GroupId: web, GroupName: 'web' }],
      Attachment: { DeviceIndex: 0, Status: 'attached', DeleteOnTermination: true },
      Status: 'in-use',
    });
    expect((await instance(plain.InstanceId!)).SecurityGroups).toEqual([{ GroupId: expect.stringMatching(/^sg-/), GroupName: 'default' }]);

    expect(await errorWithStatusOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: web })))).toMatchObject({ name: 'DependencyViolation' });
    const modified = await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'optional' }));
    expect(modified.InstanceMetadataOptions).toMatchObject({ State: 'pending', HttpTokens: 'optional', HttpPutResponseHopLimit: 2 });
    expect(await errorWithStatusOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'sometimes' as 'required' })))).toMatchObject({ name: 'InvalidParameterValue' });

    const [defaultGroup] = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }))).SecurityGroups!;
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Groups: [defaultGroup.GroupId!] }));
    expect((await instance(id)).SecurityGroups).toEqual([{ GroupId: defaultGroup.GroupId, GroupName: 'default' }]);
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: web }));

    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await cloud.advance(INSTANCE_TERMINATED_DELAY_MS);
    const gone = await instance(id);
    expect(gone.State?.Name).toBe('terminated');
    expect(gone).not.toHaveProperty('SubnetId');
    expect(gone).not.toHaveProperty('VpcId');
    expect(gone).not.toHaveProperty('PrivateIpAddress');
    expect(gone.PrivateDnsName).toBe('');
    expect(gone.NetworkInterfaces).toEqual([]);
    expect(gone.SecurityGroups).toEqual([]);
  });

  it('reports images with SriovNetSupport, their instance store mappings, and CreationDate at whole seconds', async () => {
    const [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images!;
    expect(image.CreationDate).toBe('2026-12-02T10:00:00.000Z');
    expect(image.SriovNetSupport).toBe('simple');
    expect(image.BlockDeviceMappings).toEqual([
      { DeviceName: '/dev/xvda', Ebs: expect.objectContaining({ VolumeSize: 8 }) },
      { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
      { DeviceName: '/dev/sdc', VirtualName: 'ephemeral1' },
    ]);
  });
});
