/**
 * VPC security groups: CreateSecurityGroup, DescribeSecurityGroups (ids, names, filters, paging),
 * AuthorizeSecurityGroupIngress/Egress, RevokeSecurityGroupIngress/Egress, DeleteSecurityGroup, DescribeSecurityGroupRules,
 * and the `default` group every VPC has (inbound from itself, outbound to everywhere), with the shapes and error codes
 * of the EC2 API reference. Rules are kept one per peer (as EC2's security group rules, `sgr-…`) and answered grouped
 * into IpPermissions by protocol and port range, as DescribeSecurityGroups does.
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import { parseDescribeRequest, scanPage, type DescribeShape } from './ec2-describe.js';
import {
  checkTagLimit,
  ec2State,
  existingEc2State,
  optionalInt,
  optionalString,
  requiredString,
  stringList,
  tagSetXml,
  tagsFromSpecifications,
  treeList,
  type Ec2State,
} from './ec2-model.js';
import { randomId, type Tag } from './filters.js';
import type { RequestContext } from './types.js';

export interface SecurityGroupRule {
  ruleId: string;
  egress: boolean;
  /** `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all) or a protocol number. */
  ipProtocol: string;
  fromPort?: number;
  toPort?: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
  referencedGroupId?: string;
  prefixListId?: string;
  description?: string;
}

export interface SecurityGroupRecord {
  groupId: string;
  groupName: string;
  description: string;
  vpcId: string;
  rules: SecurityGroupRule[];
  tags: Tag[];
}

const GROUP_ID = /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const PROTOCOL_NAMES: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: '-1' };
const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const CIDR6 = /^[0-9a-fA-F:]+\/\d{1,3}$/;

type Ec2Operation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

function groupsOf(state: Ec2State): Record<string, SecurityGroupRecord> {
  return (state.securityGroups ??= {});
}

export const groupNotFound = (ids: string[]) =>
  new AwsError('InvalidGroup.NotFound', ids.length > 1 ? `The security groups '${ids.join(', ')}' do not exist` : `The security group '${ids[0]}' does not exist`);

function checkGroupId(id: string): void {
  if (!GROUP_ID.test(id)) throw new AwsError('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`);
}

/**
 * The account's default VPC in the region and its `default` group, made when first needed (every account has a
 * default VPC; its default group allows all traffic from itself and all outbound traffic).
 */
export function defaultVpc(state: Ec2State): { vpcId: string; defaultGroup: SecurityGroupRecord } {
  const vpcId = (state.defaultVpcId ??= randomId('vpc-'));
  return { vpcId, defaultGroup: defaultGroupOf(state, vpcId) };
}

function defaultGroupOf(state: Ec2State, vpcId: string): SecurityGroupRecord {
  const groups = groupsOf(state);
  const existing = Object.values(groups).find((g) => g.vpcId === vpcId && g.groupName === 'default');
  if (existing) return existing;
  const groupId = randomId('sg-');
  const group: SecurityGroupRecord = {
    groupId,
    groupName: 'default',
    description: 'default VPC security group',
    vpcId,
    rules: [
      { ruleId: randomId('sgr-'), egress: false, ipProtocol: '-1', referencedGroupId: groupId },
      { ruleId: randomId('sgr-'), egress: true, ipProtocol: '-1', cidrIpv4: '0.0.0.0/0' },
    ],
    tags: [],
  };
  groups[groupId] = group;
  return group;
}

/**
 * The groups an instance launches with (RunInstances `SecurityGroupId.N`, or `SecurityGroup.N` names in the default
 * VPC); the VPC's default group when none is given.
 */
export function launchGroups(state: Ec2State, input: QueryTree): SecurityGroupRecord[] {
  const { vpcId, defaultGroup } = defaultVpc(state);
  const ids = stringList(input, 'SecurityGroupId');
  const names = stringList(input, 'SecurityGroup');
  if (ids.length === 0 && names.length === 0) return [defaultGroup];
  const groups = groupsOf(state);
  ids.forEach(checkGroupId);
  const missing = ids.filter((id) => !groups[id]);
  if (missing.length > 0) throw groupNotFound(missing);
  const byName = names.map((name) => {
    const group = Object.values(groups).find((g) => g.vpcId === vpcId && g.groupName === name);
    if (!group) throw new AwsError('InvalidGroup.NotFound', `The security group '${name}' does not exist in VPC '${vpcId}'`);
    return group;
  });
  const chosen = [...ids.map((id) => groups[id]), ...byName];
  if (chosen.some((g) => g.vpcId !== vpcId)) throw new AwsError('InvalidParameter', 'Security group and subnet belong to different networks.');
  return [...new Map(chosen.map((g) => [g.groupId, g])).values()];
}

export const createSecurityGroup: Ec2Operation = (input, ctx) => {
  const name = requiredString(input, 'GroupName');
  const description = optionalString(input, 'GroupDescription');
  if (description === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter GroupDescription');
  if (name.length > 255 || description.length > 255) throw new AwsError('InvalidParameterValue', 'Security group names and descriptions can be up to 255 characters long.');
  if (/^sg-/i.test(name)) throw new AwsError('InvalidParameterValue', "Group names may not be in the format 'sg-*'.");
  const state = ec2State(ctx.store, ctx.account, ctx.region);
  const { vpcId: defaultVpcId } = defaultVpc(state);
  const vpcId = optionalString(input, 'VpcId') ?? defaultVpcId;
  if (vpcId !== defaultVpcId) throw new AwsError('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`);
  if (name === 'default') throw new AwsError('InvalidGroup.Reserved', "The security group 'default' is reserved");
  if (Object.values(groupsOf(state)).some((g) => g.vpcId === vpcId && g.groupName === name)) {
    throw new AwsError('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpcId}'`);
  }
  const tags = tagsFromSpecifications(input, 'security-group', ['security-group']);
  const groupId = randomId('sg-');
  checkTagLimit(groupId, tags);
  groupsOf(state)[groupId] = {
    groupId,
    groupName: name,
    description,
    vpcId,
    // A new group allows all outbound traffic and no inbound traffic.
    rules: [{ ruleId: randomId('sgr-'), egress: true, ipProtocol: '-1', cidrIpv4: '0.0.0.0/0' }],
    tags,
  };
  return { return: true, groupId, ...tagSetXml(tags) };
};

function groupDescribe(account: string): DescribeShape<SecurityGroupRecord> {
  return {
    idParam: 'GroupId',
    idSetName: 'groupIdSet',
    checkId: checkGroupId,
    maxResults: { min: 5, max: 1000 },
    fields: {
      description: (g) => g.description,
      'group-id': (g) => g.groupId,
      'group-name': (g) => g.groupName,
      'owner-id': () => account,
      'vpc-id': (g) => g.vpcId,
    },
    tagsOf: (g) => g.tags,
  };
}

export const describeSecurityGroups: Ec2Operation = (input, ctx) => {
  const request = parseDescribeRequest(input, groupDescribe(ctx.account));
  const names = [...new Set(stringList(input, 'GroupName'))];
  const state = ec2State(ctx.store, ctx.account, ctx.region);
  const { vpcId } = defaultVpc(state);
  const groups = groupsOf(state);
  // GroupName.N names groups of the default VPC only, as EC2 documents.
  for (const name of names) {
    if (!Object.values(groups).some((g) => g.vpcId === vpcId && g.groupName === name)) {
      throw new AwsError('InvalidGroup.NotFound', `The security group '${name}' does not exist in default VPC '${vpcId}'`);
    }
  }
  const byName = (g: SecurityGroupRecord) => names.length === 0 || (g.vpcId === vpcId && names.includes(g.groupName));
  const { page, nextToken } = scanPage(groups, request, (g) => g.groupId, groupNotFound, byName);
  return { securityGroupInfo: page.map((g) => groupXml(g, ctx.account, ctx.region)), ...(nextToken ? { nextToken } : {}) };
};

export const describeSecurityGroupRules: Ec2Operation = (input, ctx) => {
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  const ruleIds = stringList(input, 'SecurityGroupRuleId');
  const filters = treeList(input, 'Filter').map((f) => ({ name: optionalString(f, 'Name') ?? '', values: stringList(f, 'Value') }));
  for (const f of filters) if (f.name !== 'group-id' && f.name !== 'security-group-rule-id') throw new AwsError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
  const rules = Object.values(state?.securityGroups ?? {}).flatMap((g) => g.rules.map((r) => ({ g, r })));
  const selected = rules.filter(
    ({ g, r }) =>
      (ruleIds.length === 0 || ruleIds.includes(r.ruleId)) &&
      filters.every((f) => (f.name === 'group-id' ? f.values.includes(g.groupId) : f.values.includes(r.ruleId))),
  );
  const missing = ruleIds.filter((id) => !rules.some(({ r }) => r.ruleId === id));
  if (missing.length > 0) throw new AwsError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${missing[0]}' does not exist`);
  return { securityGroupRuleSet: selected.map(({ g, r }) => ruleXml(g, r, ctx.account)) };
};

/** The group an Authorize/Revoke/Delete names: GroupId, or GroupName in the default VPC. */
function targetGroup(input: QueryTree, state: Ec2State): SecurityGroupRecord {
  const id = optionalString(input, 'GroupId');
  const name = optionalString(input, 'GroupName');
  const groups = groupsOf(state);
  if (id !== undefined) {
    checkGroupId(id);
    const group = groups[id];
    if (!group) throw groupNotFound([id]);
    return group;
  }
  if (name === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter groupName or groupId');
  const { vpcId } = defaultVpc(state);
  const group = Object.values(groups).find((g) => g.vpcId === vpcId && g.groupName === name);
  if (!group) throw new AwsError('InvalidGroup.NotFound', `The security group '${name}' does not exist in default VPC '${vpcId}'`);
  return group;
}

function protocolOf(raw: string | undefined): string {
  if (raw === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter ipProtocol');
  const p = PROTOCOL_NAMES[raw.toLowerCase()] ?? raw.toLowerCase();
  if (['tcp', 'udp', 'icmp', 'icmpv6', '-1'].includes(p)) return p;
  const n = Number(p);
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new AwsError('InvalidParameterValue', `Invalid value '${raw}' for IP protocol. Unknown protocol.`);
  return p;
}

function checkCidr4(cidr: string): void {
  const m = CIDR4.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) throw new AwsError('InvalidParameterValue', `CIDR block ${cidr} is malformed`);
}

/** The rules an `IpPermissions.N` list (or the legacy top-level CidrIp/IpProtocol/FromPort/ToPort form) asks for. */
function requestedRules(input: QueryTree, egress: boolean, state: Ec2State, account: string): Omit<SecurityGroupRule, 'ruleId'>[] {
  const permissions = treeList(input, 'IpPermissions');
  const legacyCidr = optionalString(input, 'CidrIp');
  const legacySource = optionalString(input, 'SourceSecurityGroupName');
  if (permissions.length === 0 && (legacyCidr !== undefined || legacySource !== undefined || optionalString(input, 'IpProtocol') !== undefined)) {
    const legacy: QueryTree = { IpProtocol: optionalString(input, 'IpProtocol') ?? '-1' };
    for (const k of ['FromPort', 'ToPort']) if (input[k] !== undefined) legacy[k] = input[k];
    if (legacyCidr !== undefined) legacy.IpRanges = [{ CidrIp: legacyCidr }];
    if (legacySource !== undefined) {
      const group = Object.values(groupsOf(state)).find((g) => g.groupName === legacySource && g.vpcId === defaultVpc(state).vpcId);
      if (!group) throw new AwsError('InvalidGroup.NotFound', `The security group '${legacySource}' does not exist`);
      legacy.Groups = [{ GroupId: group.groupId }];
    }
    permissions.push(legacy);
  }
  if (permissions.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter ipPermissions');
  const rules: Omit<SecurityGroupRule, 'ruleId'>[] = [];
  for (const p of permissions) {
    const ipProtocol = protocolOf(optionalString(p, 'IpProtocol'));
    let fromPort = optionalInt(p, 'FromPort');
    let toPort = optionalInt(p, 'ToPort');
    if (ipProtocol === 'tcp' || ipProtocol === 'udp') {
      if (fromPort === undefined || toPort === undefined) throw new AwsError('InvalidParameterValue', `Invalid value for portRange. Must specify both from and to ports with TCP/UDP.`);
      if (fromPort < 0 || toPort > 65535 || fromPort > toPort) throw new AwsError('InvalidParameterValue', `Invalid port range (${fromPort} - ${toPort}) for protocol ${ipProtocol}`);
    } else if (ipProtocol === 'icmp' || ipProtocol === 'icmpv6') {
      fromPort ??= -1;
      toPort ??= -1;
    } else {
      fromPort = undefined;
      toPort = undefined;
    }
    const base = { egress, ipProtocol, ...(fromPort !== undefined ? { fromPort } : {}), ...(toPort !== undefined ? { toPort } : {}) };
    const described = (t: QueryTree) => {
      const d = optionalString(t, 'Description');
      return d !== undefined ? { description: d } : {};
    };
    const peers = rules.length;
    for (const r of treeList(p, 'IpRanges')) {
      const cidr = requiredString(r, 'CidrIp');
      checkCidr4(cidr);
      rules.push({ ...base, cidrIpv4: cidr, ...described(r) });
    }
    for (const r of treeList(p, 'Ipv6Ranges')) {
      const cidr = requiredString(r, 'CidrIpv6');
      if (!CIDR6.test(cidr)) throw new AwsError('InvalidParameterValue', `CIDR block ${cidr} is malformed`);
      rules.push({ ...base, cidrIpv6: cidr.toLowerCase(), ...described(r) });
    }
    for (const r of treeList(p, 'Groups')) {
      const groupId = optionalString(r, 'GroupId');
      const userId = optionalString(r, 'UserId');
      if (userId !== undefined && userId !== account) throw new AwsError('UnsupportedOperation', 'localcloud does not emulate security group rules that reference another account\'s groups');
      if (groupId === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter groupId in UserIdGroupPairs');
      checkGroupId(groupId);
      if (!groupsOf(state)[groupId]) throw groupNotFound([groupId]);
      rules.push({ ...base, referencedGroupId: groupId, ...described(r) });
    }
    for (const r of treeList(p, 'PrefixListIds')) rules.push({ ...base, prefixListId: requiredString(r, 'PrefixListId'), ...described(r) });
    if (rules.length === peers) throw new AwsError('MissingParameter', 'The request must contain a source or destination for each permission (IpRanges, Ipv6Ranges, UserIdGroupPairs or PrefixListIds)');
  }
  return rules;
}

const samePeerAndPorts = (a: Omit<SecurityGroupRule, 'ruleId'>, b: Omit<SecurityGroupRule, 'ruleId'>) =>
  a.egress === b.egress &&
  a.ipProtocol === b.ipProtocol &&
  a.fromPort === b.fromPort &&
  a.toPort === b.toPort &&
  a.cidrIpv4 === b.cidrIpv4 &&
  a.cidrIpv6 === b.cidrIpv6 &&
  a.referencedGroupId === b.referencedGroupId &&
  a.prefixListId === b.prefixListId;

function describeRule(r: Omit<SecurityGroupRule, 'ruleId'>): string {
  const peer = r.cidrIpv4 ?? r.cidrIpv6 ?? r.referencedGroupId ?? r.prefixListId;
  const protocol = r.ipProtocol === '-1' ? 'ALL' : r.ipProtocol.toUpperCase();
  return `peer: ${peer}, ${protocol}${r.fromPort !== undefined ? `, from port: ${r.fromPort}, to port: ${r.toPort}` : ''}, ALLOW`;
}

function authorize(egress: boolean): Ec2Operation {
  return (input, ctx) => {
    const state = ec2State(ctx.store, ctx.account, ctx.region);
    const group = egress ? targetGroup({ GroupId: requiredString(input, 'GroupId') }, state) : targetGroup(input, state);
    const wanted = requestedRules(input, egress, state, ctx.account);
    for (const [i, rule] of wanted.entries()) {
      if (group.rules.some((r) => samePeerAndPorts(r, rule)) || wanted.slice(0, i).some((w) => samePeerAndPorts(w, rule))) {
        throw new AwsError('InvalidPermission.Duplicate', `the specified rule "${describeRule(rule)}" already exists`);
      }
    }
    if (group.rules.length + wanted.length > 120) throw new AwsError('RulesPerSecurityGroupLimitExceeded', 'The maximum number of rules per security group has been reached.');
    const added = wanted.map((rule) => ({ ruleId: randomId('sgr-'), ...rule }));
    group.rules.push(...added);
    return { return: true, securityGroupRuleSet: added.map((r) => ruleXml(group, r, ctx.account)) };
  };
}

function revoke(egress: boolean): Ec2Operation {
  return (input, ctx) => {
    const state = ec2State(ctx.store, ctx.account, ctx.region);
    const group = egress ? targetGroup({ GroupId: requiredString(input, 'GroupId') }, state) : targetGroup(input, state);
    const ruleIds = stringList(input, 'SecurityGroupRuleId');
    let remove: SecurityGroupRule[];
    if (ruleIds.length > 0) {
      remove = ruleIds.map((id) => {
        const rule = group.rules.find((r) => r.ruleId === id && r.egress === egress);
        if (!rule) throw new AwsError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${id}' does not exist`);
        return rule;
      });
    } else {
      remove = requestedRules(input, egress, state, ctx.account).map((wanted) => {
        const rule = group.rules.find((r) => samePeerAndPorts(r, wanted));
        if (!rule) throw new AwsError('InvalidPermission.NotFound', `The specified rule does not exist in this security group.`);
        return rule;
      });
    }
    group.rules = group.rules.filter((r) => !remove.includes(r));
    return { return: true, revokedSecurityGroupRuleSet: remove.map((r) => ruleXml(group, r, ctx.account)) };
  };
}

export const authorizeSecurityGroupIngress = authorize(false);
export const authorizeSecurityGroupEgress = authorize(true);
export const revokeSecurityGroupIngress = revoke(false);
export const revokeSecurityGroupEgress = revoke(true);

export const deleteSecurityGroup: Ec2Operation = (input, ctx) => {
  const state = ec2State(ctx.store, ctx.account, ctx.region);
  const group = targetGroup(input, state);
  if (group.groupName === 'default') throw new AwsError('CannotDelete', `the specified group: "${group.groupId}" name: "default" cannot be deleted by a user`);
  const usedByInstance = Object.values(state.instances).some((i) => i.state !== 'terminated' && (i.securityGroupIds ?? []).includes(group.groupId));
  const referenced = Object.values(groupsOf(state)).some((g) => g.groupId !== group.groupId && g.rules.some((r) => r.referencedGroupId === group.groupId));
  if (usedByInstance || referenced) throw new AwsError('DependencyViolation', `resource ${group.groupId} has a dependent object`);
  delete groupsOf(state)[group.groupId];
  return { return: true, groupId: group.groupId };
};

/** EC2's IpPermissions: rules of one direction grouped by protocol and port range, peers listed by kind. */
function permissionsXml(group: SecurityGroupRecord, egress: boolean, account: string): XmlValue[] {
  const byPorts = new Map<string, SecurityGroupRule[]>();
  for (const r of group.rules.filter((x) => x.egress === egress)) {
    const key = `${r.ipProtocol}|${r.fromPort ?? ''}|${r.toPort ?? ''}`;
    byPorts.set(key, [...(byPorts.get(key) ?? []), r]);
  }
  return [...byPorts.values()].map((rules) => {
    const [first] = rules;
    const d = (r: SecurityGroupRule) => (r.description !== undefined ? { description: r.description } : {});
    return {
      ipProtocol: first.ipProtocol,
      ...(first.fromPort !== undefined ? { fromPort: first.fromPort, toPort: first.toPort } : {}),
      groups: rules.filter((r) => r.referencedGroupId).map((r) => ({ userId: account, groupId: r.referencedGroupId!, ...d(r) })),
      ipRanges: rules.filter((r) => r.cidrIpv4).map((r) => ({ cidrIp: r.cidrIpv4!, ...d(r) })),
      ipv6Ranges: rules.filter((r) => r.cidrIpv6).map((r) => ({ cidrIpv6: r.cidrIpv6!, ...d(r) })),
      prefixListIds: rules.filter((r) => r.prefixListId).map((r) => ({ prefixListId: r.prefixListId!, ...d(r) })),
    };
  });
}

function groupXml(g: SecurityGroupRecord, account: string, region: string): Record<string, XmlValue> {
  return {
    ownerId: account,
    groupId: g.groupId,
    groupName: g.groupName,
    groupDescription: g.description,
    vpcId: g.vpcId,
    ipPermissions: permissionsXml(g, false, account),
    ipPermissionsEgress: permissionsXml(g, true, account),
    securityGroupArn: `arn:aws:ec2:${region}:${account}:security-group/${g.groupId}`,
    ...tagSetXml(g.tags),
  };
}

function ruleXml(g: SecurityGroupRecord, r: SecurityGroupRule, account: string): Record<string, XmlValue> {
  return {
    securityGroupRuleId: r.ruleId,
    groupId: g.groupId,
    groupOwnerId: account,
    isEgress: r.egress,
    ipProtocol: r.ipProtocol,
    fromPort: r.fromPort ?? -1,
    toPort: r.toPort ?? -1,
    ...(r.cidrIpv4 ? { cidrIpv4: r.cidrIpv4 } : {}),
    ...(r.cidrIpv6 ? { cidrIpv6: r.cidrIpv6 } : {}),
    ...(r.prefixListId ? { prefixListId: r.prefixListId } : {}),
    ...(r.referencedGroupId ? { referencedGroupInfo: { groupId: r.referencedGroupId, userId: account } } : {}),
    ...(r.description !== undefined ? { description: r.description } : {}),
  };
}
