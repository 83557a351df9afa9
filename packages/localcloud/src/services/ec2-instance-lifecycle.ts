/**
 * Instance state changes on the virtual clock, each announced with an `EC2 Instance State-change Notification`:
 * launch (pending -> running), StartInstances (stopped -> pending -> running, or back to stopped when the seed
 * scripts a start error), StopInstances (running -> stopping -> stopped; `Hibernate` for an instance enabled for
 * hibernation), TerminateInstances (-> shutting-down -> terminated, volumes released), and
 * ModifyInstanceAttribute's instance type, which EC2 changes only on a stopped instance.
 */
import { AwsError, notEmulated } from '../errors.js';
import { launchGroups } from './ec2-security-groups.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import {
  checkInstanceId,
  existingEc2State,
  INSTANCE_STATE_CODES,
  instanceArn,
  instancesNotFound,
  optionalBool,
  optionalString,
  requiredString,
  stringList,
  treeList,
  type Ec2State,
  type InstanceRecord,
  type InstanceStateName,
} from './ec2-model.js';
import { releaseVolumesOf } from './ec2-volumes.js';
import type { Runtime } from './filters.js';
import type { RequestContext } from './types.js';

/** How long (virtual time) an instance stays `pending` before it is `running`. */
export const INSTANCE_RUNNING_DELAY_MS = 5_000;
/** How long a stopping instance takes to be `stopped`; a forced stop skips the OS shutdown and is quicker. */
export const INSTANCE_STOPPED_DELAY_MS = 30_000;
export const INSTANCE_FORCED_STOP_DELAY_MS = 5_000;
/** How long a terminating instance stays `shutting-down`. */
export const INSTANCE_TERMINATED_DELAY_MS = 30_000;

/**
 * A factor on the stop delays, for benchmarks that run on real time and cannot wait 30 s per stop (1 = AWS-like).
 * Process-wide; tests and the local stage leave it at 1.
 */
export const instanceTimings = { scale: 1 };

/** Where each transient state leads once its time has come. */
const SETTLES_TO: Partial<Record<InstanceStateName, InstanceStateName>> = { pending: 'running', stopping: 'stopped', 'shutting-down': 'terminated' };

/** `t3.micro`, `m7g.16xlarge`, `u-6tb1.metal`, `mac2-m2.metal`. */
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;

export function checkInstanceType(type: string): void {
  if (!INSTANCE_TYPE.test(type)) throw new AwsError('InvalidParameterValue', `Value (${type}) for parameter instanceType is invalid.`);
}

/** The instances named by `InstanceId.N`, all of which must exist (EC2 changes none when one is missing). */
function namedInstances(input: QueryTree, ctx: RequestContext): { state: Ec2State; instances: InstanceRecord[] } {
  const ids = [...new Set(stringList(input, 'InstanceId'))];
  if (ids.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
  ids.forEach(checkInstanceId);
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  const missing = ids.filter((id) => !state?.instances[id]);
  if (missing.length > 0) throw instancesNotFound(missing);
  return { state: state!, instances: ids.map((id) => state!.instances[id]) };
}

function stateChangeXml(instanceId: string, previous: InstanceStateName, current: InstanceStateName): Record<string, XmlValue> {
  return {
    instanceId,
    currentState: { code: INSTANCE_STATE_CODES[current], name: current },
    previousState: { code: INSTANCE_STATE_CODES[previous], name: previous },
  };
}

/** Moves an instance into a transient state now, with its event, and schedules where it settles. */
function beginTransition(ctx: RequestContext, instance: InstanceRecord, to: InstanceStateName, settlesAt: number): void {
  instance.state = to;
  instance.settlesAt = settlesAt;
  publishInstanceState(ctx, ctx.account, ctx.region, instance.instanceId, to);
  armInstance(ctx, ctx.account, ctx.region, instance);
}

/** `User initiated (2026-11-22 10:00:00 GMT)`, EC2's state transition reason after a stop or termination. */
function userInitiated(ms: number): string {
  return `User initiated (${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} GMT)`;
}

/** EC2 error codes that are server errors (HTTP 500, retried by the SDKs): "Server error codes" of the EC2 API reference. */
const SERVER_ERROR_CODES = new Set(['InsufficientInstanceCapacity', 'InsufficientCapacity', 'InsufficientHostCapacity', 'InsufficientAddressCapacity', 'InternalError', 'Unavailable']);

/** The error a scripted `{ api }` start error answers (EC2 changes none of the instances named). */
function scriptedApiError(i: InstanceRecord): AwsError | undefined {
  const e = i.startError;
  if (!e || !('api' in e)) return undefined;
  const message = e.message ?? (e.api === 'InsufficientInstanceCapacity'
    ? `We currently do not have sufficient ${i.instanceType} capacity in the Availability Zone you requested (${i.availabilityZone}). Our system will be working on provisioning additional capacity.`
    : `The instance '${i.instanceId}' could not be started.`);
  return new AwsError(e.api, message, SERVER_ERROR_CODES.has(e.api) ? 500 : 400);
}

export function startInstances(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const { instances } = namedInstances(input, ctx);
  for (const i of instances) {
    if (i.state !== 'stopped' && i.state !== 'pending' && i.state !== 'running') {
      throw new AwsError('IncorrectInstanceState', `The instance '${i.instanceId}' is not in a state from which it can be started.`);
    }
  }
  for (const i of instances) {
    const error = i.state === 'stopped' ? scriptedApiError(i) : undefined;
    if (error) throw error;
  }
  const now = ctx.clock.nowMs();
  const changes = instances.map((i) => {
    const previous = i.state;
    if (previous === 'stopped') {
      delete i.stateTransitionReason;
      delete i.stateReason;
      beginTransition(ctx, i, 'pending', now + INSTANCE_RUNNING_DELAY_MS);
    }
    return stateChangeXml(i.instanceId, previous, i.state);
  });
  return { instancesSet: changes };
}

export function stopInstances(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const hibernate = optionalBool(input, 'Hibernate') ?? false;
  const { instances } = namedInstances(input, ctx);
  for (const i of instances) {
    if (i.state !== 'running' && i.state !== 'stopping' && i.state !== 'stopped') {
      throw new AwsError('IncorrectInstanceState', `The instance '${i.instanceId}' is not in a state from which it can be stopped.`);
    }
  }
  // Only an instance enabled for hibernation at launch can hibernate; EC2 then stops none of those named.
  const notConfigured = hibernate ? instances.filter((i) => i.hibernationConfigured !== true).map((i) => i.instanceId) : [];
  if (notConfigured.length > 0) {
    throw new AwsError('UnsupportedHibernationConfiguration', `The instance can't be hibernated because it was not configured at launch for hibernation: ${notConfigured.join(', ')}`);
  }
  const force = optionalBool(input, 'Force') ?? false;
  const now = ctx.clock.nowMs();
  const stoppedAt = now + (force ? INSTANCE_FORCED_STOP_DELAY_MS : INSTANCE_STOPPED_DELAY_MS) * instanceTimings.scale;
  const changes = instances.map((i) => {
    const previous = i.state;
    if (previous === 'running') {
      i.stateTransitionReason = userInitiated(now);
      i.stateReason = hibernate
        ? { code: 'Client.UserInitiatedHibernate', message: 'Client.UserInitiatedHibernate: User initiated hibernate' }
        : { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
      beginTransition(ctx, i, 'stopping', stoppedAt);
    } else if (previous === 'stopping' && force && (i.settlesAt ?? Infinity) > stoppedAt) {
      // Force is the way out of a stop that hangs: it ends sooner, without a second `stopping` event.
      i.settlesAt = stoppedAt;
      armInstance(ctx, ctx.account, ctx.region, i);
    }
    return stateChangeXml(i.instanceId, previous, i.state);
  });
  return { instancesSet: changes };
}

export function terminateInstances(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const { instances } = namedInstances(input, ctx);
  const now = ctx.clock.nowMs();
  const changes = instances.map((i) => {
    const previous = i.state;
    if (previous !== 'shutting-down' && previous !== 'terminated') {
      i.stateTransitionReason = userInitiated(now);
      i.stateReason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
      beginTransition(ctx, i, 'shutting-down', now + INSTANCE_TERMINATED_DELAY_MS);
    }
    return stateChangeXml(i.instanceId, previous, i.state);
  });
  return { instancesSet: changes };
}

/** ModifyInstanceAttribute for the instance type, as `Attribute=instanceType&Value=…` or `InstanceType.Value=…`. */
export function modifyInstanceAttribute(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const instanceId = requiredString(input, 'InstanceId');
  checkInstanceId(instanceId);
  const attribute = optionalString(input, 'Attribute');
  const typeTree = treeList(input, 'InstanceType')[0];
  const groupIds = stringList(input, 'GroupId');
  let type: string | undefined;
  if (typeTree) type = optionalString(typeTree, 'Value');
  else if (attribute === 'instanceType') type = optionalString(input, 'Value');
  else if (groupIds.length > 0 && Object.keys(input).every((k) => ['InstanceId', 'DryRun', 'GroupId'].includes(k))) return setGroups(instanceId, groupIds, ctx);
  else if (attribute !== undefined || Object.keys(input).some((k) => !['InstanceId', 'DryRun'].includes(k))) {
    throw notEmulated('ec2', `ec2:ModifyInstanceAttribute attribute ${attribute ?? Object.keys(input).filter((k) => !['InstanceId', 'DryRun'].includes(k)).join(', ')} (emulated: instanceType, GroupId)`);
  }
  if (type === undefined) throw new AwsError('InvalidParameterCombination', 'No attributes specified.');
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  const instance = state?.instances[instanceId];
  if (!instance) throw instancesNotFound([instanceId]);
  if (instance.state !== 'stopped') throw new AwsError('IncorrectInstanceState', `The instance '${instanceId}' is not in the 'stopped' state.`);
  checkInstanceType(type);
  instance.instanceType = type;
  return { return: true };
}

/** ModifyInstanceAttribute `GroupId.N`: replaces the security groups of the instance's primary interface (any live state). */
function setGroups(instanceId: string, groupIds: string[], ctx: RequestContext): Record<string, XmlValue> {
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  const instance = state?.instances[instanceId];
  if (!state || !instance) throw instancesNotFound([instanceId]);
  if (instance.state === 'terminated' || instance.state === 'shutting-down') throw new AwsError('IncorrectInstanceState', `The instance '${instanceId}' is not in a state from which its security groups can be changed.`);
  const tree: QueryTree = { SecurityGroupId: groupIds };
  instance.securityGroupIds = launchGroups(state, tree).map((g) => g.groupId);
  return { return: true };
}

/** Schedules a transient instance's next state. Idempotent: a timer finding the instance moved on does nothing. */
export function armInstance(rt: Runtime, account: string, region: string, instance: InstanceRecord): void {
  if (instance.settlesAt === undefined || !SETTLES_TO[instance.state]) return;
  const { instanceId, settlesAt: at } = instance;
  rt.clock.at(at, () => {
    const state = existingEc2State(rt.store, account, region);
    const current = state?.instances[instanceId];
    let next = current && SETTLES_TO[current.state];
    if (!state || !current || !next || current.settlesAt !== at) return;
    // A scripted start error: the start was accepted, but the instance cannot run and is stopped again.
    const failed = current.state === 'pending' && current.startError && 'code' in current.startError ? current.startError : undefined;
    if (failed) {
      next = 'stopped';
      current.stateReason = { code: failed.code, message: failed.message === undefined || failed.message.startsWith(failed.code) ? (failed.message ?? failed.code) : `${failed.code}: ${failed.message}` };
    }
    current.state = next;
    delete current.settlesAt;
    if (next === 'terminated') releaseVolumesOf(state, instanceId, at);
    rt.store.changed();
    publishInstanceState(rt, account, region, instanceId, next, new Date(at));
  });
}

export function armPendingInstances(rt: Runtime, regions: { account: string; region: string; state: Ec2State }[]): void {
  for (const { account, region, state } of regions) {
    for (const instance of Object.values(state.instances)) armInstance(rt, account, region, instance);
  }
}

/** The event EC2 sends to EventBridge on every instance state change (awsdocs sample ec2-instance-state-change). */
export function publishInstanceState(rt: Pick<Runtime, 'bus'>, account: string, region: string, instanceId: string, state: InstanceStateName, time?: Date): void {
  rt.bus.publish({
    source: 'aws.ec2',
    detailType: 'EC2 Instance State-change Notification',
    detail: { 'instance-id': instanceId, state },
    resources: [instanceArn(region, account, instanceId)],
    account,
    region,
    ...(time ? { time } : {}),
  });
}
