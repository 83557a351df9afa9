/**
 * Hybrid activations and the managed nodes (`mi-…`) registered with them: CreateActivation, DescribeActivations,
 * DeleteActivation, DeregisterManagedInstance, and the registration an SSM Agent
 * performs with an activation id and code (`registerManagedInstance`, also served as the agent's
 * `AmazonSSM.RegisterManagedInstance` call).
 *
 * AWS facts kept: an activation expires at most 30 days after it is created (24 hours by default); its code is
 * returned once, by CreateActivation, and never again (only its hash is stored); RegistrationLimit is 1-1000
 * (default 1); deleting an activation does not deregister the nodes registered with it; a node carries the
 * activation's tags, IAM role and default instance name.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AwsError, validation } from '../errors.js';
import type { Store } from '../store.js';
import { pageAfter, randomId, type Tag } from './filters.js';
import { invalidNextToken, maxResults } from './ssm-paging.js';
import { checkTagCount, validateTags } from './ssm-tag-rules.js';
import type { Operation, RequestContext } from './types.js';

/** A request value as an error message quotes it (JSON for anything that is not a string). */
const shown = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export const ACTIVATIONS_SERVICE = 'ssm.activations';

const DAY_MS = 86_400_000;
export const DEFAULT_ACTIVATION_LIFETIME_MS = DAY_MS;
export const MAX_ACTIVATION_LIFETIME_MS = 30 * DAY_MS;
/** The agent version reported for emulated nodes unless the registration says otherwise. */
const DEFAULT_AGENT_VERSION = '3.3.1142.0';
const NAME_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MANAGED_INSTANCE_ID = /^mi-[0-9a-f]{17}$/;

export interface ActivationRecord {
  activationId: string;
  /** SHA-256 of the activation code: the code itself is answered once and not kept. */
  codeHash: string;
  description?: string;
  defaultInstanceName?: string;
  iamRole: string;
  registrationLimit: number;
  registrationsCount: number;
  /** Epoch ms (virtual time), as every time here. */
  expirationDate: number;
  createdDate: number;
  tags: Tag[];
}

export interface ManagedNodeRecord {
  instanceId: string;
  activationId: string;
  iamRole: string;
  name?: string;
  computerName: string;
  ipAddress: string;
  platformType: 'Windows' | 'Linux' | 'MacOS';
  platformName: string;
  platformVersion: string;
  agentVersion: string;
  registrationDate: number;
  lastPingDateTime: number;
  tags: Tag[];
}

/** Plain JSON, persisted by the store; both maps keep creation order. */
export interface ActivationsState {
  activations: Record<string, ActivationRecord>;
  nodes: Record<string, ManagedNodeRecord>;
}

export function activationsState(store: Store, account: string, region: string): ActivationsState {
  return store.scope<ActivationsState>(ACTIVATIONS_SERVICE, account, region, () => ({ activations: {}, nodes: {} }));
}

const hashCode = (code: string) => createHash('sha256').update(code).digest('hex');

/** 20 characters of the alphabet AWS's activation codes use (letters, digits, `+` and `/`). */
function newActivationCode(): string {
  return randomBytes(15).toString('base64');
}

function optionalText(value: unknown, field: string, max: number, pattern?: RegExp): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > max) {
    throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  }
  if (pattern && !pattern.test(value)) {
    throw validation(`1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$`);
  }
  return value;
}

/** ExpirationDate arrives as epoch seconds on the awsJson wire. */
function expirationDate(value: unknown, now: number): number {
  if (value === undefined || value === null) return now + DEFAULT_ACTIVATION_LIFETIME_MS;
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw validation(`1 validation error detected: Value '${shown(value)}' at 'expirationDate' failed to satisfy constraint: Member must be a timestamp`);
  if (ms <= now) throw validation(`ExpirationDate ${new Date(ms).toISOString()} is in the past; it must be later than now and at most 30 days ahead.`);
  if (ms > now + MAX_ACTIVATION_LIFETIME_MS) {
    throw validation(`ExpirationDate ${new Date(ms).toISOString()} is more than 30 days ahead; an activation can expire at most 30 days after it is created (${new Date(now + MAX_ACTIVATION_LIFETIME_MS).toISOString()}).`);
  }
  return ms;
}

function createActivation(
  input: { IamRole?: string; Description?: string; DefaultInstanceName?: string; RegistrationLimit?: number; ExpirationDate?: number; Tags?: { Key?: string; Value?: string }[] },
  ctx: RequestContext,
) {
  if (input.IamRole === undefined || input.IamRole === null) throw validation("1 validation error detected: Value null at 'iamRole' failed to satisfy constraint: Member must not be null");
  const iamRole = optionalText(input.IamRole, 'iamRole', 64) as string;
  const description = optionalText(input.Description, 'description', 256);
  const defaultInstanceName = optionalText(input.DefaultInstanceName, 'defaultInstanceName', 256, NAME_CHARS);
  const limit = input.RegistrationLimit ?? 1;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw validation(`1 validation error detected: Value '${String(limit)}' at 'registrationLimit' failed to satisfy constraint: Member must have value less than or equal to 1000 and greater than or equal to 1`);
  }
  const now = ctx.clock.nowMs();
  const expires = expirationDate(input.ExpirationDate, now);
  const tags = validateTags(input.Tags);
  checkTagCount(tags);
  const code = newActivationCode();
  const activation: ActivationRecord = {
    activationId: randomUUID(),
    codeHash: hashCode(code),
    ...(description !== undefined ? { description } : {}),
    ...(defaultInstanceName !== undefined ? { defaultInstanceName } : {}),
    iamRole,
    registrationLimit: limit,
    registrationsCount: 0,
    expirationDate: expires,
    createdDate: now,
    tags,
  };
  activationsState(ctx.store, ctx.account, ctx.region).activations[activation.activationId] = activation;
  return { ActivationId: activation.activationId, ActivationCode: code };
}

const ACTIVATION_FILTER_KEYS = ['ActivationIds', 'DefaultInstanceName', 'IamRole'];

function describeActivations(input: { Filters?: { FilterKey?: string; FilterValues?: string[] }[]; MaxResults?: number; NextToken?: string }, ctx: RequestContext) {
  const limit = maxResults(input.MaxResults, 50, 50);
  const checks = (input.Filters ?? []).map((f, i) => {
    const key = f.FilterKey ?? '';
    if (!ACTIVATION_FILTER_KEYS.includes(key)) {
      throw validation(`1 validation error detected: Value '${key}' at 'filters.${i + 1}.member.filterKey' failed to satisfy constraint: Member must satisfy enum value set: [${ACTIVATION_FILTER_KEYS.join(', ')}]`);
    }
    const values = f.FilterValues ?? [];
    if (values.length === 0) throw new AwsError('InvalidFilter', `The filter ${key} needs at least one value.`);
    return (a: ActivationRecord) =>
      key === 'ActivationIds' ? values.includes(a.activationId) : key === 'IamRole' ? values.includes(a.iamRole) : a.defaultInstanceName !== undefined && values.includes(a.defaultInstanceName);
  });
  const now = ctx.clock.nowMs();
  const selected = Object.values(activationsState(ctx.store, ctx.account, ctx.region).activations).filter((a) => checks.every((c) => c(a)));
  const { page, nextToken } = pageAfter(selected, (a) => a.activationId, limit, input.NextToken, invalidNextToken);
  return {
    ActivationList: page.map((a) => ({
      ActivationId: a.activationId,
      ...(a.description !== undefined ? { Description: a.description } : {}),
      ...(a.defaultInstanceName !== undefined ? { DefaultInstanceName: a.defaultInstanceName } : {}),
      IamRole: a.iamRole,
      RegistrationLimit: a.registrationLimit,
      RegistrationsCount: a.registrationsCount,
      ExpirationDate: new Date(a.expirationDate),
      Expired: now >= a.expirationDate,
      CreatedDate: new Date(a.createdDate),
      Tags: a.tags,
    })),
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
}

function deleteActivation(input: { ActivationId?: string }, ctx: RequestContext) {
  if (!input.ActivationId) throw validation("1 validation error detected: Value null at 'activationId' failed to satisfy constraint: Member must not be null");
  const state = activationsState(ctx.store, ctx.account, ctx.region);
  if (!state.activations[input.ActivationId]) throw new AwsError('InvalidActivationId', `The activation ID isn't valid: ${input.ActivationId} does not exist. Verify the ActivationId and try again.`);
  delete state.activations[input.ActivationId];
  return {};
}

// --- registration -----------------------------------------------------------------------------------------------

/** What the registering machine tells about itself (all optional). */
export interface RegistrationDetails {
  hostname?: string;
  ipAddress?: string;
  platformType?: 'Windows' | 'Linux' | 'MacOS';
  platformName?: string;
  platformVersion?: string;
  agentVersion?: string;
}

/**
 * Registers a machine with an activation, as the SSM Agent does with the id and code it was given: the code must
 * match, the activation must not have expired or reached its RegistrationLimit. Creates a managed node
 * (`mi-` + 17 hex digits) and counts the registration. Errors: InvalidActivationId (no such activation),
 * InvalidActivation (wrong code, expired, or no registrations left).
 *
 * @example
 * const { instanceId } = registerManagedInstance(cloud.store, '000000000000', 'eu-west-1', id, code, { hostname: 'db-01' });
 */
export function registerManagedInstance(
  store: Store,
  account: string,
  region: string,
  activationId: string,
  activationCode: string,
  details: RegistrationDetails = {},
): { instanceId: string } {
  const state = activationsState(store, account, region);
  const activation = state.activations[activationId];
  if (!activation) throw new AwsError('InvalidActivationId', `The activation ID isn't valid: ${activationId} does not exist in ${region}. Verify the ActivationId and try again.`);
  if (hashCode(activationCode) !== activation.codeHash) {
    throw new AwsError('InvalidActivation', "The activation isn't valid: the ActivationId and the ActivationCode don't match.");
  }
  const now = Date.now() + store.clockOffsetMs;
  if (now >= activation.expirationDate) throw new AwsError('InvalidActivation', `The activation isn't valid: it expired at ${new Date(activation.expirationDate).toISOString()}.`);
  if (activation.registrationsCount >= activation.registrationLimit) {
    throw new AwsError('InvalidActivation', `The activation isn't valid: its RegistrationLimit of ${activation.registrationLimit} has been reached.`);
  }
  const node: ManagedNodeRecord = {
    instanceId: randomId('mi-', 17),
    activationId,
    iamRole: activation.iamRole,
    ...(activation.defaultInstanceName !== undefined ? { name: activation.defaultInstanceName } : {}),
    computerName: details.hostname ?? `localhost-${randomBytes(3).toString('hex')}`,
    ipAddress: details.ipAddress ?? '127.0.0.1',
    platformType: details.platformType ?? 'Linux',
    platformName: details.platformName ?? 'Ubuntu',
    platformVersion: details.platformVersion ?? '24.04',
    agentVersion: details.agentVersion ?? DEFAULT_AGENT_VERSION,
    registrationDate: now,
    lastPingDateTime: now,
    tags: activation.tags.map((t) => ({ ...t })),
  };
  activation.registrationsCount++;
  state.nodes[node.instanceId] = node;
  store.changed();
  return { instanceId: node.instanceId };
}

/**
 * The registration as the control API receives it (`POST /_localcloud/ssm/register` with JSON
 * `{"activationId","activationCode","region"?, "hostname"?, "ipAddress"?, "platformType"?, "platformName"?,
 * "platformVersion"?, "agentVersion"?}`); region defaults to `defaultRegion`. Throws AwsError as the operation does.
 */
export function registerFromControlApi(store: Store, account: string, defaultRegion: string, body: Record<string, unknown>): { instanceId: string; region: string } {
  const str = (key: string) => {
    const value = body[key];
    return typeof value === 'string' ? value : undefined;
  };
  const activationId = str('activationId');
  const activationCode = str('activationCode');
  if (!activationId || !activationCode) throw validation('The registration needs "activationId" and "activationCode" (strings).');
  const platformType = str('platformType');
  if (platformType !== undefined && !['Windows', 'Linux', 'MacOS'].includes(platformType)) throw validation('"platformType" must be Windows, Linux or MacOS.');
  const region = str('region') ?? defaultRegion;
  const details: RegistrationDetails = {
    hostname: str('hostname'),
    ipAddress: str('ipAddress'),
    platformType: platformType as RegistrationDetails['platformType'],
    platformName: str('platformName'),
    platformVersion: str('platformVersion'),
    agentVersion: str('agentVersion'),
  };
  return { ...registerManagedInstance(store, account, region, activationId, activationCode, details), region };
}

// --- managed nodes ------------------------------------------------------------------------------------------------

/** The managed node an id names; undefined for unknown ids and for ids that are not `mi-` ids. */
export function findManagedNode(store: Store, account: string, region: string, instanceId: string | undefined): ManagedNodeRecord | undefined {
  if (!instanceId || !MANAGED_INSTANCE_ID.test(instanceId)) return undefined;
  return activationsState(store, account, region).nodes[instanceId];
}

function deregisterManagedInstance(input: { InstanceId?: string }, ctx: RequestContext) {
  if (!input.InstanceId) throw validation("1 validation error detected: Value null at 'instanceId' failed to satisfy constraint: Member must not be null");
  const node = findManagedNode(ctx.store, ctx.account, ctx.region, input.InstanceId);
  if (!node) throw new AwsError('InvalidInstanceId', `Instance Id ${input.InstanceId} is not a registered managed node in ${ctx.region}.`);
  delete activationsState(ctx.store, ctx.account, ctx.region).nodes[node.instanceId];
  return {};
}

export const activationOperations: Record<string, Operation> = {
  CreateActivation: createActivation,
  DescribeActivations: describeActivations,
  DeleteActivation: deleteActivation,
  DeregisterManagedInstance: deregisterManagedInstance,
  /** The SSM Agent's own call (not in the public SDK): `{ActivationId, ActivationCode, PublicKey, …}` -> `{InstanceId}`. */
  RegisterManagedInstance(input: { ActivationId?: string; ActivationCode?: string }, ctx: RequestContext) {
    if (!input.ActivationId || !input.ActivationCode) throw validation('RegisterManagedInstance needs ActivationId and ActivationCode.');
    return { InstanceId: registerManagedInstance(ctx.store, ctx.account, ctx.region, input.ActivationId, input.ActivationCode).instanceId };
  },
};
