/**
 * OpsCenter: CreateOpsItem (with AWS's deduplication by `/aws/dedup`, the reserved `/aws/resources` and
 * `/aws/automations` keys, and a per-region limit of open items), GetOpsItem, UpdateOpsItem and DescribeOpsItems,
 * with the `OpsItem Create` / `OpsItem Update` events on the bus.
 *
 * Deduplication follows the user guide ("Working with deduplication strings"): an Open or InProgress item whose
 * dedup string matches case-insensitively, and whose `/aws/resources` are the same, blocks a new item with
 * OpsItemAlreadyExistsException carrying the existing OpsItemId; a Resolved one does not; a dedup string can't be
 * changed once the item exists.
 */
import { AwsError, validation } from '../errors.js';
import { pageAfter, randomId } from './filters.js';
import { AwsErrorWithMembers } from './ssm-errors.js';
import { opsItemFilter, type OpsItemFilter } from './ssm-opsitem-filters.js';
import {
  checkDataSize,
  dedupKey,
  DEFAULT_OPEN_OPSITEM_LIMIT,
  EMULATED_TYPES,
  idList,
  invalidParameter,
  OPEN,
  opsCenterState,
  opsItemArn,
  operationalData,
  OPS_ITEM_ID,
  priority,
  requiredText,
  searchable,
  status,
  text,
  timestamp,
  type OpsItemRecord,
} from './ssm-opsitem-model.js';
import { invalidNextToken, maxResults } from './ssm-paging.js';
import { checkTagCount, validateTags } from './ssm-tag-rules.js';
import type { Operation, RequestContext } from './types.js';

export { DEFAULT_OPEN_OPSITEM_LIMIT, opsCenterState, setOpenOpsItemLimit } from './ssm-opsitem-model.js';

// --- answers and events --------------------------------------------------------------------------------------

function times(item: OpsItemRecord): Record<string, Date> {
  const out: Record<string, Date> = {};
  if (item.actualStartTime !== undefined) out.ActualStartTime = new Date(item.actualStartTime);
  if (item.actualEndTime !== undefined) out.ActualEndTime = new Date(item.actualEndTime);
  if (item.plannedStartTime !== undefined) out.PlannedStartTime = new Date(item.plannedStartTime);
  if (item.plannedEndTime !== undefined) out.PlannedEndTime = new Date(item.plannedEndTime);
  return out;
}

function opsItemOut(ctx: RequestContext, item: OpsItemRecord) {
  return {
    CreatedBy: item.createdBy,
    OpsItemType: item.opsItemType,
    CreatedTime: new Date(item.createdTime),
    Description: item.description,
    LastModifiedBy: item.lastModifiedBy,
    LastModifiedTime: new Date(item.lastModifiedTime),
    Notifications: item.notifications,
    ...(item.priority !== undefined ? { Priority: item.priority } : {}),
    RelatedOpsItems: item.relatedOpsItems,
    Status: item.status,
    OpsItemId: item.opsItemId,
    Version: String(item.version),
    Title: item.title,
    Source: item.source,
    OperationalData: item.operationalData,
    ...(item.category !== undefined ? { Category: item.category } : {}),
    ...(item.severity !== undefined ? { Severity: item.severity } : {}),
    ...times(item),
    OpsItemArn: opsItemArn(ctx.region, ctx.account, item.opsItemId),
  };
}


function summaryOut(item: OpsItemRecord) {
  return {
    CreatedBy: item.createdBy,
    CreatedTime: new Date(item.createdTime),
    LastModifiedBy: item.lastModifiedBy,
    LastModifiedTime: new Date(item.lastModifiedTime),
    ...(item.priority !== undefined ? { Priority: item.priority } : {}),
    Source: item.source,
    Status: item.status,
    OpsItemId: item.opsItemId,
    Title: item.title,
    OperationalData: searchable(item.operationalData),
    ...(item.category !== undefined ? { Category: item.category } : {}),
    ...(item.severity !== undefined ? { Severity: item.severity } : {}),
    OpsItemType: item.opsItemType,
    ...times(item),
  };
}

/** `OpsItem Create` / `OpsItem Update`, shaped as AWS's documented samples. */
function publishOpsItem(ctx: RequestContext, item: OpsItemRecord, kind: 'Create' | 'Update'): void {
  ctx.bus.publish({
    source: 'aws.ssm',
    detailType: `OpsItem ${kind}`,
    detail: {
      'created-by': item.createdBy,
      'created-time': new Date(item.createdTime).toISOString(),
      ...(kind === 'Update' ? { 'modified-by': item.lastModifiedBy, 'modified-time': new Date(item.lastModifiedTime).toISOString() } : {}),
      source: item.source,
      status: item.status,
      'ops-item-id': item.opsItemId,
      title: item.title,
      'ops-item-type': item.opsItemType,
      description: item.description,
    },
    resources: [opsItemArn(ctx.region, ctx.account, item.opsItemId)],
    account: ctx.account,
    region: ctx.region,
  });
}

function findItem(ctx: RequestContext, id: unknown): OpsItemRecord {
  if (typeof id !== 'string' || id === '') throw validation("1 validation error detected: Value null at 'opsItemId' failed to satisfy constraint: Member must not be null");
  if (!OPS_ITEM_ID.test(id)) throw validation(`1 validation error detected: Value '${id}' at 'opsItemId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(oi)-[0-9a-f]{12}$`);
  const item = opsCenterState(ctx.store, ctx.account, ctx.region).items[id];
  if (!item) throw new AwsError('OpsItemNotFoundException', `The specified OpsItem ID doesn't exist. Verify the ID and try again. (${id})`);
  return item;
}
// --- operations ----------------------------------------------------------------------------------------------

interface CreateOpsItemRequest {
  Title?: string;
  Description?: string;
  Source?: string;
  OpsItemType?: string;
  Priority?: number;
  Category?: string;
  Severity?: string;
  OperationalData?: Record<string, { Value?: string; Type?: string }>;
  Notifications?: { Arn?: string }[];
  RelatedOpsItems?: { OpsItemId?: string }[];
  Tags?: { Key?: string; Value?: string }[];
  ActualStartTime?: number;
  ActualEndTime?: number;
  PlannedStartTime?: number;
  PlannedEndTime?: number;
  AccountId?: string;
}

type UpdateOpsItemRequest = Omit<CreateOpsItemRequest, 'Source' | 'OpsItemType' | 'Tags' | 'AccountId'> & {
  OpsItemId?: string;
  OpsItemArn?: string;
  Status?: string;
  OperationalDataToDelete?: string[];
};

function createOpsItem(input: CreateOpsItemRequest, ctx: RequestContext) {
  const title = requiredText(input.Title, 'title', 1024);
  const description = requiredText(input.Description, 'description', 2048);
  const source = requiredText(input.Source, 'source', 128);
  if (/aws|amazon|amzn/i.test(source)) throw invalidParameter(['Source'], `The source name can't contain the strings aws, amazon or amzn (got ${source}).`);
  const opsItemType = input.OpsItemType ?? '/aws/issue';
  if (!EMULATED_TYPES.includes(opsItemType)) {
    throw invalidParameter(['OpsItemType'], `The OpsItem type ${opsItemType} is not supported here: localcloud emulates ${EMULATED_TYPES.join(' and ')}.`);
  }
  if (input.AccountId !== undefined && input.AccountId !== ctx.account) {
    throw invalidParameter(['AccountId'], `localcloud does not emulate cross-account OpsItems (AccountId ${input.AccountId}).`);
  }
  const data = operationalData(input.OperationalData);
  checkDataSize(data);
  const tags = validateTags(input.Tags);
  checkTagCount(tags);
  const now = ctx.clock.nowMs();
  const user = ctx.caller.arn;
  const item: OpsItemRecord = {
    opsItemId: randomId('oi-', 12),
    opsItemType,
    title,
    description,
    source,
    status: 'Open',
    operationalData: data,
    notifications: idList(input.Notifications, 'Arn'),
    relatedOpsItems: idList(input.RelatedOpsItems, 'OpsItemId'),
    tags,
    createdBy: user,
    createdTime: now,
    lastModifiedBy: user,
    lastModifiedTime: now,
    version: 1,
  };
  const p = priority(input.Priority);
  if (p !== undefined) item.priority = p;
  const category = text(input.Category, 'category', 64);
  if (category !== undefined) item.category = category;
  const severity = text(input.Severity, 'severity', 64);
  if (severity !== undefined) item.severity = severity;
  setTimes(item, input);

  const state = opsCenterState(ctx.store, ctx.account, ctx.region);
  const open = Object.values(state.items).filter((i) => OPEN.includes(i.status));
  const key = dedupKey(data);
  const duplicate = key === undefined ? undefined : open.find((i) => dedupKey(i.operationalData) === key);
  if (duplicate) {
    throw new AwsErrorWithMembers('OpsItemAlreadyExistsException', `The OpsItem already exists: ${duplicate.opsItemId} has the same deduplication string and is ${duplicate.status}.`, {
      OpsItemId: duplicate.opsItemId,
    });
  }
  const limit = state.openItemLimit ?? DEFAULT_OPEN_OPSITEM_LIMIT;
  if (open.length >= limit) {
    throw new AwsErrorWithMembers('OpsItemLimitExceededException', `The request caused OpsItems to exceed one or more quotas: the Region holds ${open.length} open OpsItems (limit ${limit}).`, {
      ResourceTypes: ['OpsItem'],
      Limit: limit,
      LimitType: 'OpenOpsItems',
    });
  }
  state.items[item.opsItemId] = item;
  publishOpsItem(ctx, item, 'Create');
  return { OpsItemId: item.opsItemId, OpsItemArn: opsItemArn(ctx.region, ctx.account, item.opsItemId) };
}

function setTimes(item: OpsItemRecord, input: Pick<CreateOpsItemRequest, 'ActualStartTime' | 'ActualEndTime' | 'PlannedStartTime' | 'PlannedEndTime'>): void {
  const fields = [
    ['ActualStartTime', 'actualStartTime'],
    ['ActualEndTime', 'actualEndTime'],
    ['PlannedStartTime', 'plannedStartTime'],
    ['PlannedEndTime', 'plannedEndTime'],
  ] as const;
  for (const [wire, field] of fields) {
    const ms = timestamp(input[wire], wire.charAt(0).toLowerCase() + wire.slice(1));
    if (ms !== undefined) item[field] = ms;
  }
}

function updateOpsItem(input: UpdateOpsItemRequest, ctx: RequestContext) {
  const item = findItem(ctx, input.OpsItemId);
  const title = text(input.Title, 'title', 1024);
  const description = text(input.Description, 'description', 2048);
  const newStatus = status(input.Status, item.opsItemType);
  const p = priority(input.Priority);
  const category = text(input.Category, 'category', 64);
  const severity = text(input.Severity, 'severity', 64);
  const changes = operationalData(input.OperationalData);
  const toDelete = input.OperationalDataToDelete ?? [];
  const dedup = item.operationalData['/aws/dedup'];
  if (('/aws/dedup' in changes && changes['/aws/dedup'].Value !== dedup?.Value) || (dedup && toDelete.includes('/aws/dedup'))) {
    throw invalidParameter(['/aws/dedup'], "An OpsItem's deduplication string can't be changed after the OpsItem is created.");
  }
  const data = { ...item.operationalData, ...changes };
  for (const key of toDelete) delete data[key];
  checkDataSize(data);

  item.operationalData = data;
  if (title !== undefined) item.title = title;
  if (description !== undefined) item.description = description;
  if (newStatus !== undefined) item.status = newStatus;
  if (p !== undefined) item.priority = p;
  if (category !== undefined) item.category = category;
  if (severity !== undefined) item.severity = severity;
  if (input.Notifications !== undefined) item.notifications = idList(input.Notifications, 'Arn');
  if (input.RelatedOpsItems !== undefined) item.relatedOpsItems = idList(input.RelatedOpsItems, 'OpsItemId');
  setTimes(item, input);
  item.lastModifiedBy = ctx.caller.arn;
  item.lastModifiedTime = ctx.clock.nowMs();
  item.version++;
  publishOpsItem(ctx, item, 'Update');
  return {};
}

function describeOpsItems(input: { OpsItemFilters?: OpsItemFilter[]; MaxResults?: number; NextToken?: string }, ctx: RequestContext) {
  const limit = maxResults(input.MaxResults, 50, 50);
  const checks = (input.OpsItemFilters ?? []).map((f, i) => opsItemFilter(f, i, ctx.account));
  // Newest first, as OpsCenter lists them; ids break ties so that pages are stable.
  const items = Object.values(opsCenterState(ctx.store, ctx.account, ctx.region).items)
    .filter((item) => checks.every((check) => check(item)))
    .sort((a, b) => b.createdTime - a.createdTime || (a.opsItemId < b.opsItemId ? -1 : 1));
  const { page, nextToken } = pageAfter(items, (i) => i.opsItemId, limit, input.NextToken, invalidNextToken);
  return { OpsItemSummaries: page.map(summaryOut), ...(nextToken ? { NextToken: nextToken } : {}) };
}

export const opsItemOperations: Record<string, Operation> = {
  CreateOpsItem: createOpsItem,
  GetOpsItem(input: { OpsItemId?: string; OpsItemArn?: string }, ctx: RequestContext) {
    return { OpsItem: opsItemOut(ctx, findItem(ctx, input.OpsItemId)) };
  },
  UpdateOpsItem: updateOpsItem,
  DescribeOpsItems: describeOpsItems,
};
