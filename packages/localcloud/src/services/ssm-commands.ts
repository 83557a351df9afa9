/**
 * Run Command (SendCommand, ListCommands, ListCommandInvocations, GetCommandInvocation, CancelCommand) with a
 * simulated SSM Agent on every managed node (ssm-managed-nodes.ts), and the patch compliance AWS-RunPatchBaseline
 * records (DescribeInstancePatchStates). Nothing runs: each node answers the outcome its seed scripts (success with
 * output, failure with an exit code, timeout, agent offline), on the virtual clock.
 *
 * AWS semantics kept (API reference and "Understanding command statuses"):
 * - InstanceIds must name managed nodes whose agent is online (else InvalidInstanceId); Targets (InstanceIds,
 *   tag:Key, tag-key) resolve to managed nodes, and those whose agent is offline are Undeliverable.
 * - MaxConcurrency (default 50) invocations run at once; MaxErrors (default 0) failures are allowed: once failures
 *   (Failed, ExecutionTimedOut) exceed it, invocations not yet sent end Terminated and the command Failed.
 * - An invocation not delivered within TimeoutSeconds (default 3600) ends DeliveryTimedOut; delivery timeouts and
 *   undeliverable nodes do not count against MaxErrors.
 * - A command whose invocations all succeeded is Success; one where some did not, without exceeding MaxErrors, ends
 *   with StatusDetails Incomplete (and Status Failed).
 *
 * Percentages of MaxConcurrency and MaxErrors are of the target count, rounded down (concurrency at least 1).
 */
import { createHash, randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { AwsError, validation } from '../errors.js';
import type { Store } from '../store.js';
import { pageAfter, type Runtime } from './filters.js';
import { documentsState, type DocumentRecord, type DocumentVersionRecord } from './ssm-documents.js';
import { agentsState, managedNode, managedNodes, type AgentOutcome, type AgentRecord, type NodeView } from './ssm-managed-nodes.js';
import { invalidNextToken, maxResults } from './ssm-paging.js';
import type { Operation, RequestContext } from './types.js';

export const COMMANDS_SERVICE = 'ssm.commands';

/** SendCommand's defaults, as AWS answers them when the request gives none. */
export const DEFAULT_MAX_CONCURRENCY = '50';
export const DEFAULT_MAX_ERRORS = '0';
export const DEFAULT_DELIVERY_TIMEOUT_SECONDS = 3600;
const DEFAULT_EXECUTION_TIMEOUT_SECONDS = 3600;
const DEFAULT_RUN_SECONDS = 5;
const PATCH_RUN_SECONDS = 60;
/** How long an InProgress invocation takes to stop once cancelled. */
const CANCEL_DELAY_MS = 1000;
const MAX_INSTANCE_IDS = 50;
/** ListCommandInvocations keeps the first 2500 characters of a plugin's output; GetCommandInvocation the first 24,000. */
const LIST_OUTPUT_CHARS = 2500;
const GET_OUTPUT_CHARS = 24_000;
const PATCH_DOCUMENT = 'AWS-RunPatchBaseline';

export type CommandStatus = 'Pending' | 'InProgress' | 'Success' | 'Cancelled' | 'Failed' | 'TimedOut' | 'Cancelling';
export type InvocationStatus = 'Pending' | 'InProgress' | 'Delayed' | 'Success' | 'Cancelled' | 'TimedOut' | 'Failed' | 'Cancelling';

export interface PluginRecord {
  name: string;
  /** Skipped by a precondition (another platform's step): reported Success with AWS's skip message. */
  skipped?: boolean;
}

export interface InvocationRecord {
  instanceId: string;
  instanceName: string;
  platform: 'Windows' | 'Linux' | 'MacOS';
  status: InvocationStatus;
  statusDetails: string;
  responseCode: number;
  /** Epoch ms (virtual), as every time here. */
  startedAt?: number;
  /** When a running invocation ends, with `outcome`. */
  endsAt?: number;
  endedAt?: number;
  outcome?: { result: 'success' | 'failure' | 'timeout'; exitCode: number; output: string; error: string };
  /** The plugin that runs on this node's platform. */
  plugin?: string;
}

export interface CommandRecord {
  commandId: string;
  documentName: string;
  documentVersion: string;
  comment: string;
  parameters: Record<string, string[]>;
  instanceIds: string[];
  targets: { Key: string; Values: string[] }[];
  requestedAt: number;
  timeoutSeconds: number;
  executionTimeoutSeconds: number;
  maxConcurrency: string;
  maxErrors: string;
  concurrencyLimit: number;
  errorLimit: number;
  status: CommandStatus;
  statusDetails: string;
  plugins: PluginRecord[];
  invocations: InvocationRecord[];
  cancelRequested?: boolean;
}

/** What AWS-RunPatchBaseline recorded for a node. */
export interface PatchStateRecord {
  instanceId: string;
  patchGroup: string;
  baselineId: string;
  operation: 'Scan' | 'Install';
  installed: number;
  missing: number;
  failed: number;
  operationStartTime: number;
  operationEndTime: number;
}

/** Plain JSON, persisted by the store; commands keep their creation order. */
export interface CommandsState {
  commands: Record<string, CommandRecord>;
  patchStates: Record<string, PatchStateRecord>;
}

export function commandsState(store: Store, account: string, region: string): CommandsState {
  return store.scope<CommandsState>(COMMANDS_SERVICE, account, region, () => ({ commands: {}, patchStates: {} }));
}

const TERMINAL_INVOCATION = new Set<InvocationStatus>(['Success', 'Cancelled', 'TimedOut', 'Failed']);
const TERMINAL_COMMAND = new Set<CommandStatus>(['Success', 'Cancelled', 'Failed', 'TimedOut']);
const isError = (i: InvocationRecord) => i.statusDetails === 'Failed' || i.statusDetails === 'ExecutionTimedOut';
const inFlight = (i: InvocationRecord) => i.status === 'InProgress' || i.status === 'Delayed' || i.status === 'Cancelling';

// --- the request ----------------------------------------------------------------------------------------------

interface SendCommandRequest {
  DocumentName?: string;
  DocumentVersion?: string;
  DocumentHash?: string;
  DocumentHashType?: string;
  InstanceIds?: string[];
  Targets?: { Key?: string; Values?: string[] }[];
  Parameters?: Record<string, string[]>;
  TimeoutSeconds?: number;
  Comment?: string;
  MaxConcurrency?: string;
  MaxErrors?: string;
  OutputS3Region?: string;
  OutputS3BucketName?: string;
  OutputS3KeyPrefix?: string;
  ServiceRoleArn?: string;
  NotificationConfig?: unknown;
  CloudWatchOutputConfig?: { CloudWatchOutputEnabled?: boolean };
  AlarmConfiguration?: unknown;
}

const MAX_CONCURRENCY = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/;
const MAX_ERRORS = /^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/;
const INSTANCE_ID = /^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$/;

function rateValue(value: string | undefined, field: string, pattern: RegExp, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || value.length > 7 || !pattern.test(value)) {
    throw validation(`1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`);
  }
  return value;
}

/** A count as is; a percentage of the targets, rounded down. */
function resolveRate(value: string, targets: number): number {
  return value.endsWith('%') ? Math.floor((Number(value.slice(0, -1)) * targets) / 100) : Number(value);
}

function refuseUnemulated(input: SendCommandRequest): void {
  const refused = (what: string) => validation(`localcloud does not emulate ${what} of SendCommand: the simulated agent keeps output in the invocation (read it with GetCommandInvocation or ListCommandInvocations).`);
  if (input.OutputS3BucketName || input.OutputS3KeyPrefix) throw refused('OutputS3BucketName / OutputS3KeyPrefix (command output in S3)');
  if (input.CloudWatchOutputConfig?.CloudWatchOutputEnabled) throw refused('CloudWatchOutputConfig (command output in CloudWatch Logs)');
  if (input.NotificationConfig !== undefined || input.ServiceRoleArn) throw refused('NotificationConfig / ServiceRoleArn (SNS notifications)');
  if (input.AlarmConfiguration !== undefined) throw refused('AlarmConfiguration');
  if (input.DocumentHash !== undefined) throw refused('DocumentHash');
}

function selectVersion(doc: DocumentRecord, requested: string | undefined): DocumentVersionRecord {
  const wanted = requested === undefined || requested === '$DEFAULT' ? doc.defaultVersion : requested === '$LATEST' ? doc.versions[doc.versions.length - 1].documentVersion : requested;
  const version = doc.versions.find((v) => v.documentVersion === wanted);
  if (!version) throw new AwsError('InvalidDocumentVersion', `The document version isn't valid or doesn't exist: ${doc.name} has no version ${requested}.`);
  return version;
}

interface DocumentShape {
  parameters: Record<string, { default?: unknown; allowedValues?: unknown[] }>;
  plugins: { name: string; platform?: string }[];
}

function documentShape(version: DocumentVersionRecord): DocumentShape {
  const doc = (version.format === 'JSON' ? JSON.parse(version.content) : parseYaml(version.content)) as Record<string, unknown>;
  const parameters = (typeof doc.parameters === 'object' && doc.parameters !== null ? doc.parameters : {}) as DocumentShape['parameters'];
  let plugins: DocumentShape['plugins'];
  if (Array.isArray(doc.mainSteps)) {
    plugins = (doc.mainSteps as { name?: string; action?: string; precondition?: { StringEquals?: unknown[] } }[]).map((step) => {
      const equals = step.precondition?.StringEquals;
      const platform = Array.isArray(equals) && equals[0] === 'platformType' && typeof equals[1] === 'string' ? equals[1] : undefined;
      return { name: step.name ?? step.action ?? 'step', ...(platform ? { platform } : {}) };
    });
  } else {
    plugins = Object.keys((doc.runtimeConfig ?? {}) as object).map((name) => ({ name }));
  }
  return { parameters, plugins };
}

function checkParameters(shape: DocumentShape, given: Record<string, string[]> | undefined, documentName: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(shape.parameters, name)) {
      throw new AwsError('InvalidParameters', `document ${documentName} does not support parameter ${name} (its parameters: ${Object.keys(shape.parameters).join(', ') || 'none'}).`);
    }
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) throw new AwsError('InvalidParameters', `Parameter ${name} must be a list of strings.`);
    const allowed = shape.parameters[name].allowedValues;
    const bad = Array.isArray(allowed) ? values.find((v) => !allowed.includes(v)) : undefined;
    if (bad !== undefined) throw new AwsError('InvalidParameters', `Parameter ${name} value ${bad} is not one of its allowed values: ${(allowed as unknown[]).join(', ')}.`);
    out[name] = values;
  }
  for (const [name, spec] of Object.entries(shape.parameters)) {
    if (out[name] === undefined && (spec === null || typeof spec !== 'object' || spec.default === undefined)) {
      throw new AwsError('InvalidParameters', `document ${documentName} requires parameter ${name}, which has no default: give it in Parameters.`);
    }
  }
  return out;
}

function executionTimeout(shape: DocumentShape, parameters: Record<string, string[]>): number {
  const given = parameters.executionTimeout?.[0] ?? shape.parameters.executionTimeout?.default;
  const seconds = Number(given);
  return given !== undefined && Number.isInteger(seconds) && seconds > 0 ? seconds : DEFAULT_EXECUTION_TIMEOUT_SECONDS;
}

/** The nodes a Targets list names: InstanceIds (`InstanceIds` / `instanceids`), `tag:Key` or `tag-key`. */
function resolveTargets(ctx: RequestContext, targets: NonNullable<SendCommandRequest['Targets']>): NodeView[] {
  if (targets.length > 5) throw validation("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 5");
  const nodes = managedNodes(ctx.store, ctx.account, ctx.region, ctx.clock.nowMs());
  const checks = targets.map((t, i) => {
    const key = t.Key ?? '';
    const values = t.Values ?? [];
    if (values.length === 0) throw validation(`Targets[${i}] (${key}) needs at least one value.`);
    if (/^instanceids$/i.test(key)) return (n: NodeView) => values.includes(n.instanceId);
    if (key.startsWith('tag:') && key.length > 4) return (n: NodeView) => n.tags.some((tag) => tag.Key === key.slice(4) && values.includes(tag.Value));
    if (key === 'tag-key') return (n: NodeView) => n.tags.some((tag) => values.includes(tag.Key));
    if (/^resource-groups:/i.test(key)) throw validation(`localcloud does not emulate resource groups: target Key ${key} is refused; target by InstanceIds, tag:<key> or tag-key.`);
    throw validation(`Targets[${i}].Key ${key} is not valid: use InstanceIds, tag:<key> or tag-key.`);
  });
  return nodes.filter((n) => checks.every((c) => c(n)));
}

function newInvocation(node: NodeView, deliverable: boolean): InvocationRecord {
  return {
    instanceId: node.instanceId,
    instanceName: node.resourceType === 'ManagedInstance' ? node.computerName : '',
    platform: node.platformType,
    status: deliverable ? 'Pending' : 'Failed',
    statusDetails: deliverable ? 'Pending' : 'Undeliverable',
    responseCode: -1,
  };
}

function sendCommand(input: SendCommandRequest, ctx: RequestContext) {
  if (!input.DocumentName) throw validation("1 validation error detected: Value null at 'documentName' failed to satisfy constraint: Member must not be null");
  refuseUnemulated(input);
  const arn = /^arn:aws[a-z-]*:ssm:[^:]*:\d*:document\/(.+)$/.exec(input.DocumentName);
  const documentName = arn ? arn[1] : input.DocumentName;
  const doc = documentsState(ctx.store, ctx.account, ctx.region).documents[documentName];
  if (!doc) throw new AwsError('InvalidDocument', `Document with name ${documentName} does not exist.`);
  if (doc.documentType !== 'Command') throw new AwsError('InvalidDocument', `${documentName} is a document of type ${doc.documentType}; SendCommand runs Command documents.`);
  const version = selectVersion(doc, input.DocumentVersion);
  const shape = documentShape(version);
  const parameters = checkParameters(shape, input.Parameters, documentName);
  const comment = input.Comment ?? '';
  if (typeof comment !== 'string' || comment.length > 100) throw validation("1 validation error detected: Value at 'comment' failed to satisfy constraint: Member must have length less than or equal to 100");
  const timeoutSeconds = input.TimeoutSeconds ?? DEFAULT_DELIVERY_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 30 || timeoutSeconds > 2_592_000) {
    throw validation(`1 validation error detected: Value '${String(timeoutSeconds)}' at 'timeoutSeconds' failed to satisfy constraint: Member must have value less than or equal to 2592000 and greater than or equal to 30`);
  }
  const maxConcurrency = rateValue(input.MaxConcurrency, 'maxConcurrency', MAX_CONCURRENCY, DEFAULT_MAX_CONCURRENCY);
  const maxErrors = rateValue(input.MaxErrors, 'maxErrors', MAX_ERRORS, DEFAULT_MAX_ERRORS);

  const ids = input.InstanceIds ?? [];
  const targets = input.Targets ?? [];
  if (ids.length > 0 && targets.length > 0) throw validation('Specify InstanceIds or Targets, not both.');
  if (ids.length === 0 && targets.length === 0) throw validation('SendCommand needs InstanceIds or Targets: the nodes to run the command on.');
  const now = ctx.clock.nowMs();
  let invocations: InvocationRecord[];
  if (ids.length > 0) {
    if (ids.length > MAX_INSTANCE_IDS) throw validation(`1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to ${MAX_INSTANCE_IDS}`);
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate !== undefined) throw new AwsError('DuplicateInstanceId', `Instance ${duplicate} is listed more than once in InstanceIds.`);
    const nodes = ids.map((id) => (typeof id === 'string' && INSTANCE_ID.test(id) ? managedNode(ctx.store, ctx.account, ctx.region, id, now) : undefined));
    const invalid = ids.filter((_, i) => nodes[i]?.pingStatus !== 'Online');
    if (invalid.length > 0) {
      throw new AwsError('InvalidInstanceId', `Instances [[${invalid.join(', ')}]] not in a valid state for account ${ctx.account}: each must be a managed node whose SSM Agent is online (see DescribeInstanceInformation).`);
    }
    invocations = nodes.map((n) => newInvocation(n!, true));
  } else {
    invocations = resolveTargets(ctx, targets).map((n) => newInvocation(n, n.pingStatus === 'Online'));
  }
  const command: CommandRecord = {
    commandId: randomUUID(),
    documentName,
    documentVersion: input.DocumentVersion ?? '$DEFAULT',
    comment,
    parameters,
    instanceIds: ids,
    targets: targets.map((t) => ({ Key: t.Key ?? '', Values: t.Values ?? [] })),
    requestedAt: now,
    timeoutSeconds,
    executionTimeoutSeconds: executionTimeout(shape, parameters),
    maxConcurrency,
    maxErrors,
    concurrencyLimit: Math.max(1, resolveRate(maxConcurrency, invocations.length)),
    errorLimit: resolveRate(maxErrors, invocations.length),
    status: 'Pending',
    statusDetails: 'Pending',
    plugins: shape.plugins.map((p) => ({ name: p.name })),
    invocations,
  };
  for (const inv of invocations) {
    const ran = shape.plugins.find((p) => p.platform === undefined || p.platform === inv.platform) ?? shape.plugins[0];
    if (ran) inv.plugin = ran.name;
  }
  commandsState(ctx.store, ctx.account, ctx.region).commands[command.commandId] = command;
  progress(ctx, ctx.account, ctx.region, command, now);
  ctx.store.changed();
  return { Command: commandOut(command) };
}

// --- the simulated agent ---------------------------------------------------------------------------------------

function outcomeFor(agent: AgentRecord | undefined, documentName: string): AgentOutcome {
  return { ...agent, ...agent?.documents?.[documentName] };
}

/** Starts one invocation at `at`: the agent takes it and will answer its scripted outcome when the run ends. */
function startInvocation(store: Store, account: string, region: string, command: CommandRecord, inv: InvocationRecord, at: number): void {
  const node = managedNode(store, account, region, inv.instanceId, at);
  if (!node || node.pingStatus !== 'Online') {
    inv.status = 'Delayed';
    inv.statusDetails = 'Delayed';
    return;
  }
  const outcome = outcomeFor(node.agent, command.documentName);
  const result = outcome.result ?? 'success';
  const runSeconds = result === 'timeout' ? command.executionTimeoutSeconds : (outcome.durationSeconds ?? (command.documentName === PATCH_DOCUMENT ? PATCH_RUN_SECONDS : DEFAULT_RUN_SECONDS));
  inv.status = 'InProgress';
  inv.statusDetails = 'InProgress';
  inv.startedAt = at;
  inv.endsAt = at + runSeconds * 1000;
  let output = outcome.output ?? '';
  let error = outcome.error ?? '';
  const exitCode = result === 'success' ? 0 : (outcome.exitCode ?? (result === 'failure' ? 1 : -1));
  if (command.documentName === PATCH_DOCUMENT && outcome.output === undefined) output = patchSummary(command, node, result);
  if (result === 'failure' && outcome.error === undefined) error = `failed to run commands: exit status ${exitCode}`;
  if (result === 'timeout' && outcome.error === undefined) error = 'Command execution timed out.';
  inv.outcome = { result, exitCode, output, error };
}

function patchOperation(command: CommandRecord): 'Scan' | 'Install' {
  return command.parameters.Operation?.[0] === 'Install' ? 'Install' : 'Scan';
}

function patchSummary(command: CommandRecord, node: NodeView, result: string): string {
  const operation = patchOperation(command);
  const p = node.agent?.patches ?? {};
  return `Patch ${operation} on ${node.instanceId}: installed ${p.installed ?? 0}, missing ${p.missing ?? 0}${result === 'failure' ? `, failed ${p.failed ?? 1}` : ''}`;
}

/** A stable default baseline id per region and platform (AWS's predefined baselines have one per OS and region). */
function defaultBaseline(region: string, platform: string): string {
  return `pb-${createHash('sha256').update(`${region}/${platform}`).digest('hex').slice(0, 17)}`;
}

/** AWS-RunPatchBaseline's effect on the node: its patch state, and with Install, the missing patches installed. */
function recordPatchState(store: Store, account: string, region: string, command: CommandRecord, inv: InvocationRecord): void {
  const node = managedNode(store, account, region, inv.instanceId, inv.endedAt!);
  const agent = agentsState(store, account, region).agents[inv.instanceId];
  const patches = { ...agent?.patches };
  const operation = patchOperation(command);
  let failed = patches.failed ?? 0;
  if (operation === 'Install' && inv.outcome?.result === 'success') {
    patches.installed = (patches.installed ?? 0) + (patches.missing ?? 0);
    patches.missing = 0;
    failed = 0;
  } else if (operation === 'Install' && inv.outcome?.result === 'failure') {
    failed = Math.max(1, failed);
    patches.installed = (patches.installed ?? 0) + Math.max(0, (patches.missing ?? 0) - failed);
    patches.missing = 0;
  }
  patches.failed = failed;
  if (agent) agent.patches = patches;
  const tags = node?.tags ?? [];
  commandsState(store, account, region).patchStates[inv.instanceId] = {
    instanceId: inv.instanceId,
    patchGroup: tags.find((t) => t.Key === 'Patch Group' || t.Key === 'PatchGroup')?.Value ?? '',
    baselineId: patches.baselineId ?? defaultBaseline(region, inv.platform),
    operation,
    installed: patches.installed ?? 0,
    missing: patches.missing ?? 0,
    failed,
    operationStartTime: inv.startedAt!,
    operationEndTime: inv.endedAt!,
  };
}

function finishInvocation(store: Store, account: string, region: string, command: CommandRecord, inv: InvocationRecord, at: number): void {
  inv.endedAt = at;
  delete inv.endsAt;
  if (inv.status === 'Cancelling') {
    inv.status = 'Cancelled';
    inv.statusDetails = 'Cancelled';
    return;
  }
  const outcome = inv.outcome!;
  inv.responseCode = outcome.exitCode;
  if (outcome.result === 'success') [inv.status, inv.statusDetails] = ['Success', 'Success'];
  else if (outcome.result === 'failure') [inv.status, inv.statusDetails] = ['Failed', 'Failed'];
  else [inv.status, inv.statusDetails] = ['TimedOut', 'ExecutionTimedOut'];
  if (command.documentName === PATCH_DOCUMENT && outcome.result !== 'timeout') recordPatchState(store, account, region, command, inv);
}

/** Invocations not yet sent when failures exceed MaxErrors: AWS stops there (StatusDetails Terminated). */
function terminatePending(command: CommandRecord, at: number): void {
  for (const inv of command.invocations) {
    if (inv.status !== 'Pending') continue;
    inv.status = 'Cancelled';
    inv.statusDetails = 'Terminated';
    inv.endedAt = at;
  }
}

const errorsExceeded = (command: CommandRecord) => command.invocations.filter(isError).length > command.errorLimit;

/** Sends the command to as many pending nodes as MaxConcurrency allows, at `at`. */
function fill(store: Store, account: string, region: string, command: CommandRecord, at: number): void {
  if (command.cancelRequested || errorsExceeded(command)) return;
  let free = command.concurrencyLimit - command.invocations.filter(inFlight).length;
  for (const inv of command.invocations) {
    if (free <= 0) break;
    if (inv.status !== 'Pending') continue;
    startInvocation(store, account, region, command, inv, at);
    free--;
  }
}

function aggregate(command: CommandRecord): void {
  const invs = command.invocations;
  if (command.cancelRequested) {
    const stopping = invs.some((i) => i.status === 'Cancelling' || i.status === 'InProgress');
    [command.status, command.statusDetails] = stopping ? ['Cancelling', 'Cancelling'] : ['Cancelled', 'Cancelled'];
    return;
  }
  if (!invs.every((i) => TERMINAL_INVOCATION.has(i.status))) {
    const started = invs.some((i) => i.status !== 'Pending');
    [command.status, command.statusDetails] = started ? ['InProgress', 'InProgress'] : ['Pending', 'Pending'];
    return;
  }
  if (invs.length === 0) {
    [command.status, command.statusDetails] = ['Failed', 'NoInstancesInTag'];
    return;
  }
  const failed = invs.filter((i) => i.statusDetails === 'Failed').length;
  const executionTimedOut = invs.filter((i) => i.statusDetails === 'ExecutionTimedOut').length;
  const deliveryTimedOut = invs.filter((i) => i.statusDetails === 'DeliveryTimedOut').length;
  if (failed + executionTimedOut > command.errorLimit) {
    [command.status, command.statusDetails] = failed >= executionTimedOut ? ['Failed', 'Failed'] : ['TimedOut', 'ExecutionTimedOut'];
  } else if (deliveryTimedOut > command.errorLimit) {
    [command.status, command.statusDetails] = ['TimedOut', 'DeliveryTimedOut'];
  } else if (invs.every((i) => i.statusDetails === 'Success' || i.statusDetails === 'Undeliverable')) {
    [command.status, command.statusDetails] = ['Success', 'Success'];
  } else {
    [command.status, command.statusDetails] = ['Failed', 'Incomplete'];
  }
}

/** The next time something happens to the command on its own: a run ends, a delivery times out, or a cancel lands. */
function nextEvent(command: CommandRecord): number | undefined {
  const times: number[] = [];
  for (const inv of command.invocations) {
    if (inv.endsAt !== undefined) times.push(inv.endsAt);
    if (inv.status === 'Pending' || inv.status === 'Delayed') times.push(command.requestedAt + command.timeoutSeconds * 1000);
  }
  return times.length === 0 ? undefined : Math.min(...times);
}

/**
 * Brings a command up to `now`: runs end in the order they end, each freed slot is given to the next node at the
 * moment it frees, delayed nodes whose agent is back are sent the command, and undelivered ones time out. Idempotent,
 * so a timer that fires twice, or a read that catches up first, changes nothing more. Arms the next event.
 */
function progress(rt: Runtime, account: string, region: string, command: CommandRecord, now: number): void {
  if (TERMINAL_COMMAND.has(command.status)) return;
  const deadline = command.requestedAt + command.timeoutSeconds * 1000;
  fill(rt.store, account, region, command, Math.min(now, deadline));
  for (;;) {
    const due = command.invocations.filter((i) => i.endsAt !== undefined && i.endsAt <= now).sort((a, b) => a.endsAt! - b.endsAt!)[0];
    if (!due) break;
    const at = due.endsAt!;
    finishInvocation(rt.store, account, region, command, due, at);
    if (errorsExceeded(command)) terminatePending(command, at);
    if (at <= deadline) fill(rt.store, account, region, command, at);
  }
  for (const inv of command.invocations) {
    if (inv.status === 'Delayed' && now < deadline) startInvocation(rt.store, account, region, command, inv, now);
  }
  if (now >= deadline) {
    for (const inv of command.invocations) {
      if (inv.status !== 'Pending' && inv.status !== 'Delayed') continue;
      inv.status = 'TimedOut';
      inv.statusDetails = 'DeliveryTimedOut';
      inv.endedAt = deadline;
    }
  }
  aggregate(command);
  rt.store.changed();
  const next = nextEvent(command);
  if (next !== undefined && !TERMINAL_COMMAND.has(command.status)) armCommand(rt, account, region, command.commandId, next);
}

function armCommand(rt: Runtime, account: string, region: string, commandId: string, at: number): void {
  rt.clock.at(at, () => {
    const command = commandsState(rt.store, account, region).commands[commandId];
    if (command) progress(rt, account, region, command, rt.clock.nowMs());
  });
}

/** Re-arms every unfinished command after a restart (its timers live in memory only). */
export function armAllCommands(rt: Runtime): void {
  for (const { account, region, state } of rt.store.all<CommandsState>(COMMANDS_SERVICE)) {
    for (const command of Object.values(state.commands)) {
      if (TERMINAL_COMMAND.has(command.status)) continue;
      armCommand(rt, account, region, command.commandId, Math.min(nextEvent(command) ?? rt.clock.nowMs(), rt.clock.nowMs()));
    }
  }
}

/** A command brought up to now before it is read: timers may not have run yet within the current instant. */
function current(ctx: RequestContext, command: CommandRecord): CommandRecord {
  progress(ctx, ctx.account, ctx.region, command, ctx.clock.nowMs());
  return command;
}

// --- answers -------------------------------------------------------------------------------------------------

const NOTIFICATION_CONFIG = { NotificationArn: '', NotificationEvents: [], NotificationType: '' };
const CLOUDWATCH_OUTPUT = { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false };

function commandOut(c: CommandRecord) {
  return {
    CommandId: c.commandId,
    DocumentName: c.documentName,
    DocumentVersion: c.documentVersion,
    Comment: c.comment,
    ExpiresAfter: new Date(c.requestedAt + (c.timeoutSeconds + c.executionTimeoutSeconds) * 1000),
    Parameters: c.parameters,
    InstanceIds: c.instanceIds,
    Targets: c.targets,
    RequestedDateTime: new Date(c.requestedAt),
    Status: c.status,
    StatusDetails: c.statusDetails,
    OutputS3Region: '',
    OutputS3BucketName: '',
    OutputS3KeyPrefix: '',
    MaxConcurrency: c.maxConcurrency,
    MaxErrors: c.maxErrors,
    TargetCount: c.invocations.length,
    CompletedCount: c.invocations.filter((i) => TERMINAL_INVOCATION.has(i.status)).length,
    ErrorCount: c.invocations.filter(isError).length,
    DeliveryTimedOutCount: c.invocations.filter((i) => i.statusDetails === 'DeliveryTimedOut').length,
    ServiceRole: '',
    NotificationConfig: NOTIFICATION_CONFIG,
    CloudWatchOutputConfig: CLOUDWATCH_OUTPUT,
    TimeoutSeconds: c.timeoutSeconds,
    AlarmConfiguration: { IgnorePollAlarmFailure: false, Alarms: [] },
    TriggeredAlarms: [],
  };
}

/** The output text of a plugin as AWS joins it: standard output, then standard error after AWS's marker. */
function joinedOutput(stdout: string, stderr: string): string {
  return stderr ? `${stdout}${stdout && !stdout.endsWith('\n') ? '\n' : ''}----------ERROR-------\n${stderr}` : stdout;
}

interface PluginView {
  name: string;
  status: string;
  statusDetails: string;
  responseCode: number;
  start?: number;
  end?: number;
  stdout: string;
  stderr: string;
}

function pluginViews(c: CommandRecord, inv: InvocationRecord): PluginView[] {
  return c.plugins.map((p) => {
    if (p.name !== inv.plugin) {
      const skipped = inv.startedAt !== undefined && inv.status !== 'Pending';
      return skipped
        ? { name: p.name, status: 'Success', statusDetails: 'Success', responseCode: 0, start: inv.startedAt, end: inv.startedAt, stdout: `Step execution skipped due to unsatisfied preconditions: '"StringEquals": [platformType, ${p.name.replace(/^Patch/, '')}]'. Step name: ${p.name}`, stderr: '' }
        : { name: p.name, status: inv.status === 'Failed' && inv.statusDetails === 'Undeliverable' ? 'Failed' : 'Pending', statusDetails: inv.statusDetails, responseCode: -1, stdout: '', stderr: '' };
    }
    const ended = inv.endedAt !== undefined && inv.outcome !== undefined && inv.status !== 'Cancelled';
    return {
      name: p.name,
      status: inv.status === 'Delayed' || inv.status === 'Cancelling' ? 'InProgress' : inv.status,
      statusDetails: inv.statusDetails,
      responseCode: inv.responseCode,
      ...(inv.startedAt !== undefined ? { start: inv.startedAt } : {}),
      ...(inv.endedAt !== undefined ? { end: inv.endedAt } : {}),
      stdout: ended ? inv.outcome!.output : '',
      stderr: ended ? inv.outcome!.error : '',
    };
  });
}

function invocationOut(c: CommandRecord, inv: InvocationRecord, details: boolean) {
  return {
    CommandId: c.commandId,
    InstanceId: inv.instanceId,
    InstanceName: inv.instanceName,
    Comment: c.comment,
    DocumentName: c.documentName,
    DocumentVersion: c.documentVersion,
    RequestedDateTime: new Date(c.requestedAt),
    Status: inv.status,
    StatusDetails: inv.statusDetails,
    TraceOutput: '',
    StandardOutputUrl: '',
    StandardErrorUrl: '',
    CommandPlugins: details
      ? pluginViews(c, inv).map((p) => ({
          Name: p.name,
          Status: p.status,
          StatusDetails: p.statusDetails,
          ResponseCode: p.responseCode,
          ...(p.start !== undefined ? { ResponseStartDateTime: new Date(p.start) } : {}),
          ...(p.end !== undefined ? { ResponseFinishDateTime: new Date(p.end) } : {}),
          Output: joinedOutput(p.stdout, p.stderr).slice(0, LIST_OUTPUT_CHARS),
          StandardOutputUrl: '',
          StandardErrorUrl: '',
          OutputS3Region: '',
          OutputS3BucketName: '',
          OutputS3KeyPrefix: '',
        }))
      : [],
    ServiceRole: '',
    NotificationConfig: NOTIFICATION_CONFIG,
    CloudWatchOutputConfig: CLOUDWATCH_OUTPUT,
  };
}

/** ISO-8601 duration of a run, as GetCommandInvocation's ExecutionElapsedTime (`PT5.002S`). */
function elapsed(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  return `PT${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${seconds || (!hours && !minutes) ? `${seconds}S` : ''}`;
}

// --- operations ----------------------------------------------------------------------------------------------

function findCommand(ctx: RequestContext, commandId: string | undefined): CommandRecord {
  if (!commandId) throw validation("1 validation error detected: Value null at 'commandId' failed to satisfy constraint: Member must not be null");
  if (commandId.length !== 36) throw validation(`1 validation error detected: Value '${commandId}' at 'commandId' failed to satisfy constraint: Member must have length equal to 36`);
  const command = commandsState(ctx.store, ctx.account, ctx.region).commands[commandId];
  if (!command) throw new AwsError('InvalidCommandId', `Command ${commandId} does not exist in ${ctx.region}.`);
  return current(ctx, command);
}

const COMMAND_FILTER_KEYS = ['InvokedAfter', 'InvokedBefore', 'Status', 'ExecutionStage', 'DocumentName'];

function commandFilter(f: { key?: string; value?: string }, i: number): (c: CommandRecord) => boolean {
  const key = f.key ?? '';
  const value = f.value ?? '';
  if (!COMMAND_FILTER_KEYS.includes(key)) {
    throw validation(`1 validation error detected: Value '${key}' at 'filters.${i + 1}.member.key' failed to satisfy constraint: Member must satisfy enum value set: [${COMMAND_FILTER_KEYS.join(', ')}]`);
  }
  switch (key) {
    case 'InvokedAfter':
    case 'InvokedBefore': {
      const at = Date.parse(value);
      if (Number.isNaN(at)) throw new AwsError('InvalidFilterValue', `The ${key} filter value ${value} is not an ISO-8601 time such as 2026-11-22T10:00:00Z.`);
      return key === 'InvokedAfter' ? (c) => c.requestedAt >= at : (c) => c.requestedAt <= at;
    }
    case 'Status':
      return (c) => c.status === value;
    case 'ExecutionStage':
      if (value !== 'Executing' && value !== 'Complete') throw new AwsError('InvalidFilterValue', `The ExecutionStage filter value must be Executing or Complete, not ${value}.`);
      return (c) => TERMINAL_COMMAND.has(c.status) === (value === 'Complete');
    default:
      return (c) => c.documentName === value;
  }
}

function listCommands(input: { CommandId?: string; InstanceId?: string; MaxResults?: number; NextToken?: string; Filters?: { key?: string; value?: string }[] }, ctx: RequestContext) {
  const limit = maxResults(input.MaxResults, 50, 50);
  const checks = (input.Filters ?? []).map(commandFilter);
  let commands: CommandRecord[];
  if (input.CommandId !== undefined) commands = [findCommand(ctx, input.CommandId)];
  else commands = Object.values(commandsState(ctx.store, ctx.account, ctx.region).commands).reverse().map((c) => current(ctx, c));
  const selected = commands.filter((c) => (input.InstanceId === undefined || c.invocations.some((i) => i.instanceId === input.InstanceId)) && checks.every((check) => check(c)));
  const { page, nextToken } = pageAfter(selected, (c) => c.commandId, limit, input.NextToken, invalidNextToken);
  return { Commands: page.map(commandOut), ...(nextToken ? { NextToken: nextToken } : {}) };
}

function listCommandInvocations(
  input: { CommandId?: string; InstanceId?: string; MaxResults?: number; NextToken?: string; Filters?: { key?: string; value?: string }[]; Details?: boolean },
  ctx: RequestContext,
) {
  const limit = maxResults(input.MaxResults, 50, 50);
  const checks = (input.Filters ?? []).map(commandFilter);
  const commands = input.CommandId !== undefined ? [findCommand(ctx, input.CommandId)] : Object.values(commandsState(ctx.store, ctx.account, ctx.region).commands).reverse().map((c) => current(ctx, c));
  const rows = commands
    .filter((c) => checks.every((check) => check(c)))
    .flatMap((c) => c.invocations.filter((i) => input.InstanceId === undefined || i.instanceId === input.InstanceId).map((inv) => ({ c, inv })));
  const { page, nextToken } = pageAfter(rows, (r) => `${r.c.commandId}/${r.inv.instanceId}`, limit, input.NextToken, invalidNextToken);
  return { CommandInvocations: page.map((r) => invocationOut(r.c, r.inv, input.Details === true)), ...(nextToken ? { NextToken: nextToken } : {}) };
}

function getCommandInvocation(input: { CommandId?: string; InstanceId?: string; PluginName?: string }, ctx: RequestContext) {
  if (!input.InstanceId) throw validation("1 validation error detected: Value null at 'instanceId' failed to satisfy constraint: Member must not be null");
  const stored = input.CommandId ? commandsState(ctx.store, ctx.account, ctx.region).commands[input.CommandId] : undefined;
  if (!input.CommandId) throw validation("1 validation error detected: Value null at 'commandId' failed to satisfy constraint: Member must not be null");
  const inv = stored?.invocations.find((i) => i.instanceId === input.InstanceId);
  if (!stored || !inv) throw new AwsError('InvocationDoesNotExist', `Command ${input.CommandId} has no invocation on ${input.InstanceId}.`);
  const command = current(ctx, stored);
  const plugins = pluginViews(command, inv);
  let plugin: PluginView | undefined;
  if (input.PluginName !== undefined) {
    plugin = plugins.find((p) => p.name === input.PluginName);
    if (!plugin) throw new AwsError('InvalidPluginName', `The plugin name ${input.PluginName} isn't valid for ${command.documentName}: its steps are ${command.plugins.map((p) => p.name).join(', ')}.`);
  } else {
    // Without a PluginName, the step that runs on the node's platform (the others are skipped by preconditions).
    plugin = plugins.find((p) => p.name === inv.plugin) ?? plugins[0];
  }
  return {
    CommandId: command.commandId,
    InstanceId: inv.instanceId,
    Comment: command.comment,
    DocumentName: command.documentName,
    DocumentVersion: command.documentVersion,
    PluginName: plugin?.name ?? '',
    ResponseCode: plugin?.responseCode ?? -1,
    ExecutionStartDateTime: plugin?.start !== undefined ? new Date(plugin.start).toISOString() : '',
    ExecutionElapsedTime: plugin?.start !== undefined && plugin.end !== undefined ? elapsed(plugin.end - plugin.start) : '',
    ExecutionEndDateTime: plugin?.end !== undefined ? new Date(plugin.end).toISOString() : '',
    Status: plugin?.name === inv.plugin ? inv.status : (plugin?.status ?? inv.status),
    StatusDetails: plugin?.name === inv.plugin ? inv.statusDetails : (plugin?.statusDetails ?? inv.statusDetails),
    StandardOutputContent: (plugin?.stdout ?? '').slice(0, GET_OUTPUT_CHARS),
    StandardOutputUrl: '',
    StandardErrorContent: (plugin?.stderr ?? '').slice(0, GET_OUTPUT_CHARS),
    StandardErrorUrl: '',
    CloudWatchOutputConfig: CLOUDWATCH_OUTPUT,
  };
}

function cancelCommand(input: { CommandId?: string; InstanceIds?: string[] }, ctx: RequestContext) {
  const command = findCommand(ctx, input.CommandId);
  const ids = input.InstanceIds ?? [];
  const unknown = ids.filter((id) => !command.invocations.some((i) => i.instanceId === id));
  if (unknown.length > 0) throw new AwsError('InvalidInstanceId', `Command ${command.commandId} was not sent to ${unknown.join(', ')}.`);
  if (TERMINAL_COMMAND.has(command.status)) return {};
  const now = ctx.clock.nowMs();
  if (ids.length === 0) command.cancelRequested = true;
  for (const inv of command.invocations) {
    if (ids.length > 0 && !ids.includes(inv.instanceId)) continue;
    if (inv.status === 'Pending' || inv.status === 'Delayed') {
      [inv.status, inv.statusDetails] = ['Cancelled', 'Cancelled'];
      inv.endedAt = now;
    } else if (inv.status === 'InProgress') {
      [inv.status, inv.statusDetails] = ['Cancelling', 'Cancelling'];
      inv.endsAt = now + CANCEL_DELAY_MS;
    }
  }
  progress(ctx, ctx.account, ctx.region, command, now);
  return {};
}

function describeInstancePatchStates(input: { InstanceIds?: string[]; MaxResults?: number; NextToken?: string }, ctx: RequestContext) {
  const ids = input.InstanceIds ?? [];
  if (ids.length < 1 || ids.length > 50) {
    throw validation("1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50 and greater than or equal to 1");
  }
  const limit = maxResults(input.MaxResults, 100, 50, 10);
  const states = commandsState(ctx.store, ctx.account, ctx.region).patchStates;
  const found = ids.flatMap((id) => (states[id] ? [states[id]] : []));
  const { page, nextToken } = pageAfter(found, (s) => s.instanceId, limit, input.NextToken, invalidNextToken);
  return {
    InstancePatchStates: page.map((s) => ({
      InstanceId: s.instanceId,
      PatchGroup: s.patchGroup,
      BaselineId: s.baselineId,
      InstalledCount: s.installed,
      InstalledOtherCount: 0,
      InstalledPendingRebootCount: 0,
      InstalledRejectedCount: 0,
      MissingCount: s.missing,
      FailedCount: s.failed,
      UnreportedNotApplicableCount: 0,
      NotApplicableCount: 0,
      AvailableSecurityUpdateCount: 0,
      OperationStartTime: new Date(s.operationStartTime),
      OperationEndTime: new Date(s.operationEndTime),
      Operation: s.operation,
      RebootOption: 'RebootIfNeeded',
      CriticalNonCompliantCount: 0,
      SecurityNonCompliantCount: 0,
      OtherNonCompliantCount: s.missing + s.failed,
    })),
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
}

export const commandOperations: Record<string, Operation> = {
  SendCommand: sendCommand,
  ListCommands: listCommands,
  ListCommandInvocations: listCommandInvocations,
  GetCommandInvocation: getCommandInvocation,
  CancelCommand: cancelCommand,
  DescribeInstancePatchStates: describeInstancePatchStates,
};

/** Looks at every unfinished command again now (after an agent changed): delayed nodes whose agent is back get it. */
export function kickCommands(rt: Runtime, account: string, region: string): void {
  for (const command of Object.values(commandsState(rt.store, account, region).commands)) progress(rt, account, region, command, rt.clock.nowMs());
}
