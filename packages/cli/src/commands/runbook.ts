import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoExecutionStore, ownAccountId, RunbookSource, runbookFromFile, type LoadedRunbook } from '@opsauto/aws';
import { ec2InstanceFinder, eventBridgeDispatch } from '@opsauto/aws/runbooks';
import {
  EXECUTION_PAGE_MAX,
  missingCalls,
  stepApiCalls,
  type Runbook,
  type RunbookStep,
  sendOperatorSignal,
  ForbiddenError,
  parseIdentity,
  runningStep,
  isTerminal,
  NotFoundError,
  ParameterValueError,
  parseParameterAssignments,
  parseTargetsOption,
  planStart,
  startExecution,
  targetsFromOption,
  ValidationError,
  type AutomationTarget,
  type Execution,
  type ExecutionPlan,
  type ExecutionSummary,
  type OperatorSignalKind,
  type StartInput,
  type StartPorts,
  type StepExecution,
} from '@opsauto/core';
import { eventBusName, runbookStartPolicy } from '@opsauto/functions';
import type { Command } from 'commander';
import { print } from '../output.js';
import { projectRoot } from '../project.js';
import { LOCAL_STAGE, stageContext, type GlobalOptions, type StageContext } from '../stage-context.js';

/** Where the runbooks shipped with the repository live (loaded by name before the account's documents). */
const RUNBOOKS_DIR = join(projectRoot, 'runbooks');
/** How often `--wait` reads the execution. */
const WAIT_POLL_MS = 500;

interface Runbooks {
  ctx: StageContext;
  store: DynamoExecutionStore;
  dispatch: (executionIds: string[]) => Promise<void>;
}

export async function runbooks(program: Command): Promise<Runbooks> {
  const ctx = await stageContext(program);
  // The worker listens for dispatches on opsauto's bus only.
  return {
    ctx,
    store: new DynamoExecutionStore(ctx.clients, ctx.tableName, { ttlDays: ctx.config.runbooks.executionTtlDays, clock: ctx.clock }),
    dispatch: eventBridgeDispatch(ctx.clients, eventBusName(ctx.tableName)),
  };
}

/** The execution, or `no execution <id>` (exit 1). */
async function load(store: DynamoExecutionStore, executionId: string): Promise<Execution> {
  const loaded = await store.get(executionId);
  if (!loaded) throw new NotFoundError(`no execution ${executionId}`);
  return loaded.execution;
}

/**
 * Where `runbook start` finds a runbook, as the worker does (RunbookSource): shipped in `runbooks/` (unless a version
 * is asked for, which only SSM documents have), else the account's Automation document; and a YAML or JSON file.
 */
export function runbookSource(ctx: StageContext): RunbookSource {
  return new RunbookSource(ctx.clients, { shippedDirectory: RUNBOOKS_DIR, files: true });
}

/** A runbook `runbook start` can start, as `runbook docs` lists it. */
export interface RunbookDoc {
  name: string;
  owner: 'opsauto' | 'Amazon' | 'Self';
  version?: string;
  description: string;
}

/** A description's first sentence on one line, at most 100 characters. */
function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/\.(\s|$)/);
  const sentence = end === -1 ? flat : flat.slice(0, end + 1);
  return sentence.length > 100 ? `${sentence.slice(0, 99)}…` : sentence;
}

/**
 * The runbooks of one owner, or all: ours (the files in `runbooks/`, with the first line of their description), then
 * the stage's AWS-owned and the account's own Automation documents (ssm:ListDocuments), each sorted by name.
 */
export async function runbookDocs(ctx: StageContext, owner?: RunbookDoc['owner']): Promise<RunbookDoc[]> {
  const docs: RunbookDoc[] = [];
  if (owner === undefined || owner === 'opsauto') {
    const files = existsSync(RUNBOOKS_DIR) ? readdirSync(RUNBOOKS_DIR).filter((f) => /\.(ya?ml|json)$/i.test(f)).sort() : [];
    for (const file of files) {
      const loaded = runbookFromFile(join(RUNBOOKS_DIR, file));
      docs.push({ name: loaded.name, owner: 'opsauto', description: firstSentence(loaded.runbook.description ?? '') });
    }
  }
  const { listAutomationDocuments } = await import('@opsauto/aws/runbooks/ssm-document.js');
  for (const ssmOwner of ['Amazon', 'Self'] as const) {
    if (owner !== undefined && owner !== ssmOwner) continue;
    const listed = await listAutomationDocuments(ctx.clients, ctx.config.regions[0], ssmOwner);
    for (const d of listed.sort((a, b) => a.name.localeCompare(b.name))) docs.push({ name: d.name, owner: ssmOwner, ...(d.version ? { version: d.version } : {}), description: d.displayName ?? '' });
  }
  return docs;
}

/** The core names fields as StartAutomationExecution does; the user typed options. */
const OPTION_OF: Record<string, string> = {
  Targets: '--targets',
  targets: '--targets',
  TargetParameterName: '--target-parameter-name',
  targetParameterName: '--target-parameter-name',
  MaxConcurrency: '--max-concurrency',
  maxConcurrency: '--max-concurrency',
  MaxErrors: '--max-errors',
  maxErrors: '--max-errors',
};

/** A validation error as one line that names the option or parameter at fault. */
function asCliError(e: unknown): unknown {
  if (e instanceof ParameterValueError) return new ValidationError(`--param: ${e.message}`, e.field);
  if (!(e instanceof ValidationError) || e.field === undefined) return e;
  const option = OPTION_OF[e.field];
  if (!option) return e;
  return new ValidationError(e.message.startsWith(e.field) ? option + e.message.slice(e.field.length) : `${option}: ${e.message}`, option);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface StartOptions {
  param: string[];
  targets?: string;
  targetParameterName?: string;
  maxConcurrency?: string;
  maxErrors?: string;
  version?: string;
  dryRun?: boolean;
  wait?: boolean;
}

/** What `runbook start` asks the core for: the runbook (a file, or a name to load), parameters, targets, limits. */
async function startInput(arg: string, opts: StartOptions, source: RunbookSource): Promise<StartInput> {
  let file: LoadedRunbook | undefined;
  if (source.isFile(arg)) {
    if (opts.version !== undefined) throw new ValidationError('--version: applies to a runbook loaded by name, not to a file', '--version');
    file = await source.load(arg);
  }
  if (opts.targets !== undefined && opts.targetParameterName === undefined) {
    throw new ValidationError('--target-parameter-name: is required with --targets (the runbook parameter that receives each target)', '--target-parameter-name');
  }
  if (opts.targetParameterName !== undefined && opts.targets === undefined) {
    throw new ValidationError('--targets: is required with --target-parameter-name (tag:<key>=<value>, InstanceIds=…, ParameterValues=…)', '--targets');
  }
  let targets: AutomationTarget[] | undefined;
  if (opts.targets !== undefined) {
    parseTargetsOption(opts.targets); // checks it with the option's name in the errors
    targets = targetsFromOption(opts.targets);
  }
  return {
    documentName: file?.name ?? arg,
    documentVersion: opts.version,
    runbook: file?.runbook,
    parameters: parseParameterAssignments(opts.param),
    targets,
    targetParameterName: opts.targetParameterName,
    maxConcurrency: opts.maxConcurrency,
    maxErrors: opts.maxErrors,
  };
}

// ---- printing ----

const time = (iso: string | undefined) => iso?.replace(/\.\d{3}Z$/, 'Z') ?? '';
const valueText = (v: unknown): string => (typeof v === 'string' ? (v === '' ? '""' : v) : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(',') : JSON.stringify(v));
const assignments = (values: Record<string, unknown> | undefined) =>
  Object.entries(values ?? {})
    .map(([k, v]) => `${k}=${valueText(v)}`)
    .join('  ');
const field = (label: string, value: string | number | undefined) => {
  if (value !== undefined && value !== '') console.log(`${label.padEnd(13)}${value}`);
};
const documentText = (name: string, version: string | undefined) => (version ? `${name} (version ${version})` : name);

/** How to run a follow-up command against the same stage. */
export function hint(program: Command, args: string): string {
  const { stage } = program.opts<GlobalOptions>();
  return `opsauto${stage === LOCAL_STAGE ? '' : ` --stage ${stage}`} runbook ${args}`;
}

/** Whether the local stage serves what one step calls: every call emulated, or what is missing, or why unknown. */
interface LocalServing {
  served: boolean | null;
  calls: string[];
  missing: string[];
  note?: string;
}

/**
 * For `--dry-run`: per step, whether localcloud emulates the APIs it calls (core's stepApiCalls against localcloud's
 * own list of operations; a child runbook's steps count for its aws:executeAutomation step).
 */
export async function localServing(runbook: Runbook, source: RunbookSource): Promise<Record<string, LocalServing>> {
  const { emulatedOperations } = await import('@opsauto/localcloud/services/registry.js');
  const emulated = emulatedOperations();
  const callsOf = async (step: RunbookStep, seen: string[]): Promise<{ calls: string[]; note?: string }> => {
    const found = stepApiCalls(step);
    if (found.kind === 'calls') return { calls: found.calls };
    if (found.kind === 'unchecked') return { calls: [], note: found.reason };
    if (seen.includes(found.documentName) || seen.length > 5) return { calls: [] };
    let child: Runbook;
    try {
      child = (await source.load(found.documentName)).runbook;
    } catch (e) {
      return { calls: [], note: `child ${found.documentName} not loaded: ${(e as Error).message}` };
    }
    const parts = await Promise.all(child.mainSteps.map((s) => callsOf(s, [...seen, found.documentName])));
    const notes = parts.flatMap((p) => (p.note ? [p.note] : []));
    return { calls: [...new Set(parts.flatMap((p) => p.calls))].sort(), ...(notes.length ? { note: `child ${found.documentName}: ${notes.join('; ')}` } : {}) };
  };
  const result: Record<string, LocalServing> = {};
  for (const step of runbook.mainSteps) {
    const { calls, note } = await callsOf(step, []);
    const missing = missingCalls(calls, emulated);
    result[step.name] = { served: missing.length > 0 ? false : note ? null : true, calls, missing, ...(note ? { note } : {}) };
  }
  return result;
}

function servingText(serving: LocalServing | undefined): string {
  if (!serving) return '';
  if (serving.served === false) return `no: ${serving.missing.join(', ')} not emulated${serving.note ? `; ${serving.note}` : ''}`;
  if (serving.served === null) return `not checked: ${serving.note ?? ''}`;
  return serving.calls.length === 0 ? 'yes (no AWS call)' : 'yes';
}

export function printPlan(program: Command, plan: ExecutionPlan, serving: Record<string, LocalServing>): void {
  console.log('dry run: nothing was started or changed');
  field('document', documentText(plan.documentName, plan.documentVersion));
  field('parameters', assignments(plan.parameters) || '(none)');
  const t = plan.targets;
  if (t) {
    field('targets', `${t.values.length} -> ${t.targetParameterName}: ${t.values.join(', ')}`);
    field('limits', `max concurrency ${t.maxConcurrency} (${t.concurrencyLimit} at a time), max errors ${t.maxErrors} (stops after ${t.errorLimit + 1} failure${t.errorLimit === 0 ? '' : 's'})`);
  }
  console.log('steps:');
  print(
    plan.steps.map((s) => ({ ...s, timeoutSeconds: s.timeoutSeconds ?? '', 'local stage': servingText(serving[s.name]) })),
    program,
    ['name', 'action', 'onFailure', 'maxAttempts', 'timeoutSeconds', 'local stage'],
  );
}

function stepResult(step: StepExecution): string {
  if (step.failureMessage) return step.failureMessage;
  if (step.outputs) return JSON.stringify(step.outputs);
  if (step.status === 'Waiting') return step.action === 'aws:approve' ? 'waiting for approval' : 'waiting for resume';
  if (step.status === 'Pending' && step.nextCheckAt) return `retry at ${time(step.nextCheckAt)}`;
  return '';
}

function printExecution(program: Command, ex: Execution, children: ExecutionSummary[] | undefined, childrenMore: boolean): void {
  field('execution', ex.executionId);
  field('document', documentText(ex.documentName, ex.documentVersion));
  field('status', ex.status);
  field('triggered by', ex.triggeredBy);
  field('parent', ex.parentExecutionId);
  field('target', ex.target);
  field('created', time(ex.createdAt));
  field('started', time(ex.startedAt));
  field('ended', time(ex.endedAt));
  field('parameters', assignments(ex.parameters));
  field('outputs', assignments(ex.outputs));
  field('failure', ex.failureMessage);
  const open = runningStep(ex);
  if (open?.action === 'aws:pause') field('waiting', `at ${open.name} (aws:pause): ${hint(program, `resume ${ex.executionId}`)}`);
  if (open?.action === 'aws:approve') {
    const approvers = Array.isArray(open.inputs?.Approvers) ? ` by ${(open.inputs.Approvers as unknown[]).join(', ')}` : '';
    field('waiting', `at ${open.name} (aws:approve) for approval${approvers}: ${hint(program, `approve ${ex.executionId}`)} (or deny)`);
  }
  if (!isTerminal(ex.status) && ex.wakeAt) field('next check', time(ex.wakeAt));
  const rate = ex.rateControl;
  if (rate) {
    const c = ex.counters ?? { launched: 0, running: 0, succeeded: 0, failed: 0 };
    field('targets', `${rate.targets.length} -> ${rate.targetParameterName}, max concurrency ${rate.maxConcurrency} (${rate.concurrencyLimit}), max errors ${rate.maxErrors} (${rate.errorLimit})`);
    field('progress', `launched ${c.launched}, running ${c.running}, succeeded ${c.succeeded}, failed ${c.failed} of ${rate.targets.length}`);
  }
  if (ex.steps.length > 0) {
    console.log('steps:');
    print(
      ex.steps.map((s) => ({ step: s.name, action: s.action, status: s.status, attempt: s.attempt, started: time(s.startedAt), ended: time(s.endedAt), result: stepResult(s) })),
      program,
      ['step', 'action', 'status', 'attempt', 'started', 'ended', 'result'],
    );
  }
  if (children && children.length > 0) {
    console.log(`children${childrenMore ? ' (first page)' : ''}:`);
    print(
      children.map((c) => ({ executionId: c.executionId, target: c.target, status: c.status, started: time(c.startedAt), ended: time(c.endedAt), failure: c.failureMessage })),
      program,
      ['executionId', 'target', 'status', 'started', 'ended', 'failure'],
    );
  }
}

export async function showExecution(program: Command, store: DynamoExecutionStore, ex: Execution): Promise<void> {
  if (program.opts<GlobalOptions>().json) return print(ex, program);
  const page = ex.rateControl ? await store.list({ parentExecutionId: ex.executionId, limit: 50 }) : undefined;
  printExecution(program, ex, page?.executions, page?.nextToken !== undefined);
}

/**
 * What changed since the last look, one line each, stamped with the time it happened (else `now`): the execution's
 * status, each step's status (with its failure or what it waits for), each child's status and, for a
 * rate-controlled parent, its children counts.
 */
export function progressLines(seen: Map<string, string>, ex: Execution, children: ExecutionSummary[], now: string): string[] {
  const lines: string[] = [];
  const note = (key: string, value: string, at: string | undefined, line: string) => {
    if (seen.get(key) === value) return;
    seen.set(key, value);
    lines.push(`${time(at ?? now)}  ${line}`);
  };
  const when = (x: { startedAt?: string; endedAt?: string }) => x.endedAt ?? x.startedAt;
  const executionLine = () => note('execution', ex.status, when(ex) ?? ex.createdAt, `execution ${ex.status}`);
  // An execution that ended is told after its last steps and children; one that runs, before them.
  if (!isTerminal(ex.status)) executionLine();
  for (const step of ex.steps) {
    const detail = step.failureMessage ? `: ${step.failureMessage}` : step.status === 'Waiting' || (step.status === 'Pending' && step.nextCheckAt) ? ` (${stepResult(step)})` : '';
    note(`step ${step.name}`, `${step.status}${detail}`, when(step), `step ${step.name} ${step.status}${detail}`);
  }
  if (ex.rateControl) {
    const c = ex.counters ?? { launched: 0, running: 0, succeeded: 0, failed: 0 };
    const counts = `${c.launched}/${ex.rateControl.targets.length} launched, ${c.running} running, ${c.succeeded} succeeded, ${c.failed} failed`;
    note('children', counts, undefined, `children ${counts}`);
  }
  for (const child of children) note(`child ${child.executionId}`, child.status, when(child) ?? child.createdAt, `child ${child.executionId}${child.target ? ` (${child.target})` : ''} ${child.status}`);
  if (isTerminal(ex.status)) executionLine();
  return lines;
}

/** Polls the execution until it ends; unless `json`, prints each change as it is seen (progressLines). */
async function waitForEnd(ctx: StageContext, store: DynamoExecutionStore, executionId: string, json: boolean): Promise<Execution> {
  const seen = new Map<string, string>();
  for (;;) {
    const ex = await load(store, executionId);
    if (!json) {
      const children = ex.rateControl ? (await store.list({ parentExecutionId: ex.executionId, limit: 50 })).executions : [];
      for (const line of progressLines(seen, ex, children, ctx.clock.now().toISOString())) console.log(line);
    }
    if (isTerminal(ex.status)) return ex;
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
  }
}

// ---- signals ----

/** The identity the local stage decides as when neither --approver nor OPSAUTO_IDENTITY names one. */
export const LOCAL_DEFAULT_APPROVER = 'operator';

/**
 * Who decides at an aws:approve step. In AWS: the caller's own identity, from STS GetCallerIdentity (a user ARN, or an
 * assumed-role ARN), and nothing the command line says can change it. On the local stage, whose credentials name
 * nobody: `--approver`, else `OPSAUTO_IDENTITY`, else `operator` (a user of the local account); a bare name is a user.
 */
export async function deciderIdentity(ctx: StageContext, asked: string | undefined, accountId: string): Promise<string> {
  // --approver was refused before on any other stage; in AWS the caller's credentials say who decides.
  if (ctx.stage !== LOCAL_STAGE) {
    const { callerArn } = await import('@opsauto/aws/caller-identity.js');
    return callerArn(ctx.clients);
  }
  const named = asked ?? (process.env.OPSAUTO_IDENTITY?.trim() || LOCAL_DEFAULT_APPROVER);
  return parseIdentity(named, accountId).arn;
}

function signalCommand(program: Command, runbook: Command, name: string, kind: OperatorSignalKind, description: string): void {
  const cmd = runbook.command(`${name} <executionId>`).description(description);
  if (kind === 'Approve' || kind === 'Reject') {
    cmd
      .option('--approver <name|arn>', `local stage only: who decides (default: OPSAUTO_IDENTITY, else ${LOCAL_DEFAULT_APPROVER}); in AWS, your own identity`)
      .option('--comment <text>', 'why, kept with the decision');
  }
  cmd.action(async (executionId: string, opts: { approver?: string; comment?: string }) => {
    const { ctx, store, dispatch } = await runbooks(program);
    if (ctx.stage !== LOCAL_STAGE && opts.approver !== undefined) {
      throw new ForbiddenError(`--approver is for the local stage only: on stage ${ctx.stage} you decide as your own AWS identity (STS GetCallerIdentity); run with the credentials of an approver`, 'approver');
    }
    const deciding = kind === 'Approve' || kind === 'Reject';
    const ex = deciding ? await load(store, executionId) : undefined;
    const approver = ex ? await deciderIdentity(ctx, opts.approver, ex.accountId) : undefined;
    const { step, signal } = await sendOperatorSignal(executionId, kind, { approver, comment: opts.comment }, { store, dispatch, now: () => ctx.clock.now() });
    if (program.opts<GlobalOptions>().json) return print({ executionId, signal }, program);
    const what = kind === 'Cancel' ? 'cancel requested' : kind === 'Resume' ? `resumed at step ${step?.name}` : `${kind === 'Approve' ? 'approved' : 'denied'} at step ${step?.name} as ${approver}`;
    console.log(`${executionId}: ${what}`);
    console.log(`follow it: ${hint(program, `status ${executionId}`)}`);
  });
}

export function runbookCommands(program: Command): void {
  const runbook = program.command('runbook');

  runbook
    .command('start <runbook>')
    .description('start a runbook by name (runbooks/, then the account\'s Automation documents) or from a .yaml/.json file')
    .option('--param <name=value>', 'a parameter value (repeat for each; a repeated name makes a list)', collect, [])
    .option('--targets <spec>', 'run once per target: tag:<key>=<value>[,<value>…], InstanceIds=<id>,…, ParameterValues=<v>,… or Key=…,Values=…')
    .option('--target-parameter-name <name>', 'the parameter that receives each target (with --targets)')
    .option('--max-concurrency <n|n%>', 'targets at a time (default 10)')
    .option('--max-errors <n|n%>', 'failed targets allowed before no more start (default 0)')
    .option('--version <version>', 'document version (SSM documents only)')
    .option('--dry-run', 'print the plan (parameters, steps, targets and limits); start and change nothing')
    .option('--wait', 'follow the execution until it ends (exit 1 unless it succeeds)')
    .action(async (arg: string, opts: StartOptions) => {
      const { ctx, store, dispatch } = await runbooks(program);
      const json = program.opts<GlobalOptions>().json ?? false;
      const region = ctx.config.regions[0];
      let planned;
      try {
        const source = runbookSource(ctx);
        const input = await startInput(arg, opts, source);
        const accountId = await ownAccountId(ctx.clients);
        const ports: StartPorts = {
          accountId,
          region,
          policy: runbookStartPolicy(ctx.config, accountId, ctx.tableName),
          loadRunbook: (name, version) => source.load(name, version),
          findInstances: ec2InstanceFinder(ctx.clients, region),
        };
        planned = await planStart({ ...input, idempotencyKey: `cli:${randomUUID()}`, triggeredBy: 'cli' }, ports);
      } catch (e) {
        throw asCliError(e);
      }
      if (opts.dryRun) {
        const serving = await localServing(planned.request.runbook, runbookSource(ctx));
        if (json) return print({ ...planned.plan, steps: planned.plan.steps.map((s) => ({ ...s, localStage: serving[s.name] })) }, program);
        return printPlan(program, planned.plan, serving);
      }
      let started;
      try {
        started = await startExecution(planned.request, { store, clock: ctx.clock, newId: randomUUID });
      } catch (e) {
        throw asCliError(e);
      }
      const { execution } = started;
      await dispatch([execution.executionId]);
      if (!opts.wait) {
        if (json) return print(execution, program);
        const rate = execution.rateControl;
        const on = rate ? ` on ${rate.targets.length} target${rate.targets.length === 1 ? '' : 's'}, ${rate.concurrencyLimit} at a time` : '';
        console.log(`started execution ${execution.executionId} (${documentText(execution.documentName, execution.documentVersion)}${on})`);
        console.log(`follow it: ${hint(program, `status ${execution.executionId}`)}`);
        return;
      }
      if (!json) console.log(`started execution ${execution.executionId} (${documentText(execution.documentName, execution.documentVersion)}), waiting for it to end`);
      const ended = await waitForEnd(ctx, store, execution.executionId, json);
      await showExecution(program, store, ended);
      if (ended.status !== 'Success' && ended.status !== 'CompletedWithSuccess') {
        throw new Error(`execution ${ended.executionId} ended ${ended.status}${ended.failureMessage ? `: ${ended.failureMessage}` : ''}`);
      }
    });

  runbook
    .command('status <executionId>')
    .description('an execution: status, parameters, outputs, steps; for targets, progress and children')
    .action(async (executionId: string) => {
      const { store } = await runbooks(program);
      await showExecution(program, store, await load(store, executionId));
    });

  runbook
    .command('docs')
    .description("the runbooks one can start: ours (runbooks/), AWS-owned (Owner Amazon) and the account's own (Owner Self)")
    .option('--owner <owner>', 'only these: opsauto, Amazon or Self')
    .action(async (opts: { owner?: string }) => {
      const owners = ['opsauto', 'Amazon', 'Self'] as const;
      const owner = opts.owner === undefined ? undefined : owners.find((o) => o.toLowerCase() === opts.owner?.toLowerCase());
      if (opts.owner !== undefined && !owner) throw new ValidationError(`--owner: ${opts.owner} is not one of ${owners.join(', ')}`, '--owner');
      const ctx = await stageContext(program);
      const docs = await runbookDocs(ctx, owner);
      if (program.opts<GlobalOptions>().json) return print(docs, program);
      if (docs.length === 0) return console.log(owner ? `no runbooks of owner ${owner}` : 'no runbooks');
      print(docs.map((d) => ({ ...d, version: d.version ?? '' })), program, ['name', 'owner', 'version', 'description']);
    });

  runbook
    .command('list')
    .description('executions, newest first')
    .option('--limit <n>', `how many (1-${EXECUTION_PAGE_MAX})`, '20')
    .option('--next-token <token>', 'the next page, from the previous listing')
    .action(async (opts: { limit: string; nextToken?: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > EXECUTION_PAGE_MAX) throw new Error(`--limit must be a whole number from 1 to ${EXECUTION_PAGE_MAX} (got ${opts.limit})`);
      const { store } = await runbooks(program);
      let page;
      try {
        page = await store.list({ limit, nextToken: opts.nextToken });
      } catch (e) {
        if (e instanceof ValidationError && e.field === 'nextToken') throw new Error(`--next-token: ${e.message}`);
        throw e;
      }
      if (program.opts<GlobalOptions>().json) return print(page, program);
      print(
        page.executions.map((e) => ({ executionId: e.executionId, document: e.documentName, status: e.status, started: time(e.startedAt ?? e.createdAt), triggeredBy: e.triggeredBy })),
        program,
        ['executionId', 'document', 'status', 'started', 'triggeredBy'],
      );
      if (page.nextToken) console.log(`more: ${hint(program, `list --limit ${limit} --next-token ${page.nextToken}`)}`);
    });

  signalCommand(program, runbook, 'cancel', 'Cancel', 'cancel an execution that has not ended (its onCancel step, if any, runs first)');
  signalCommand(program, runbook, 'resume', 'Resume', 'resume an execution waiting at an aws:pause step');
  signalCommand(program, runbook, 'approve', 'Approve', 'approve an execution waiting at an aws:approve step');
  runbook
    .command('refusals')
    .description('refused starts and refused approval decisions, newest first')
    .option('--limit <n>', 'how many (default 50)', (v) => Number(v))
    .action(async (opts: { limit?: number }) => {
      const { store } = await runbooks(program);
      const refusals = await store.listRefusals(opts.limit ? { limit: opts.limit } : {});
      if (program.opts<GlobalOptions>().json) return print({ refusals }, program);
      if (refusals.length === 0) console.log('no refusals');
      for (const r of refusals) console.log(`${r.at}  ${r.documentName}  ${r.triggeredBy ?? '-'}: ${r.reason}`);
    });
  signalCommand(program, runbook, 'deny', 'Reject', 'deny (reject) an execution waiting at an aws:approve step: it fails there');
}
