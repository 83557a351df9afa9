/**
 * The account's default VPC in a region and its default subnets (Amazon VPC User Guide, "Default VPCs"): the VPC
 * is 172.31.0.0/16 and has one default subnet (a /20) per Availability Zone, whose instances get a public IPv4
 * address (`MapPublicIpOnLaunch` true) unless ModifySubnetAttribute turns it off. Both are made when first needed,
 * sharing the VPC id with the security groups (ec2-security-groups.ts `defaultVpc`). DescribeVpcs, DescribeSubnets
 * (ids, filters, paging) and ModifySubnetAttribute (MapPublicIpOnLaunch only) serve them; custom VPCs and
 * subnets are not emulated.
 */
import { AwsError, notEmulated } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import { availabilityZoneId } from './ec2-ebs-encryption.js';
import { parseDescribeRequest, scanPage, type DescribeShape } from './ec2-describe.js';
import { ec2State, optionalBool, requiredString, tagSetXml, treeList, type Ec2State } from './ec2-model.js';
import { defaultVpc } from './ec2-security-groups.js';
import { randomId, type Tag } from './filters.js';
import type { RequestContext } from './types.js';

type Ec2Operation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

export const DEFAULT_VPC_CIDR = '172.31.0.0/16';

/** Zone letters per region: us-east-1 has six zones; every other region is given three here. */
export function zonesOf(region: string): string[] {
  const letters = region === 'us-east-1' ? 'abcdef' : 'abc';
  return [...letters].map((l) => `${region}${l}`);
}

export interface SubnetRecord {
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  cidrBlock: string;
  defaultForAz: boolean;
  mapPublicIpOnLaunch: boolean;
  tags: Tag[];
}

/** The region's default subnets by id, made (with the default VPC) on first use. */
export function subnetsOf(state: Ec2State, region: string): Record<string, SubnetRecord> {
  const { vpcId } = defaultVpc(state);
  const subnets = (state.subnets ??= {});
  if (!Object.values(subnets).some((s) => s.vpcId === vpcId && s.defaultForAz)) {
    zonesOf(region).forEach((availabilityZone, i) => {
      const subnetId = randomId('subnet-');
      // 172.31.0.0/20, 172.31.16.0/20, … as AWS carves the default VPC.
      subnets[subnetId] = { subnetId, vpcId, availabilityZone, cidrBlock: `172.31.${i * 16}.0/20`, defaultForAz: true, mapPublicIpOnLaunch: true, tags: [] };
    });
  }
  return subnets;
}

/** The default subnet of a zone (where an instance launched without SubnetId goes). */
export function defaultSubnetId(state: Ec2State, region: string, zone: string): string {
  const subnet = Object.values(subnetsOf(state, region)).find((s) => s.defaultForAz && s.availabilityZone === zone);
  // A zone letter beyond the emulated ones still gets a subnet id, as before subnets were emulated.
  return subnet?.subnetId ?? randomId('subnet-');
}

export const subnetNotFound = (ids: string[]) =>
  new AwsError('InvalidSubnetID.NotFound', ids.length > 1 ? `The subnet IDs '${ids.join(', ')}' do not exist` : `The subnet ID '${ids[0]}' does not exist`);
const vpcNotFound = (ids: string[]) =>
  new AwsError('InvalidVpcID.NotFound', ids.length > 1 ? `The vpc IDs '${ids.join(', ')}' do not exist` : `The vpc ID '${ids[0]}' does not exist`);

export function checkSubnetId(id: string): void {
  if (!/^subnet-[0-9a-f]{8,17}$/.test(id)) throw new AwsError('InvalidSubnetID.Malformed', `Invalid id: "${id}" (expecting "subnet-...")`);
}

function checkVpcId(id: string): void {
  if (!/^vpc-[0-9a-f]{8,17}$/.test(id)) throw new AwsError('InvalidVpcID.Malformed', `Invalid id: "${id}" (expecting "vpc-...")`);
}

const bool = (b: boolean) => String(b);

function subnetShape(account: string): DescribeShape<SubnetRecord> {
  return {
    idParam: 'SubnetId',
    idSetName: 'subnetIds',
    checkId: checkSubnetId,
    maxResults: { min: 5, max: 1000 },
    fields: {
      'availability-zone': (s) => s.availabilityZone,
      'availability-zone-id': (s) => availabilityZoneId(s.availabilityZone),
      'cidr-block': (s) => s.cidrBlock,
      'default-for-az': (s) => bool(s.defaultForAz),
      'map-public-ip-on-launch': (s) => bool(s.mapPublicIpOnLaunch),
      'owner-id': () => account,
      state: () => 'available',
      'subnet-id': (s) => s.subnetId,
      'vpc-id': (s) => s.vpcId,
    },
    tagsOf: (s) => s.tags,
  };
}

function subnetXml(s: SubnetRecord, account: string, region: string): Record<string, XmlValue> {
  return {
    subnetId: s.subnetId,
    subnetArn: `arn:aws:ec2:${region}:${account}:subnet/${s.subnetId}`,
    state: 'available',
    vpcId: s.vpcId,
    cidrBlock: s.cidrBlock,
    ipv6CidrBlockAssociationSet: [],
    // A /20 has 4096 addresses, 5 of which AWS reserves.
    availableIpAddressCount: 4091,
    availabilityZone: s.availabilityZone,
    availabilityZoneId: availabilityZoneId(s.availabilityZone),
    defaultForAz: s.defaultForAz,
    mapPublicIpOnLaunch: s.mapPublicIpOnLaunch,
    mapCustomerOwnedIpOnLaunch: false,
    assignIpv6AddressOnCreation: false,
    ownerId: account,
    enableDns64: false,
    ipv6Native: false,
    privateDnsNameOptionsOnLaunch: { hostnameType: 'ip-name', enableResourceNameDnsARecord: false, enableResourceNameDnsAAAARecord: false },
    ...tagSetXml(s.tags),
  };
}

export const describeSubnets: Ec2Operation = (input, ctx) => {
  const request = parseDescribeRequest(input, subnetShape(ctx.account));
  const subnets = subnetsOf(ec2State(ctx.store, ctx.account, ctx.region), ctx.region);
  const { page, nextToken } = scanPage(subnets, request, (s) => s.subnetId, subnetNotFound);
  return { subnetSet: page.map((s) => subnetXml(s, ctx.account, ctx.region)), ...(nextToken ? { nextToken } : {}) };
};

/**
 * ModifySubnetAttribute: `MapPublicIpOnLaunch.Value` (EC2 takes one attribute per call). The subnet's other
 * attributes (IPv6, DNS64, customer-owned addresses, hostnames) are not emulated and answer UnsupportedOperation.
 */
export const modifySubnetAttribute: Ec2Operation = (input, ctx) => {
  const subnetId = requiredString(input, 'SubnetId');
  checkSubnetId(subnetId);
  const subnet = subnetsOf(ec2State(ctx.store, ctx.account, ctx.region), ctx.region)[subnetId];
  if (!subnet) throw subnetNotFound([subnetId]);
  const others = Object.keys(input).filter((k) => !['SubnetId', 'MapPublicIpOnLaunch', 'DryRun'].includes(k));
  if (others.length > 0) throw notEmulated('ec2', `ec2:ModifySubnetAttribute attribute ${others.join(', ')} (emulated: MapPublicIpOnLaunch)`);
  const tree = treeList(input, 'MapPublicIpOnLaunch')[0];
  const value = tree ? optionalBool(tree, 'Value') : undefined;
  if (value === undefined) throw new AwsError('MissingParameter', 'The request must contain exactly one attribute to modify, such as MapPublicIpOnLaunch.Value');
  subnet.mapPublicIpOnLaunch = value;
  return { return: true };
};

function vpcShape(account: string): DescribeShape<{ vpcId: string }> {
  return {
    idParam: 'VpcId',
    idSetName: 'vpcIds',
    checkId: checkVpcId,
    maxResults: { min: 5, max: 1000 },
    fields: {
      cidr: () => DEFAULT_VPC_CIDR,
      'cidr-block-association.cidr-block': () => DEFAULT_VPC_CIDR,
      'is-default': () => 'true',
      'owner-id': () => account,
      state: () => 'available',
      'vpc-id': (v) => v.vpcId,
    },
    tagsOf: () => [],
  };
}

/** DescribeVpcs: the default VPC, the one VPC emulated. */
export const describeVpcs: Ec2Operation = (input, ctx) => {
  const request = parseDescribeRequest(input, vpcShape(ctx.account));
  const { vpcId } = defaultVpc(ec2State(ctx.store, ctx.account, ctx.region));
  const { page, nextToken } = scanPage({ [vpcId]: { vpcId } }, request, (v) => v.vpcId, vpcNotFound);
  return {
    vpcSet: page.map((v) => ({
      ownerId: ctx.account,
      instanceTenancy: 'default',
      cidrBlockAssociationSet: [{ associationId: `vpc-cidr-assoc-${v.vpcId.slice(4)}`, cidrBlock: DEFAULT_VPC_CIDR, cidrBlockState: { state: 'associated' } }],
      isDefault: true,
      vpcId: v.vpcId,
      state: 'available',
      cidrBlock: DEFAULT_VPC_CIDR,
      dhcpOptionsId: `dopt-${v.vpcId.slice(4, 12)}`,
    })),
    ...(nextToken ? { nextToken } : {}),
  };
};
