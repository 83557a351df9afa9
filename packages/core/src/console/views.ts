import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import type { EnrollmentToken, Issuance } from '../activations/ports.js';
import type { FamilyHead, PublicationRecord } from '../ami/model.js';
import type { ScanRunSummary } from '../ebs/model.js';
import { cents } from '../ebs/rules.js';
import { ValidationError } from '../errors.js';
import type { DeadlineKind } from '../params/deadlines.js';
import type { NoticeRecord } from '../params/ports.js';
import type { ExpiringRow } from '../params/sweep.js';
import { runningStep, type OperatorSignalKind } from '../runbooks/engine/signals.js';
import { isTerminal, type Execution, type ExecutionSummary, type StepExecution } from '../runbooks/execution.js';

/**
 * The console's read-only views (docs/console-api.md): what the CLI's listings show, shaped as the console API
 * answers. Pure: the handler reads the stores and passes what they hold.
 */

/** A button of the console, and the signal it sends. */
export type ConsoleAction = 'approve' | 'deny' | 'resume' | 'cancel';

export const CONSOLE_SIGNALS: Record<ConsoleAction, OperatorSignalKind> = { approve: 'Approve', deny: 'Reject', resume: 'Resume', cancel: 'Cancel' };

/** A rate-controlled parent's children: failures counted against MaxErrors. */
export interface ChildrenView {
  total: number;
  success: number;
  failed: number;
  running: number;
  pending: number;
  maxConcurrency: string;
  maxErrors: string;
  errorsLeft: number;
}

export interface ExecutionView {
  executionId: string;
  runbook: string;
  status: string;
  startedAt: string;
  endedAt?: string;
  automation?: string;
  targets: string[];
  parentExecutionId?: string;
  waitingFor?: 'approval' | 'resume';
  actions: ConsoleAction[];
  children?: ChildrenView;
  triggeredBy?: string;
  failureMessage?: string;
}

export interface StepView {
  name: string;
  action: string;
  status: string;
  startedAt?: string;
  endedAt?: string;
  attempts: number;
  outputs?: Record<string, unknown>;
  error?: string;
  /** For an aws:approve step: who may decide. */
  approvers?: string[];
}

/** `automation:<name>` (or `automation:<name> (run by …)`) names the automation that started an execution. */
export function automationOf(triggeredBy: string | undefined): string | undefined {
  const m = /^automation:([a-z0-9-]+)/.exec(triggeredBy ?? '');
  return m?.[1];
}

/** What an open execution waits for, from its running step (a full execution; summaries do not carry steps). */
export function waitingFor(ex: Execution): 'approval' | 'resume' | undefined {
  if (ex.status !== 'Waiting') return undefined;
  const open = runningStep(ex);
  if (open?.action === 'aws:approve') return 'approval';
  if (open?.action === 'aws:pause') return 'resume';
  return undefined;
}

/**
 * The buttons an operator may use on an execution: cancel while it has not ended and is not being cancelled; approve
 * and deny at an aws:approve step, resume at an aws:pause step. `canAct` false (a reader) leaves none.
 *
 * @example
 * consoleActions(waitingForApproval, true) // ['approve', 'deny', 'cancel']
 */
export function consoleActions(ex: Pick<Execution, 'status'> & Partial<Pick<Execution, 'steps' | 'currentStep'>>, canAct: boolean): ConsoleAction[] {
  if (!canAct || isTerminal(ex.status)) return [];
  const actions: ConsoleAction[] = [];
  const waiting = ex.steps ? waitingFor(ex as Execution) : undefined;
  if (waiting === 'approval') actions.push('approve', 'deny');
  if (waiting === 'resume') actions.push('resume');
  if (ex.status !== 'Cancelling') actions.push('cancel');
  return actions;
}

/** The children counts of a rate-controlled parent (undefined for any other execution). */
export function childrenView(ex: Pick<Execution, 'rateControl' | 'counters'>): ChildrenView | undefined {
  const rate = ex.rateControl;
  if (!rate) return undefined;
  const c = ex.counters ?? { launched: 0, running: 0, succeeded: 0, failed: 0 };
  return {
    total: rate.targets.length,
    success: c.succeeded,
    failed: c.failed,
    running: c.running,
    pending: Math.max(0, rate.targets.length - c.launched),
    maxConcurrency: rate.maxConcurrency,
    maxErrors: rate.maxErrors,
    errorsLeft: Math.max(0, rate.errorLimit - c.failed),
  };
}

/** An execution (full, or a listing's summary) as the console lists it. */
export function executionView(ex: ExecutionSummary | Execution, canAct: boolean): ExecutionView {
  const full = 'steps' in ex ? ex : undefined;
  const waiting = full ? waitingFor(full) : undefined;
  const automation = automationOf(ex.triggeredBy);
  const children = full ? childrenView(full) : undefined;
  const targets = full?.rateControl ? full.rateControl.targets : ex.target !== undefined ? [ex.target] : [];
  return {
    executionId: ex.executionId,
    runbook: ex.documentName,
    status: ex.status,
    startedAt: ex.startedAt ?? ex.createdAt,
    ...(ex.endedAt ? { endedAt: ex.endedAt } : {}),
    ...(automation ? { automation } : {}),
    targets,
    ...(ex.parentExecutionId ? { parentExecutionId: ex.parentExecutionId } : {}),
    ...(waiting ? { waitingFor: waiting } : {}),
    actions: full ? consoleActions(full, canAct) : consoleActions({ status: ex.status }, canAct),
    ...(children ? { children } : {}),
    ...(ex.triggeredBy ? { triggeredBy: ex.triggeredBy } : {}),
    ...(ex.failureMessage ? { failureMessage: ex.failureMessage } : {}),
  };
}

/** One step run as the console's timeline shows it. */
export function stepView(step: StepExecution): StepView {
  const approvers = step.action === 'aws:approve' && Array.isArray(step.inputs?.Approvers) ? (step.inputs.Approvers as unknown[]).filter((a): a is string => typeof a === 'string') : undefined;
  return {
    name: step.name,
    action: step.action,
    status: step.status,
    ...(step.startedAt ? { startedAt: step.startedAt } : {}),
    ...(step.endedAt ? { endedAt: step.endedAt } : {}),
    attempts: step.attempt,
    ...(step.outputs ? { outputs: step.outputs } : {}),
    ...(step.failureMessage ? { error: step.failureMessage } : {}),
    ...(approvers ? { approvers } : {}),
  };
}

/** Whether a listed execution passes the console's filters (each given one must match). */
export function matchesFilters(ex: ExecutionSummary, filters: { status?: string; runbook?: string; automation?: string; target?: string }): boolean {
  if (filters.status !== undefined && ex.status !== filters.status) return false;
  if (filters.runbook !== undefined && ex.documentName !== filters.runbook) return false;
  if (filters.automation !== undefined && automationOf(ex.triggeredBy) !== filters.automation) return false;
  if (filters.target !== undefined && ex.target !== filters.target) return false;
  return true;
}

// ---- findings ----

export interface FindingVolume {
  volumeId: string;
  accountId: string;
  region: string;
  sizeGiB: number;
  volumeType: string;
  state: string;
  daysUnattached: number;
  monthlyCostUsd: number;
  opsItemId?: string;
  name?: string;
}

export interface FindingsHistoryPoint {
  date: string;
  monthlyWasteUsd: number;
  remediatedMonthlySavingsUsd: number;
  volumes: number;
}


/**
 * What remediation saved a month over the runs given: the monthly cost of the stale volumes whose OpsItem a scan
 * resolved because the volume was deleted or attached again (`totals.resolvedMonthlyCostUsd`; dry runs left out, and
 * runs stored before it was counted add nothing).
 *
 * @example
 * remediatedSavings(await store.listRuns(100)) // 127.5
 */
export function remediatedSavings(runs: ScanRunSummary[]): number {
  return cents(runs.filter((r) => !r.dryRun).reduce((sum, r) => sum + (r.totals.resolvedMonthlyCostUsd ?? 0), 0));
}

/**
 * The findings' totals, and one history point per day a scan ran (its last run that day, oldest first): `volumes`
 * is the run's stale count; waste is what the stale volumes known now cost on that day (volumes stale by then);
 * savings are cumulative, what the runs up to the end of that day saved (remediatedSavings).
 */
export function findingsHistory(runs: ScanRunSummary[], stale: { volumeId: string; unattachedSince: string; monthlyCostUsd: number }[], thresholdDays: number): FindingsHistoryPoint[] {
  const real = runs.filter((r) => !r.dryRun).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const byDay = new Map<string, ScanRunSummary>();
  for (const run of real) byDay.set(run.startedAt.slice(0, 10), run);
  return [...byDay.entries()].map(([date, run]) => {
    const at = Date.parse(run.finishedAt);
    const waste = stale.filter((v) => at - Date.parse(v.unattachedSince) >= thresholdDays * 86_400_000).reduce((sum, v) => sum + v.monthlyCostUsd, 0);
    const saved = remediatedSavings(real.filter((r) => r.startedAt.slice(0, 10) <= date));
    return { date, monthlyWasteUsd: cents(waste), remediatedMonthlySavingsUsd: saved, volumes: run.totals.stale };
  });
}

/** Totals of the findings: what the stale volumes cost a month, how many, and what remediation saved (remediatedSavings). */
export function findingsTotals(volumes: FindingVolume[], remediatedMonthlySavingsUsd = 0): { monthlyWasteUsd: number; remediatedMonthlySavingsUsd: number; volumes: number } {
  return { monthlyWasteUsd: cents(volumes.reduce((sum, v) => sum + v.monthlyCostUsd, 0)), remediatedMonthlySavingsUsd: cents(remediatedMonthlySavingsUsd), volumes: volumes.length };
}


// ---- images ----

export interface ImageRegionView {
  region: string;
  parameter: string;
  current?: { imageId: string; publishedAt: string };
  history: { imageId: string; publishedAt: string; kind: string; rolledBack?: boolean; note?: string }[];
  warnings: string[];
}

/** A family's region: its head (what the parameter holds), its publications newest first, rollbacks and warnings. */
export function imageRegionView(head: FamilyHead | undefined, records: PublicationRecord[], region: string, parameter: string): ImageRegionView {
  const history = records
    .filter((r) => r.kind !== 'warning' && r.kind !== 'rejected')
    .map((r) => ({ imageId: r.imageId, publishedAt: r.at, kind: r.kind, ...(r.kind === 'rollback' ? { rolledBack: true } : {}), ...(r.note ? { note: r.note } : {}) }));
  const warnings = [...records.filter((r) => r.kind === 'warning' || r.kind === 'rejected').map((r) => `${r.at} ${r.kind} ${r.imageId}${r.note ? `: ${r.note}` : ''}`)];
  if (head?.warning && !warnings.some((w) => w.includes(head.warning!))) warnings.unshift(head.warning);
  return {
    region,
    parameter: head?.parameterName ?? parameter,
    ...(head && head.status === 'published' ? { current: { imageId: head.imageId, publishedAt: head.updatedAt } } : {}),
    history,
    warnings,
  };
}

// ---- parameters ----

export type CalendarKind = 'expiry' | 'reminder' | 'no-change';

const CALENDAR_KIND: Record<DeadlineKind, CalendarKind> = { Expiration: 'expiry', ExpirationNotification: 'reminder', NoChangeNotification: 'no-change' };
const NOTICE_KIND: Record<NoticeRecord['kind'], string> = { Expiration: 'expiry', ExpirationNotification: 'reminder', NoChangeNotification: 'no-change', Escalation: 'escalation' };

/** The parameters' calendar: deadlines (from the sweep's own computation) and the notices sent in the span. */
export function parameterCalendar(rows: ExpiringRow[], notices: NoticeRecord[], from: Date, to: Date) {
  const escalated = new Set(notices.filter((n) => n.kind === 'Escalation').map((n) => `${n.parameter}#${n.expiresAt ?? n.dueAt}`));
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    deadlines: rows.map((r) => ({ name: r.parameter, kind: CALENDAR_KIND[r.kind], at: r.dueAt, ...(r.expiresAt ? { expiresAt: r.expiresAt } : {}), policy: r.policy, owner: r.owner })),
    notifications: notices
      .filter((n) => n.status === 'sent' && n.sentAt !== undefined)
      .map((n) => ({ name: n.parameter, kind: NOTICE_KIND[n.kind], sentAt: n.sentAt!, dueAt: n.dueAt, escalated: n.kind === 'Escalation' || escalated.has(`${n.parameter}#${n.expiresAt ?? ''}`), via: n.via })),
  };
}

// ---- activations ----

/** Tokens (never their secret or its hash) and issuances (never an activation code), with the failed boots. */
export function activationsView(tokens: EnrollmentToken[], issuances: Issuance[]) {
  return {
    tokens: tokens.map((t) => ({
      id: t.id,
      name: t.name,
      maxUses: t.maxUses,
      uses: t.uses,
      expiresAt: t.expiresAt,
      createdAt: t.createdAt,
      iamRole: t.iamRole,
      ...(t.revokedAt ? { revokedAt: t.revokedAt } : {}),
      ...(t.namePrefix ? { namePrefix: t.namePrefix } : {}),
    })),
    issuances: issuances.map((i) => ({
      activationId: i.activationId,
      tokenId: i.tokenId,
      hostname: i.hostname,
      issuedAt: i.issuedAt,
      expiresAt: i.expiresAt,
      ...(i.managedNodeId ? { managedNodeId: i.managedNodeId } : {}),
      ...(i.registeredAt ? { registeredAt: i.registeredAt } : {}),
      ...(i.deletedAt ? { deletedAt: i.deletedAt } : {}),
    })),
    nodesRegistered: issuances.filter((i) => i.managedNodeId !== undefined).length,
    // A boot that got an activation and never registered a node within its life (the sweep reports it).
    failedBoots: issuances
      .filter((i) => i.unregisteredReportedAt !== undefined)
      .map((i) => ({ at: i.unregisteredReportedAt!, sourceIp: i.sourceIp, hostname: i.hostname, reason: `no node registered with activation ${i.activationId} before it expired at ${i.expiresAt}` })),
  };
}

// ---- pages ----

/** `?limit=`: a whole number from 1 to 100 (the console's lists default to 50). */
export const pageLimit = z.optional(z.string().check(z.regex(/^([1-9][0-9]?|100)$/, 'must be a whole number from 1 to 100')));
/** `?nextToken=`: opaque, from the previous answer. */
export const pageToken = z.optional(z.string().check(z.minLength(1), z.maxLength(2048)));
/** The query parameters of a paged list, to spread into a route's query schema. */
export const pageQuery = { limit: pageLimit, nextToken: pageToken };

/** The default page size of the console's lists. */
export const PAGE_LIMIT = 50;

/** A short hash (hex) of a string: a token's fingerprint of the item a page ended at, not a secret. */
const fingerprint = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8);

const staleToken = (why: string) => new ValidationError(`query.nextToken: ${why}; ask for the first page again`, 'query.nextToken');

/**
 * One page of an already sorted list. The nextToken is opaque (base64url JSON of the offset and a fingerprint of
 * `key` of the page's last item): a token that is not one this gave, or whose list changed at that place since, is a
 * ValidationError naming `query.nextToken`.
 *
 * @example
 * const first = pageOf(volumes, { limit: '1' }, (v) => v.volumeId) // { items: [vol-a], nextToken: 'eyJv…' }
 * pageOf(volumes, { limit: '1', nextToken: first.nextToken }, (v) => v.volumeId) // { items: [vol-b] }
 */
export function pageOf<T>(items: readonly T[], query: { limit?: string; nextToken?: string }, key: (item: T) => string): { items: T[]; nextToken?: string } {
  const limit = query.limit === undefined ? PAGE_LIMIT : Number(query.limit);
  let start = 0;
  if (query.nextToken !== undefined) {
    let token: unknown;
    try {
      token = JSON.parse(Buffer.from(query.nextToken, 'base64url').toString('utf8')) as unknown;
    } catch {
      throw staleToken('is not a token this API gave');
    }
    const { o, k } = (token ?? {}) as { o?: unknown; k?: unknown };
    if (typeof o !== 'number' || !Number.isInteger(o) || o < 1 || typeof k !== 'string') throw staleToken('is not a token this API gave');
    if (o > items.length || fingerprint(key(items[o - 1])) !== k) throw staleToken('is stale: the list changed since it was given');
    start = o;
  }
  const page = items.slice(start, start + limit);
  const end = start + page.length;
  if (end >= items.length) return { items: page };
  return { items: page, nextToken: Buffer.from(JSON.stringify({ o: end, k: fingerprint(key(items[end - 1])) })).toString('base64url') };
}
