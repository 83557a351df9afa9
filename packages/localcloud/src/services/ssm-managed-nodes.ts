/**
 * Managed nodes as Systems Manager sees them: hybrid `mi-` nodes registered through activations (ssm-activations.ts)
 * and EC2 instances whose fleet seed gives them an SSM Agent (`agent:`), each with the simulated agent's settings
 * (online or offline, scripted command outcomes, patch counts). DescribeInstanceInformation lists them.
 *
 * AWS facts kept: an EC2 instance is a managed node only when its agent runs and has registered (here: the seed
 * says so); a stopped or stopping instance's agent does not ping (`ConnectionLost`); a terminated instance is no
 * longer listed. An agent that stops pinging shows `ConnectionLost`.
 */
import { AwsError, validation } from '../errors.js';
import type { Store } from '../store.js';
import { existingEc2State, type InstanceRecord } from './ec2-model.js';
import { pageAfter, type Tag } from './filters.js';
import { activationsState, type ManagedNodeRecord } from './ssm-activations.js';
import { invalidNextToken, maxResults } from './ssm-paging.js';
import type { Operation, RequestContext } from './types.js';

export const AGENTS_SERVICE = 'ssm.agents';
const DEFAULT_AGENT_VERSION = '3.3.1142.0';

/** What the simulated agent answers for a command: the default outcome, or one document's. */
export interface AgentOutcome {
  /** Default success. */
  result?: 'success' | 'failure' | 'timeout';
  /** ResponseCode of a failure (default 1) or a timeout (default -1). */
  exitCode?: number;
  /** Standard output of the run. */
  output?: string;
  /** Standard error of the run. */
  error?: string;
  /** How long the run takes on the virtual clock (default 5 s; AWS-RunPatchBaseline 60 s). */
  durationSeconds?: number;
}

/** The agent of one node, as a fleet seed or `configureAgent` gives it. */
export interface AgentSettings extends AgentOutcome {
  /** Default online. An offline agent stops pinging: PingStatus ConnectionLost. */
  status?: 'online' | 'offline';
  /** EC2 only (mi- nodes say it when they register); default Linux. */
  platform?: 'Linux' | 'Windows' | 'MacOS';
  /** Outcomes per document name (`AWS-RunPatchBaseline` …), over the defaults. */
  documents?: Record<string, AgentOutcome>;
  /** The node's patches for AWS-RunPatchBaseline: counts before any Install, and the baseline it reports. */
  patches?: { installed?: number; missing?: number; failed?: number; baselineId?: string };
}

export interface AgentRecord extends AgentSettings {
  /** Epoch ms (virtual) the agent went offline: its LastPingDateTime. */
  offlineSince?: number;
  registeredAt: number;
}

/** Plain JSON, persisted by the store. */
export interface AgentsState {
  agents: Record<string, AgentRecord>;
}

export function agentsState(store: Store, account: string, region: string): AgentsState {
  return store.scope<AgentsState>(AGENTS_SERVICE, account, region, () => ({ agents: {} }));
}

const OUTCOMES = ['success', 'failure', 'timeout'];
const PLATFORMS = ['Linux', 'Windows', 'MacOS'];

/** Checks agent settings (from a seed or the control API); the error names the field. */
export function checkAgentSettings(value: unknown, where: string): AgentSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RangeError(`${where} must be a mapping (status, result, exitCode, output, …)`);
  const s = value as Record<string, unknown>;
  const known = ['status', 'platform', 'documents', 'patches', 'result', 'exitCode', 'output', 'error', 'durationSeconds'];
  const unknown = Object.keys(s).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new RangeError(`${where}.${unknown[0]} is not an agent setting (${known.join(', ')})`);
  if (s.status !== undefined && s.status !== 'online' && s.status !== 'offline') throw new RangeError(`${where}.status must be online or offline`);
  if (s.platform !== undefined && !PLATFORMS.includes(s.platform as string)) throw new RangeError(`${where}.platform must be ${PLATFORMS.join(', ')}`);
  checkOutcome(s, where);
  if (s.documents !== undefined) {
    if (typeof s.documents !== 'object' || s.documents === null || Array.isArray(s.documents)) throw new RangeError(`${where}.documents must map document names to outcomes`);
    for (const [name, outcome] of Object.entries(s.documents)) {
      if (typeof outcome !== 'object' || outcome === null) throw new RangeError(`${where}.documents.${name} must be an outcome (result, exitCode, output, …)`);
      checkOutcome(outcome as Record<string, unknown>, `${where}.documents.${name}`);
    }
  }
  if (s.patches !== undefined) {
    const p = s.patches as Record<string, unknown>;
    if (typeof p !== 'object' || p === null) throw new RangeError(`${where}.patches must be a mapping (installed, missing, failed, baselineId)`);
    for (const k of ['installed', 'missing', 'failed']) {
      if (p[k] !== undefined && (!Number.isInteger(p[k]) || (p[k] as number) < 0)) throw new RangeError(`${where}.patches.${k} must be a whole number`);
    }
    if (p.baselineId !== undefined && (typeof p.baselineId !== 'string' || !/^pb-[0-9a-f]{17}$/.test(p.baselineId))) throw new RangeError(`${where}.patches.baselineId must be a baseline id (pb- and 17 hex digits)`);
  }
  return s as AgentSettings;
}

function checkOutcome(s: Record<string, unknown>, where: string): void {
  if (s.result !== undefined && !OUTCOMES.includes(s.result as string)) throw new RangeError(`${where}.result must be ${OUTCOMES.join(', ')}`);
  if (s.exitCode !== undefined && !Number.isInteger(s.exitCode)) throw new RangeError(`${where}.exitCode must be a whole number`);
  if (s.output !== undefined && typeof s.output !== 'string') throw new RangeError(`${where}.output must be text`);
  if (s.error !== undefined && typeof s.error !== 'string') throw new RangeError(`${where}.error must be text`);
  if (s.durationSeconds !== undefined && (typeof s.durationSeconds !== 'number' || !(s.durationSeconds >= 0))) throw new RangeError(`${where}.durationSeconds must be a number of seconds`);
}

/**
 * Gives a node (an EC2 instance id or a registered `mi-` id) a simulated agent, or changes it: an EC2 instance
 * becomes a managed node; `status: offline` makes it stop pinging. Settings replace the earlier ones; the patch state
 * recorded by AWS-RunPatchBaseline runs is kept. Commands waiting for the node look at it again on their next event.
 *
 * @example
 * configureAgent(cloud.store, '000000000000', 'us-east-1', 'i-0123456789abcdef0', { status: 'online', result: 'failure', exitCode: 2 }, now);
 */
export function configureAgent(store: Store, account: string, region: string, instanceId: string, settings: AgentSettings, now: number): void {
  const checked = checkAgentSettings(settings, `agent of ${instanceId}`);
  const isEc2 = existingEc2State(store, account, region)?.instances[instanceId] !== undefined;
  const isHybrid = activationsState(store, account, region).nodes[instanceId] !== undefined;
  if (!isEc2 && !isHybrid) throw new RangeError(`agent of ${instanceId}: no such EC2 instance or registered managed node in ${account} ${region}`);
  const state = agentsState(store, account, region);
  const before = state.agents[instanceId];
  const offline = checked.status === 'offline';
  state.agents[instanceId] = {
    ...checked,
    registeredAt: before?.registeredAt ?? now,
    ...(offline ? { offlineSince: before?.offlineSince ?? now } : {}),
  };
  store.changed();
}

export type PingStatus = 'Online' | 'ConnectionLost';

/** One managed node as DescribeInstanceInformation and Run Command see it. */
export interface NodeView {
  instanceId: string;
  resourceType: 'ManagedInstance' | 'EC2Instance';
  pingStatus: PingStatus;
  lastPing: number;
  platformType: 'Windows' | 'Linux' | 'MacOS';
  platformName: string;
  platformVersion: string;
  agentVersion: string;
  ipAddress: string;
  computerName: string;
  /** The Name tag (EC2) or the activation's default instance name. */
  name?: string;
  tags: Tag[];
  activationId?: string;
  iamRole?: string;
  registrationDate?: number;
  agent: AgentRecord | undefined;
}

const OFFLINE_STATES = new Set(['pending', 'stopping', 'stopped']);

function ec2View(instance: InstanceRecord, agent: AgentRecord, now: number): NodeView {
  const online = instance.state === 'running' && agent.status !== 'offline';
  const platform = agent.platform ?? 'Linux';
  return {
    instanceId: instance.instanceId,
    resourceType: 'EC2Instance',
    pingStatus: online ? 'Online' : 'ConnectionLost',
    lastPing: online ? now : (agent.offlineSince ?? agent.registeredAt),
    platformType: platform,
    platformName: platform === 'Windows' ? 'Microsoft Windows Server 2022 Datacenter' : platform === 'MacOS' ? 'macOS' : 'Amazon Linux',
    platformVersion: platform === 'Windows' ? '10.0.20348' : platform === 'MacOS' ? '14.4' : '2023',
    agentVersion: DEFAULT_AGENT_VERSION,
    ipAddress: instance.privateIpAddress,
    computerName: `ip-${instance.privateIpAddress.replaceAll('.', '-')}.ec2.internal`,
    ...(instance.tags.find((t) => t.Key === 'Name') ? { name: instance.tags.find((t) => t.Key === 'Name')!.Value } : {}),
    tags: instance.tags,
    agent,
  };
}

function hybridView(node: ManagedNodeRecord, agent: AgentRecord | undefined, now: number): NodeView {
  const online = agent?.status !== 'offline';
  return {
    instanceId: node.instanceId,
    resourceType: 'ManagedInstance',
    pingStatus: online ? 'Online' : 'ConnectionLost',
    lastPing: online ? Math.max(now, node.lastPingDateTime) : (agent?.offlineSince ?? node.lastPingDateTime),
    platformType: node.platformType,
    platformName: node.platformName,
    platformVersion: node.platformVersion,
    agentVersion: node.agentVersion,
    ipAddress: node.ipAddress,
    computerName: node.computerName,
    ...(node.name !== undefined ? { name: node.name } : {}),
    tags: node.tags,
    activationId: node.activationId,
    iamRole: node.iamRole,
    registrationDate: node.registrationDate,
    agent,
  };
}

/** Every managed node of an account and region: hybrid nodes, then EC2 instances with an agent that are not terminated. */
export function managedNodes(store: Store, account: string, region: string, now: number): NodeView[] {
  const agents = agentsState(store, account, region).agents;
  const hybrid = Object.values(activationsState(store, account, region).nodes).map((n) => hybridView(n, agents[n.instanceId], now));
  const instances = existingEc2State(store, account, region)?.instances ?? {};
  const ec2 = Object.values(instances)
    .filter((i) => agents[i.instanceId] !== undefined && (i.state === 'running' || OFFLINE_STATES.has(i.state)))
    .map((i) => ec2View(i, agents[i.instanceId], now));
  return [...hybrid, ...ec2];
}

/** The managed node an id names, or undefined (not registered, no agent, or terminated). */
export function managedNode(store: Store, account: string, region: string, instanceId: string, now: number): NodeView | undefined {
  const agents = agentsState(store, account, region).agents;
  const hybrid = activationsState(store, account, region).nodes[instanceId];
  if (hybrid) return hybridView(hybrid, agents[instanceId], now);
  const instance = existingEc2State(store, account, region)?.instances[instanceId];
  const agent = agents[instanceId];
  if (!instance || !agent || !(instance.state === 'running' || OFFLINE_STATES.has(instance.state))) return undefined;
  return ec2View(instance, agent, now);
}

// --- DescribeInstanceInformation ------------------------------------------------------------------------------

const INFORMATION_FILTER_KEYS = ['InstanceIds', 'AgentVersion', 'PingStatus', 'PlatformTypes', 'ActivationIds', 'IamRole', 'ResourceType', 'AssociationStatus'];
const ALLOWED_VALUES: Record<string, string[]> = {
  PingStatus: ['Online', 'ConnectionLost', 'Inactive'],
  PlatformTypes: ['Windows', 'Linux', 'MacOS'],
  ResourceType: ['ManagedInstance', 'EC2Instance'],
};

/** A predicate for one filter key and its values; `tag:K` and `tag-key` come from the string filters only. */
function nodeFilter(key: string, values: string[]): (n: NodeView) => boolean {
  if (values.length === 0) throw new AwsError('InvalidInstanceInformationFilterValue', `The filter ${key} needs at least one value.`);
  const allowed = ALLOWED_VALUES[key];
  const bad = allowed && values.find((v) => !allowed.includes(v));
  if (bad) throw new AwsError('InvalidInstanceInformationFilterValue', `The filter value ${bad} is not valid for ${key}. Valid values: ${allowed.join(', ')}.`);
  if (key.startsWith('tag:')) return (n) => n.tags.some((t) => t.Key === key.slice(4) && values.includes(t.Value));
  switch (key) {
    case 'tag-key':
      return (n) => n.tags.some((t) => values.includes(t.Key));
    case 'InstanceIds':
      return (n) => values.includes(n.instanceId);
    case 'AgentVersion':
      return (n) => values.includes(n.agentVersion);
    case 'PingStatus':
      return (n) => values.includes(n.pingStatus);
    case 'PlatformTypes':
      return (n) => values.includes(n.platformType);
    case 'ActivationIds':
      return (n) => n.activationId !== undefined && values.includes(n.activationId);
    case 'IamRole':
      return (n) => n.iamRole !== undefined && values.includes(n.iamRole);
    case 'ResourceType':
      return (n) => values.includes(n.resourceType);
    default:
      // AssociationStatus: no associations are emulated, so no node has one.
      return () => false;
  }
}

function describeInstanceInformation(
  input: {
    InstanceInformationFilterList?: { key?: string; valueSet?: string[] }[];
    Filters?: { Key?: string; Values?: string[] }[];
    MaxResults?: number;
    NextToken?: string;
  },
  ctx: RequestContext,
) {
  const limit = maxResults(input.MaxResults, 50, 50, 5);
  const legacy = (input.InstanceInformationFilterList ?? []).map((f, i) => {
    const key = f.key ?? '';
    if (!INFORMATION_FILTER_KEYS.includes(key)) {
      throw validation(`1 validation error detected: Value '${key}' at 'instanceInformationFilterList.${i + 1}.member.key' failed to satisfy constraint: Member must satisfy enum value set: [${INFORMATION_FILTER_KEYS.join(', ')}]`);
    }
    return nodeFilter(key, f.valueSet ?? []);
  });
  const filters = (input.Filters ?? []).map((f) => {
    const key = f.Key ?? '';
    if (!INFORMATION_FILTER_KEYS.includes(key) && key !== 'tag-key' && !/^tag:.+/.test(key)) {
      throw new AwsError('InvalidFilterKey', `The filter key ${key} is not valid. Valid keys: ${INFORMATION_FILTER_KEYS.join(', ')}, tag-key, tag:<key>.`);
    }
    return nodeFilter(key, f.Values ?? []);
  });
  const checks = [...legacy, ...filters];
  const nodes = managedNodes(ctx.store, ctx.account, ctx.region, ctx.clock.nowMs()).filter((n) => checks.every((c) => c(n)));
  const { page, nextToken } = pageAfter(nodes, (n) => n.instanceId, limit, input.NextToken, invalidNextToken);
  return {
    InstanceInformationList: page.map((n) => ({
      InstanceId: n.instanceId,
      PingStatus: n.pingStatus,
      LastPingDateTime: new Date(n.lastPing),
      AgentVersion: n.agentVersion,
      IsLatestVersion: true,
      PlatformType: n.platformType,
      PlatformName: n.platformName,
      PlatformVersion: n.platformVersion,
      ...(n.activationId !== undefined ? { ActivationId: n.activationId } : {}),
      ...(n.iamRole !== undefined ? { IamRole: n.iamRole } : {}),
      ...(n.registrationDate !== undefined ? { RegistrationDate: new Date(n.registrationDate) } : {}),
      ResourceType: n.resourceType,
      ...(n.resourceType === 'ManagedInstance' && n.name !== undefined ? { Name: n.name } : {}),
      IPAddress: n.ipAddress,
      ComputerName: n.computerName,
      SourceId: n.instanceId,
      SourceType: n.resourceType === 'ManagedInstance' ? 'AWS::SSM::ManagedInstance' : 'AWS::EC2::Instance',
    })),
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
}

export const managedNodeOperations: Record<string, Operation> = {
  DescribeInstanceInformation: describeInstanceInformation,
};
