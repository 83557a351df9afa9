import { DynamoExecutionStore, DynamoIssuanceStore, DynamoNoticeStore, DynamoPublicationStore, DynamoTokenStore, ownAccountId, type AccountClients } from '@opsauto/aws';
import {
  activationsView,
  CONSOLE_SIGNALS,
  executionView,
  expiringParameters,
  findingsHistory,
  findingsTotals,
  formatInZone,
  imageRegionView,
  isStale,
  isTerminal,
  matchesFilters,
  NotFoundError,
  pageOf,
  pageQuery,
  parameterCalendar,
  parseScheduleExpression,
  remediatedSavings,
  sendOperatorSignal,
  staleVolumeFindings,
  stepView,
  triggerSchedule,
  ValidationError,
  ConflictError,
  ForbiddenError,
  type ExecutionSummary,
  type ExecutionView,
} from '@opsauto/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { consoleCaller, type ConsoleCaller } from '../console-auth.js';
import { bodyText, excerpt, httpHandler, httpStatusOf, json } from '../handler.js';
import { logger } from '../logger.js';

/** The console API's error codes (docs/console-api.md) by HTTP status. */
const CONTRACT_CODES: Record<number, string | undefined> = { 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict' };

/** Rows read from the execution index at most per request to fill a filtered page (the rest: a nextToken). */
const SCAN_BUDGET = 500;

const name = z.optional(z.string().check(z.regex(/^[\w.:/@+=-]{1,256}$/, 'must be 1 to 256 letters, digits or _ . : / @ + = -')));

const executionsQuery = z.strictObject({
  status: z.optional(z.enum(['Pending', 'InProgress', 'Waiting', 'Success', 'TimedOut', 'Cancelling', 'Cancelled', 'Failed', 'CompletedWithSuccess', 'CompletedWithFailure'])),
  runbook: name,
  automation: z.optional(z.string().check(z.regex(/^[a-z0-9-]{1,64}$/, 'must be an automation name (lowercase letters, digits and -)'))),
  target: name,
  ...pageQuery,
});
const parametersQuery = z.strictObject({ days: z.optional(z.string().check(z.regex(/^([1-9]|[1-8][0-9]|90)$/, 'must be a whole number of days from 1 to 90'))), ...pageQuery });
const pagedQuery = z.strictObject(pageQuery);
type PageQuery = z.output<typeof pagedQuery>;
const noQuery = z.strictObject({});
const executionId = z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an execution ID (letters, digits and -)'));
const signalBody = z.strictObject({ signal: z.enum(['approve', 'deny', 'resume', 'cancel']), comment: z.optional(z.string().check(z.maxLength(1000))) });

/** The first issue of a failed parse, as a ValidationError naming its field (`where` prefixes it: query, body). */
function parse<T extends z.ZodMiniType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const field = [where, ...issue.path, ...keys.slice(0, 1)].map((k) => excerpt(String(k))).join('.');
  throw new ValidationError(`${field}: ${keys.length ? 'is not a parameter of this route' : issue.message}`, field);
}

/** The body as JSON (a ValidationError naming `body` otherwise). */
function jsonBody(event: APIGatewayProxyEventV2): unknown {
  const raw = bodyText(event);
  if (raw === '') throw new ValidationError('body: the request needs a JSON body', 'body');
  if (raw.length > 16 * 1024) throw new ValidationError('body: must be at most 16 KB', 'body');
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ValidationError('body: is not valid JSON', 'body');
  }
}

const executionStore = () => new DynamoExecutionStore(clients, requireEnv('TABLE_NAME'), { clock: systemClock });

/** Pages of the execution index, filtered, until `want` match or the scan budget is spent (then a nextToken). */
async function listExecutions(query: z.output<typeof executionsQuery>): Promise<{ items: ExecutionSummary[]; nextToken?: string }> {
  const store = executionStore();
  const want = Number(query.limit ?? 50);
  const items: ExecutionSummary[] = [];
  let token = query.nextToken;
  let scanned = 0;
  do {
    // Exactly what is still wanted: the store's token then points right after the last row taken.
    let page;
    try {
      page = await store.list({ limit: want - items.length, ...(token ? { nextToken: token } : {}) });
    } catch (e) {
      if (token && e instanceof ValidationError) throw new ValidationError('query.nextToken: is not a token this API gave', 'query.nextToken');
      throw e;
    }
    scanned += page.executions.length;
    items.push(...page.executions.filter((ex) => matchesFilters(ex, query)));
    token = page.nextToken;
  } while (token && items.length < want && scanned < SCAN_BUDGET);
  return { items, ...(token ? { nextToken: token } : {}) };
}

/** An execution with its running step, for listings that show what it waits for and its buttons. */
async function withSteps(summaries: ExecutionSummary[], caller: ConsoleCaller): Promise<ExecutionView[]> {
  const store = executionStore();
  return Promise.all(
    summaries.map(async (s) => {
      if (isTerminal(s.status)) return executionView(s, caller.canAct);
      const loaded = await store.get(s.executionId);
      return executionView(loaded?.execution ?? s, caller.canAct);
    }),
  );
}

/** Failed asynchronous invocations: localcloud's list on the local stage; not read in AWS yet (count null). */
async function failureQueue(local: boolean): Promise<{ count: number | null; items: { function: string; error: string; at: string }[]; note?: string }> {
  if (!local) return { count: null, items: [], note: 'in AWS, see the FailedInvocations queue (stack output FailedInvocationsQueueUrl)' };
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) return { count: null, items: [], note: 'the local stage has no AWS_ENDPOINT_URL' };
  const res = await fetch(`${endpoint}/_localcloud/failures`);
  const records = (await res.json()) as { function: string; error?: string; startedAt: string }[];
  const items = records.slice(-50).reverse().map((r) => ({ function: r.function, error: excerpt(r.error ?? 'failed', 500), at: r.startedAt }));
  return { count: records.length, items };
}

async function now(caller: ConsoleCaller) {
  const config = loadConfig();
  const at = systemClock.now();
  const recent = await listExecutions({ limit: '100' });
  const open = recent.items.filter((e) => !isTerminal(e.status));
  const views = await withSteps(open, caller);
  const automations = config.automations
    .filter((a) => a.enabled)
    .flatMap((a) => {
      const schedule = triggerSchedule(a.trigger);
      if (!schedule) return [];
      const next = parseScheduleExpression(schedule.expression, schedule.timezone).nextAfter(at);
      return [{ name: a.name, kind: 'maintenanceWindow' in a.trigger ? 'maintenance-window' : 'schedule', timezone: schedule.timezone, nextRun: next ? next.toISOString() : null, nextRunLocal: next ? formatInZone(next, schedule.timezone) : null }];
    })
    .sort((a, b) => (a.nextRun ?? '~').localeCompare(b.nextRun ?? '~'));
  return {
    stage: caller.stage,
    now: at.toISOString(),
    local: caller.local,
    running: views.filter((v) => v.status === 'InProgress' || v.status === 'Pending' || v.status === 'Cancelling'),
    waiting: views.filter((v) => v.status === 'Waiting'),
    failures: await failureQueue(caller.local),
    automations,
  };
}

async function executionDetail(id: string, caller: ConsoleCaller) {
  const store = executionStore();
  const loaded = await store.get(id);
  if (!loaded) throw new NotFoundError(`no execution ${id}`);
  const ex = loaded.execution;
  const children = ex.rateControl ? await store.list({ parentExecutionId: id, limit: 100 }) : undefined;
  return {
    execution: {
      ...executionView(ex, caller.canAct),
      steps: ex.steps.map(stepView),
      ...(ex.outputs ? { outputs: ex.outputs } : {}),
      ...(ex.failureMessage ? { failureMessage: ex.failureMessage } : {}),
      ...(children ? { childExecutions: children.executions.map((c) => executionView(c, caller.canAct)), ...(children.nextToken ? { childrenNextToken: children.nextToken } : {}) } : {}),
    },
  };
}

async function signal(id: string, event: APIGatewayProxyEventV2, caller: ConsoleCaller) {
  const body = parse(signalBody, jsonBody(event), 'body');
  if (!caller.canAct) throw new ForbiddenError(`${caller.name} may only read: signals need the operators group`, 'signal');
  const kind = CONSOLE_SIGNALS[body.signal];
  const store = executionStore();
  try {
    const { eventBridgeDispatch } = await import('@opsauto/aws/runbooks/engine-adapters.js');
    await sendOperatorSignal(id, kind, { approver: caller.identity, comment: body.comment }, { store, dispatch: eventBridgeDispatch(clients, requireEnv('EVENT_BUS_NAME')), now: () => systemClock.now() });
  } catch (e) {
    // The execution cannot take the signal now (ended, not at that step, already decided): a conflict, not bad input.
    if (e instanceof ValidationError) throw new ConflictError(e.message);
    throw e;
  }
  logger.info('console signal sent', { executionId: id, signal: body.signal, by: caller.identity });
  return { executionId: id, signal: body.signal };
}

let accounts: AccountClients | undefined;

/** The scan runs the findings read (newest first): the history's days, and the savings summed over them. */
const FINDINGS_RUNS = 100;

async function findings(ownAccount: string, page: PageQuery) {
  const config = loadConfig();
  const tableName = requireEnv('TABLE_NAME');
  // EC2 and OpsCenter's SSM client are loaded by the routes that call them: the others start without them.
  const [{ AccountClients }, { staleVolumeAdapters }] = await Promise.all([import('@opsauto/aws/ebs/account-clients.js'), import('@opsauto/aws/ebs/adapters.js')]);
  accounts ??= new AccountClients(clients, { ownAccount, roles: config.staleVolumes.accounts, now: () => systemClock.now().getTime() });
  const adapters = staleVolumeAdapters(accounts, clients, tableName, systemClock);
  const at = systemClock.now();
  // Every tracked volume, read once: the history needs them all, the list only the stale ones.
  const all = await staleVolumeFindings({ config, ...adapters }, ownAccount, at, true);
  const found = all.filter((f) => isStale(f.record, at, config.staleVolumes.thresholdDays));
  const volumes = found.map((f) => ({
    volumeId: f.record.volumeId,
    accountId: f.record.account,
    region: f.record.region,
    sizeGiB: f.volume?.sizeGiB ?? 0,
    volumeType: f.volume?.type ?? '',
    state: f.volume?.state ?? 'gone',
    daysUnattached: f.daysUnattached,
    monthlyCostUsd: f.monthlyCostUsd,
    unattachedSince: f.record.unattachedSince,
    ...(f.record.opsItemId ? { opsItemId: f.record.opsItemId } : {}),
    ...(f.volume?.tags.Name ? { name: f.volume.tags.Name } : {}),
  }));
  const runs = await adapters.store.listRuns(FINDINGS_RUNS);
  const history = findingsHistory(runs, all.map((f) => ({ volumeId: f.record.volumeId, unattachedSince: f.record.unattachedSince, monthlyCostUsd: f.monthlyCostUsd })), config.staleVolumes.thresholdDays);
  // Most expensive first, then by account, region and ID: a stable order for the pages.
  volumes.sort((a, b) => b.monthlyCostUsd - a.monthlyCostUsd || a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region) || a.volumeId.localeCompare(b.volumeId));
  const shown = pageOf(volumes, page, (v) => `${v.accountId}/${v.region}/${v.volumeId}`);
  return { volumes: shown.items, ...(shown.nextToken ? { volumesNextToken: shown.nextToken } : {}), totals: findingsTotals(volumes, remediatedSavings(runs)), history };
}

async function images() {
  const store = new DynamoPublicationStore(clients, requireEnv('TABLE_NAME'));
  const heads = await store.listHeads();
  const families = new Map<string, Awaited<ReturnType<typeof imageRegionView>>[]>();
  for (const head of heads.sort((a, b) => a.family.localeCompare(b.family) || a.region.localeCompare(b.region))) {
    const history = await store.history(head.region, head.family, 50);
    const regions = families.get(head.family) ?? [];
    regions.push(imageRegionView(head, history, head.region, head.parameterName));
    families.set(head.family, regions);
  }
  return { families: [...families.entries()].map(([family, regions]) => ({ family, regions })) };
}

async function parameters(days: number, page: PageQuery) {
  const config = loadConfig();
  const from = systemClock.now();
  const to = new Date(from.getTime() + days * 86_400_000);
  const { SsmParameterCatalog } = await import('@opsauto/aws/params/ssm-parameter-catalog.js');
  const rows = await expiringParameters(new SsmParameterCatalog(clients), config.parameterExpiry, from, to.getTime() - from.getTime());
  const notices = await new DynamoNoticeStore(clients, requireEnv('TABLE_NAME')).list({ limit: 200 });
  const calendar = parameterCalendar(rows, notices, from, to);
  const shown = pageOf(calendar.deadlines, page, (d) => `${d.at}#${d.name}#${d.kind}`);
  return { ...calendar, deadlines: shown.items, ...(shown.nextToken ? { deadlinesNextToken: shown.nextToken } : {}) };
}

async function activations(page: PageQuery) {
  const tableName = requireEnv('TABLE_NAME');
  const tokens = await new DynamoTokenStore(clients, tableName).list();
  const issuances = await new DynamoIssuanceStore(clients, tableName).list({ limit: 200 });
  const view = activationsView(tokens, issuances);
  const shown = pageOf(view.issuances, page, (i) => i.activationId);
  return { ...view, issuances: shown.items, ...(shown.nextToken ? { issuancesNextToken: shown.nextToken } : {}) };
}

/**
 * The console's read-only JSON API and its buttons (docs/console-api.md). Behind the HTTP API's JWT authorizer in
 * AWS (Cognito groups `operators` and `readers`); on the local stage, on loopback with no authorizer, the caller is
 * an operator named by OPSAUTO_IDENTITY. Every route answers JSON; bad input a 400 naming the field.
 */
export const handler = httpHandler(async (event, context) => {
  try {
    return await route(event, context.invokedFunctionArn);
  } catch (e) {
    // The status httpHandler would give, with the contract's error codes (NotFound, Forbidden, …) rather than the
    // classes' names; anything else is httpHandler's 500.
    const status = httpStatusOf(e);
    const code = CONTRACT_CODES[status];
    if (!code) throw e;
    const field = (e as { field?: string }).field;
    return json(status, { error: code, message: (e as Error).message, ...(field ? { field } : {}) });
  }
});

async function route(event: APIGatewayProxyEventV2, functionArn: string) {
  const accountId = await ownAccountId(clients, functionArn);
  const caller = consoleCaller(event, accountId, requireEnv('TABLE_NAME'));
  const query = event.queryStringParameters ?? {};
  const id = event.pathParameters?.id;
  switch (event.routeKey) {
    case 'GET /api/now':
      parse(noQuery, query, 'query');
      return json(200, await now(caller));
    case 'GET /api/executions': {
      const q = parse(executionsQuery, query, 'query');
      const page = await listExecutions(q);
      return json(200, { items: await withSteps(page.items, caller), ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
    }
    case 'GET /api/executions/{id}':
      parse(noQuery, query, 'query');
      return json(200, await executionDetail(parse(executionId, id, 'path.id'), caller));
    case 'POST /api/executions/{id}/signal':
      return json(202, await signal(parse(executionId, id, 'path.id'), event, caller));
    case 'GET /api/findings':
      return json(200, await findings(accountId, parse(pagedQuery, query, 'query')));
    case 'GET /api/images':
      parse(noQuery, query, 'query');
      return json(200, await images());
    case 'GET /api/parameters': {
      const { days, ...page } = parse(parametersQuery, query, 'query');
      return json(200, await parameters(Number(days ?? 30), page));
    }
    case 'GET /api/activations':
      return json(200, await activations(parse(pagedQuery, query, 'query')));
    default:
      throw new NotFoundError(`no route ${excerpt(event.routeKey ?? '')}`);
  }
}
