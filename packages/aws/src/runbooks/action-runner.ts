import {
  CreateImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  EC2Client,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type CreateImageCommandInput,
  type Image,
  type InstanceStateChange,
  type InstanceStateName,
  type TagSpecification,
} from '@aws-sdk/client-ec2';
import { AddTagsToResourceCommand, SSMClient, type ResourceTypeForTagging } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { ActionFailure, matchesDesiredValues, selectProperty, type ActionContext, type ActionResult, type ActionRunner, type JsonValue } from '@opsauto/core';
import { AwsClients, type ClientSettings } from '../clients.js';
import { assumeRoleCredentials } from '../ebs/account-clients.js';
import { isAwsError } from '../errors.js';
import { AwsApiError, named, plainResponse, resolveApi } from './aws-api.js';

/** The actions AwsActionRunner runs; the engine runs the others (aws:branch, aws:sleep, aws:pause, …) itself. */
export const AWS_ACTIONS = [
  'aws:executeAwsApi',
  'aws:waitForAwsResourceProperty',
  'aws:assertAwsResourceProperty',
  'aws:changeInstanceState',
  'aws:createImage',
  'aws:deleteImage',
  'aws:createTags',
] as const;
export type AwsAction = (typeof AWS_ACTIONS)[number];

/**
 * The tag aws:createImage puts on the image it creates, valued with the attempt's idempotency token: a resumed
 * attempt finds the image an interrupted run created instead of creating another.
 */
export const IDEMPOTENCY_TAG = 'opsauto:idempotency-token';

/** How long a waiting action waits before it looks again, by default. */
export const DEFAULT_POLL_INTERVAL_MS = 5_000;

/** Assumed-role clients kept at most (one set per role and execution); the least recently used go first. */
const MAX_ROLE_SESSIONS = 32;

/** EC2 takes at most this many instance ids in one DescribeInstanceStatus call; the other calls are chunked alike. */
const IDS_PER_CALL = 100;

export interface AwsActionRunnerOptions {
  /** The settings `clients` was built with (endpoint, retry strategy): clients acting as an assumed role use them too. */
  settings?: ClientSettings;
  /** How long a waiting action (a property, an instance state, an image) waits between looks. Default 5000 ms. */
  pollIntervalMs?: number;
  /** Epoch ms by which assumed-role credentials are renewed: the virtual clock under localcloud. Default `Date.now`. */
  now?: () => number;
}

/**
 * Runs the Automation actions that call AWS, in the execution's region, as the document's `assumeRole` when it
 * names one (STS AssumeRole, session `opsauto-runbook-<execution id prefix>`) and with the backend's own
 * credentials otherwise. Inputs arrive validated (actionRules) and interpolated.
 *
 * Resumed attempts (`start` again after a worker died) do not repeat effects: aws:changeInstanceState only asks for
 * the state changes the instances still need, aws:createImage adopts the image tagged with the attempt's
 * idempotency token, aws:deleteImage and aws:createTags are idempotent. aws:executeAwsApi calls its API again: it
 * cannot know what an arbitrary API did.
 *
 * @example
 * ```ts
 * const runner = new AwsActionRunner(new AwsClients(process.env.AWS_REGION!));
 * await runner.start('aws:executeAwsApi', { Service: 'rds', Api: 'StopDBInstance', DBInstanceIdentifier: 'db-1' }, context);
 * ```
 */
export class AwsActionRunner implements ActionRunner {
  private readonly pollIntervalMs: number;
  private readonly roleClients = new Map<string, AwsClients>();

  constructor(
    private readonly clients: AwsClients,
    private readonly options: AwsActionRunnerOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  }

  async start(action: string, inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult> {
    switch (action) {
      case 'aws:executeAwsApi':
        return { kind: 'done', response: await this.callApi(inputs, ['Service', 'Api'], context) };
      case 'aws:waitForAwsResourceProperty':
        return this.waitForProperty(inputs, context);
      case 'aws:assertAwsResourceProperty':
        return this.assertProperty(inputs, context);
      case 'aws:changeInstanceState':
        return this.changeInstanceState(inputs, context, 'start');
      case 'aws:createImage':
        return this.startCreateImage(inputs, context);
      case 'aws:deleteImage':
        return this.deleteImage(inputs, context);
      case 'aws:createTags':
        return this.createTags(inputs, context);
      default:
        throw unknownAction(action);
    }
  }

  async poll(action: string, inputs: Record<string, unknown>, state: JsonValue, context: ActionContext): Promise<ActionResult> {
    switch (action) {
      case 'aws:waitForAwsResourceProperty':
        return this.waitForProperty(inputs, context);
      case 'aws:changeInstanceState':
        return this.changeInstanceState(inputs, context, 'poll');
      case 'aws:createImage': {
        const imageId = (state as { imageId?: unknown } | null)?.imageId;
        // Without the image id (a state lost or from elsewhere), the tag still leads to the image.
        return typeof imageId === 'string' ? this.imageProgress(await this.describeImage(imageId, context), context) : this.startCreateImage(inputs, context);
      }
      case 'aws:executeAwsApi':
      case 'aws:assertAwsResourceProperty':
      case 'aws:deleteImage':
      case 'aws:createTags':
        throw new Error(`${action} ends when it is started: there is nothing to poll`);
      default:
        throw unknownAction(action);
    }
  }

  // ---- clients -------------------------------------------------------------------------------------------------

  /** The clients that act for this execution: its role's when the document names one, the backend's own else. */
  private clientsFor(context: ActionContext): AwsClients {
    const roleArn = context.assumeRole;
    if (!roleArn) return this.clients;
    const sessionName = runbookSessionName(context.executionId);
    const key = `${roleArn} ${sessionName}`;
    let clients = this.roleClients.get(key);
    if (clients) {
      this.roleClients.delete(key); // re-inserted below: most recently used last
    } else {
      const credentials = assumeRoleCredentials(this.clients.get(STSClient), { RoleArn: roleArn, RoleSessionName: sessionName }, this.options.now);
      clients = new AwsClients(this.clients.homeRegion, { ...this.options.settings, credentials });
      if (this.roleClients.size >= MAX_ROLE_SESSIONS) this.roleClients.delete(this.roleClients.keys().next().value!);
    }
    this.roleClients.set(key, clients);
    return clients;
  }

  private ec2(context: ActionContext): EC2Client {
    return this.clientsFor(context).get(EC2Client, context.region);
  }

  private waiting(context: ActionContext, state: JsonValue): ActionResult {
    return { kind: 'waiting', nextCheckAt: new Date(context.now().getTime() + this.pollIntervalMs), state };
  }

  // ---- aws:executeAwsApi, aws:waitForAwsResourceProperty, aws:assertAwsResourceProperty -------------------------

  /** Calls the `Service` / `Api` of the inputs with every input but `reserved` as its parameters; the response as JSON. */
  private async callApi(inputs: Record<string, unknown>, reserved: readonly string[], context: ActionContext): Promise<Record<string, unknown>> {
    const { client, operation, Command } = resolveApi(inputs.Service, inputs.Api);
    const params = Object.fromEntries(Object.entries(inputs).filter(([k]) => !reserved.includes(k)));
    const sdk = this.clientsFor(context).get(client, context.region) as { send(command: object): Promise<unknown> };
    const output = await named(operation, () => sdk.send(new Command(params)));
    return plainResponse(operation, output);
  }

  private async checkProperty(inputs: Record<string, unknown>, context: ActionContext) {
    const selector = inputs.PropertySelector;
    const desired = inputs.DesiredValues;
    if (typeof selector !== 'string') throw new ActionFailure('PropertySelector must be a JSONPath expression');
    if (!Array.isArray(desired)) throw new ActionFailure('DesiredValues must be a list of values');
    const response = await this.callApi(inputs, ['Service', 'Api', 'PropertySelector', 'DesiredValues'], context);
    const values = selectProperty(response, selector);
    return { response, selector, values, desired: desired as unknown[], matched: matchesDesiredValues(values, desired as unknown[]) };
  }

  private async waitForProperty(inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult> {
    const check = await this.checkProperty(inputs, context);
    return check.matched ? { kind: 'done', response: check.response } : this.waiting(context, null);
  }

  private async assertProperty(inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult> {
    const { response, selector, values, desired, matched } = await this.checkProperty(inputs, context);
    if (!matched) {
      const found = values.length === 0 ? 'selects nothing' : `is ${JSON.stringify(values)}`;
      throw new ActionFailure(`${selector} ${found}, not one of the desired values ${JSON.stringify(desired)}`);
    }
    return { kind: 'done', response };
  }

  // ---- aws:changeInstanceState ---------------------------------------------------------------------------------

  /**
   * Looks at the instances, asks EC2 for the changes still needed (none with CheckStateOnly), and is done once every
   * instance is in the desired state (for `running`, with its instance and system status checks `ok`, as AWS's
   * action waits for). Start and poll do the same, so a stopping instance is started once it has stopped, a pending
   * one stopped once it runs, and a resumed attempt asks for nothing already asked.
   */
  private async changeInstanceState(inputs: Record<string, unknown>, context: ActionContext, phase: 'start' | 'poll'): Promise<ActionResult> {
    const ids = [...new Set(stringList(inputs.InstanceIds, 'InstanceIds'))];
    const desired = inputs.DesiredState;
    if (desired !== 'running' && desired !== 'stopped' && desired !== 'terminated') throw new ActionFailure('DesiredState must be running, stopped or terminated');
    const checkOnly = flag(inputs.CheckStateOnly, 'CheckStateOnly');
    const force = flag(inputs.Force, 'Force');
    const failOnUnexpectedStopped = flag(inputs.FailOnUnexpectedStopped, 'FailOnUnexpectedStopped');
    const ec2 = this.ec2(context);

    const states = await instanceStates(ec2, ids);
    for (const [id, state] of states) {
      if (desired !== 'terminated' && (state === 'shutting-down' || state === 'terminated')) {
        throw new ActionFailure(`instance ${id} is ${state}: it can no longer be ${desired}`);
      }
      // Stopped while the action waits for it to run: stopped by something else.
      if (desired === 'running' && failOnUnexpectedStopped && (checkOnly || phase === 'poll') && (state === 'stopping' || state === 'stopped')) {
        throw new ActionFailure(`instance ${id} is ${state} while it was to be running`);
      }
    }

    if (!checkOnly) {
      // Force is the way out of a stop that hangs (AWS-StopEC2Instance's second step): a stopping instance is stopped
      // again with Force, once, when the step starts.
      const needsCall = (state: InstanceStateName): boolean =>
        desired === 'running'
          ? state === 'stopped'
          : desired === 'stopped'
            ? state === 'running' || (force && phase === 'start' && state === 'stopping')
            : state !== 'shutting-down' && state !== 'terminated';
      const changing = ids.filter((id) => needsCall(states.get(id)!));
      for (const chunk of chunks(changing, IDS_PER_CALL)) {
        const changes: InstanceStateChange[] | undefined =
          desired === 'running'
            ? (await named('StartInstances', () => ec2.send(new StartInstancesCommand({ InstanceIds: chunk })))).StartingInstances
            : desired === 'stopped'
              ? (await named('StopInstances', () => ec2.send(new StopInstancesCommand({ InstanceIds: chunk, ...(force ? { Force: true } : {}) })))).StoppingInstances
              : (await named('TerminateInstances', () => ec2.send(new TerminateInstancesCommand({ InstanceIds: chunk })))).TerminatingInstances;
        for (const change of changes ?? []) {
          if (change.InstanceId && change.CurrentState?.Name) states.set(change.InstanceId, change.CurrentState.Name);
        }
      }
    }

    const notYet = ids.filter((id) => states.get(id) !== desired);
    if (notYet.length > 0) return this.waiting(context, null);
    if (desired === 'running' && !(await statusChecksOk(ec2, ids))) return this.waiting(context, null);
    return { kind: 'done' };
  }

  // ---- aws:createImage ------------------------------------------------------------------------------------------

  /** Adopts the image an earlier run of this attempt created (by its tag), or creates it; then waits for it. */
  private async startCreateImage(inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult> {
    const ec2 = this.ec2(context);
    const token = context.idempotencyToken;
    const earlier = await named('DescribeImages', () =>
      ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: `tag:${IDEMPOTENCY_TAG}`, Values: [escapeFilterValue(token)] }] })),
    );
    const adopted = earlier.Images?.[0];
    if (adopted) return this.imageProgress(adopted, context);

    const { InstanceId, ImageName, ImageDescription, NoReboot, TagSpecifications, ...others } = inputs;
    const params = {
      // "Supports most CreateImage parameters": the others (BlockDeviceMappings, …) pass through.
      ...others,
      InstanceId,
      Name: ImageName,
      ...(ImageDescription !== undefined ? { Description: ImageDescription } : {}),
      ...(NoReboot !== undefined ? { NoReboot: flag(NoReboot, 'NoReboot') } : {}),
      TagSpecifications: withIdempotencyTag(TagSpecifications, token),
    } as CreateImageCommandInput;
    const created = await named('CreateImage', () => ec2.send(new CreateImageCommand(params)));
    if (!created.ImageId) throw new Error('CreateImage returned no image id');
    // The image is pending for minutes; looking at it at once would only find it so (or not yet find it).
    return this.waiting(context, { imageId: created.ImageId });
  }

  private async describeImage(imageId: string, context: ActionContext): Promise<Image> {
    const out = await named('DescribeImages', () => this.ec2(context).send(new DescribeImagesCommand({ ImageIds: [imageId] })));
    const image = out.Images?.[0];
    if (!image) throw new ActionFailure(`image ${imageId} is gone`);
    return image;
  }

  private imageProgress(image: Image, context: ActionContext): ActionResult {
    const imageId = image.ImageId!;
    switch (image.State) {
      case 'available':
        return { kind: 'done', outputs: { ImageId: imageId, ImageState: image.State } };
      case 'pending':
      case 'transient':
        return this.waiting(context, { imageId });
      default: {
        const reason = image.StateReason?.Message ?? image.StateReason?.Code;
        throw new ActionFailure(`image ${imageId} is ${image.State ?? 'in no state'}${reason ? `: ${reason}` : ''}`);
      }
    }
  }

  // ---- aws:deleteImage ------------------------------------------------------------------------------------------

  /**
   * Deregisters the image and deletes the EBS snapshots its block device mappings name (read before, as the image
   * takes them along). An image already gone is done: the step has nothing left to do.
   */
  private async deleteImage(inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult> {
    const imageId = inputs.ImageId;
    if (typeof imageId !== 'string') throw new ActionFailure('ImageId must be an image id');
    const ec2 = this.ec2(context);
    let image: Image | undefined;
    try {
      image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
    } catch (e) {
      if (!isAwsError(e, 'InvalidAMIID.NotFound')) throw new AwsApiError('DescribeImages', e);
    }
    if (!image) return { kind: 'done' };
    const snapshotIds = (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
    await ignoring('InvalidAMIID.NotFound', () => named('DeregisterImage', () => ec2.send(new DeregisterImageCommand({ ImageId: imageId }))));
    for (const snapshotId of snapshotIds) {
      await ignoring('InvalidSnapshot.NotFound', () => named('DeleteSnapshot', () => ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }))));
    }
    return { kind: 'done' };
  }

  // ---- aws:createTags -------------------------------------------------------------------------------------------

  /** EC2 resources through EC2 CreateTags; managed instances, maintenance windows and parameters through SSM. */
  private async createTags(inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult> {
    const ids = stringList(inputs.ResourceIds, 'ResourceIds');
    const tags = tagList(inputs.Tags);
    const type = inputs.ResourceType ?? 'EC2';
    if (type === 'EC2') {
      const ec2 = this.ec2(context);
      for (const chunk of chunks(ids, 1000)) await named('CreateTags', () => ec2.send(new CreateTagsCommand({ Resources: chunk, Tags: tags })));
      return { kind: 'done' };
    }
    if (type !== 'ManagedInstance' && type !== 'MaintenanceWindow' && type !== 'Parameter') {
      throw new ActionFailure(`ResourceType must be EC2, ManagedInstance, MaintenanceWindow or Parameter, not ${JSON.stringify(type)}`);
    }
    const ssm = this.clientsFor(context).get(SSMClient, context.region);
    for (const id of ids) {
      await named('AddTagsToResource', () => ssm.send(new AddTagsToResourceCommand({ ResourceType: type as ResourceTypeForTagging, ResourceId: id, Tags: tags })));
    }
    return { kind: 'done' };
  }
}

/** The STS session name of an execution's calls (it shows in CloudTrail): `opsauto-runbook-` and the id's first 8 characters. */
export function runbookSessionName(executionId: string): string {
  return `opsauto-runbook-${executionId.slice(0, 8).replace(/[^\w+=,.@-]/g, '-')}`;
}

function unknownAction(action: string): Error {
  return new Error(`${action} is not an AWS action the runner knows (${AWS_ACTIONS.join(', ')})`);
}

/** Runs `call`; a failure with the AWS error code `code` counts as success. */
async function ignoring(code: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (e) {
    if (!(e instanceof AwsApiError && e.code === code)) throw e;
  }
}

/** The state of each instance, by id. Unknown ids fail the call (InvalidInstanceID.NotFound), as they should. */
async function instanceStates(ec2: EC2Client, ids: string[]): Promise<Map<string, InstanceStateName>> {
  const states = new Map<string, InstanceStateName>();
  for (const chunk of chunks(ids, IDS_PER_CALL)) {
    let nextToken: string | undefined;
    do {
      const page = await named('DescribeInstances', () => ec2.send(new DescribeInstancesCommand({ InstanceIds: chunk, NextToken: nextToken })));
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (instance.InstanceId && instance.State?.Name) states.set(instance.InstanceId, instance.State.Name);
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  const missing = ids.filter((id) => !states.has(id));
  if (missing.length > 0) throw new ActionFailure(`DescribeInstances did not describe ${missing.join(', ')}`);
  return states;
}

/** Whether every instance's instance and system status checks are `ok`. */
async function statusChecksOk(ec2: EC2Client, ids: string[]): Promise<boolean> {
  const ok = new Set<string>();
  for (const chunk of chunks(ids, IDS_PER_CALL)) {
    let nextToken: string | undefined;
    do {
      const page = await named('DescribeInstanceStatus', () =>
        ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: chunk, IncludeAllInstances: true, NextToken: nextToken })),
      );
      for (const status of page.InstanceStatuses ?? []) {
        if (status.InstanceId && status.InstanceStatus?.Status === 'ok' && status.SystemStatus?.Status === 'ok') ok.add(status.InstanceId);
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return ids.every((id) => ok.has(id));
}

/** The TagSpecifications of a CreateImage call with the idempotency tag added to the image's. */
function withIdempotencyTag(given: unknown, token: string): TagSpecification[] {
  const specs = Array.isArray(given) ? (given as TagSpecification[]).map((s) => ({ ...s, Tags: [...(s.Tags ?? [])] })) : [];
  const tag = { Key: IDEMPOTENCY_TAG, Value: token };
  const image = specs.find((s) => s.ResourceType === 'image');
  if (image) image.Tags = [...image.Tags.filter((t) => t.Key !== IDEMPOTENCY_TAG), tag];
  else specs.push({ ResourceType: 'image', Tags: [tag] });
  return specs;
}

/** An EC2 filter value that matches `text` exactly: `*`, `?` and `\\` are wildcards there. */
function escapeFilterValue(text: string): string {
  return text.replace(/[*?\\]/g, (c) => `\\${c}`);
}

function stringList(value: unknown, name: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string')) throw new ActionFailure(`${name} must be a non-empty list of strings`);
  return list;
}

/** A Boolean input; text `true` / `false` (any case) counts, as a String parameter may carry it. Absent is false. */
function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw new ActionFailure(`${name} must be true or false`);
}

function tagList(value: unknown): { Key: string; Value: string }[] {
  if (!Array.isArray(value) || value.length === 0) throw new ActionFailure('Tags must be a non-empty list of { Key, Value }');
  return value.map((t: unknown) => {
    const { Key, Value } = (typeof t === 'object' && t !== null ? t : {}) as { Key?: unknown; Value?: unknown };
    if (typeof Key !== 'string' || (Value !== undefined && typeof Value !== 'string')) throw new ActionFailure('Tags must be a non-empty list of { Key, Value }');
    return { Key, Value: Value ?? '' };
  });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
