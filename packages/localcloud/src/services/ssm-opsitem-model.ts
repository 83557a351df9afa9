/**
 * OpsCenter's persisted state and AWS's rules for OpsItem fields: lengths, priority, statuses, timestamps, and the
 * OperationalData keys (the reserved `/aws/dedup`, `/aws/resources`, `/aws/automations` and their JSON shapes).
 */
import { validation } from '../errors.js';
import type { Store } from '../store.js';
import type { Tag } from './filters.js';
import { AwsErrorWithMembers } from './ssm-errors.js';

/** A request value as an error message quotes it (JSON for anything that is not a string). */
const shown = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export const OPSCENTER_SERVICE = 'ssm.opscenter';

/**
 * Open (Open or InProgress) items a region may hold before CreateOpsItem answers OpsItemLimitExceededException.
 * AWS's quota is 500,000 OpsItems per account and Region; set a small limit with `setOpenOpsItemLimit` to test.
 */
export const DEFAULT_OPEN_OPSITEM_LIMIT = 500_000;

const ISSUE_STATUSES = ['Open', 'InProgress', 'Resolved'];
// Every OpsItemStatus of the API; the others belong to change requests, which are not emulated.
const ALL_STATUSES = [
  ...ISSUE_STATUSES,
  'Pending', 'TimedOut', 'Cancelling', 'Cancelled', 'Failed', 'CompletedWithSuccess', 'CompletedWithFailure', 'Scheduled', 'RunbookInProgress',
  'PendingChangeCalendarOverride', 'ChangeCalendarOverrideApproved', 'ChangeCalendarOverrideRejected', 'PendingApproval', 'Approved', 'Revoked', 'Rejected', 'Closed',
];
export const EMULATED_TYPES = ['/aws/issue', '/aws/insight'];
export const OPEN = ['Open', 'InProgress'];
const MAX_OPERATIONAL_DATA = 20 * 1024;
export const OPS_ITEM_ID = /^(oi)-[0-9a-f]{12}$/;

export interface OpsItemDataValue {
  Value: string;
  Type: 'SearchableString' | 'String';
}

export interface OpsItemRecord {
  opsItemId: string;
  opsItemType: string;
  title: string;
  description: string;
  source: string;
  status: string;
  priority?: number;
  category?: string;
  severity?: string;
  operationalData: Record<string, OpsItemDataValue>;
  notifications: { Arn: string }[];
  relatedOpsItems: { OpsItemId: string }[];
  tags: Tag[];
  createdBy: string;
  /** Epoch ms (virtual time), as every time here. */
  createdTime: number;
  lastModifiedBy: string;
  lastModifiedTime: number;
  /** Incremented by each update (AWS answers it as a string). */
  version: number;
  actualStartTime?: number;
  actualEndTime?: number;
  plannedStartTime?: number;
  plannedEndTime?: number;
}

/** Plain JSON, persisted by the store; `items` keeps creation order. */
export interface OpsCenterState {
  items: Record<string, OpsItemRecord>;
  openItemLimit?: number;
}

export function opsCenterState(store: Store, account: string, region: string): OpsCenterState {
  return store.scope<OpsCenterState>(OPSCENTER_SERVICE, account, region, () => ({ items: {} }));
}

/**
 * Sets how many open items the region may hold (undefined restores DEFAULT_OPEN_OPSITEM_LIMIT). For tests and
 * for a stage that wants to see the limit: `setOpenOpsItemLimit(cloud.store, '000000000000', 'us-east-1', 3)`.
 */
export function setOpenOpsItemLimit(store: Store, account: string, region: string, limit: number | undefined): void {
  const state = opsCenterState(store, account, region);
  if (limit === undefined) delete state.openItemLimit;
  else state.openItemLimit = limit;
  store.changed();
}

export const opsItemArn = (region: string, account: string, id: string) => `arn:aws:ssm:${region}:${account}:opsitem/${id}`;

// --- validation ----------------------------------------------------------------------------------------------

export const invalidParameter = (names: string[], message: string) => new AwsErrorWithMembers('OpsItemInvalidParameterException', message, { ParameterNames: names });

export function requiredText(value: unknown, field: string, max: number): string {
  if (value === undefined || value === null) throw validation(`1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  return text(value, field, max) as string;
}

export function text(value: unknown, field: string, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length < 1 || value.length > max) {
    throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max} and greater than or equal to 1`);
  }
  if (value.trim() === '') throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!\\s*$).+`);
  return value;
}

export function priority(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 5) {
    throw validation(`1 validation error detected: Value '${shown(value)}' at 'priority' failed to satisfy constraint: Member must have value less than or equal to 5 and greater than or equal to 1`);
  }
  return value as number;
}

/** A timestamp member: epoch seconds on the awsJson wire (the SDK and the CLI send numbers). */
export function timestamp(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw validation(`1 validation error detected: Value '${shown(value)}' at '${field}' failed to satisfy constraint: Member must be a timestamp`);
  return ms;
}

export function status(value: unknown, opsItemType: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !ALL_STATUSES.includes(value)) {
    throw validation(`1 validation error detected: Value '${shown(value)}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [${ALL_STATUSES.join(', ')}]`);
  }
  if (!ISSUE_STATUSES.includes(value)) throw invalidParameter(['Status'], `The status ${value} is not valid for an OpsItem of type ${opsItemType}. Use Open, InProgress or Resolved.`);
  return value;
}

function parseJson(key: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw invalidParameter([key], `The value of ${key} must be JSON.`);
  }
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The reserved `/aws/*` keys a caller may set, and the JSON shape each must have. */
const RESERVED_KEYS: Record<string, (key: string, value: string) => void> = {
  '/aws/dedup': (key, value) => {
    const parsed = parseJson(key, value);
    if (!isObject(parsed) || typeof parsed.dedupString !== 'string' || parsed.dedupString.trim() === '') {
      throw invalidParameter([key], `The value of ${key} must be JSON like {"dedupString":"words to deduplicate on"}.`);
    }
  },
  '/aws/resources': (key, value) => {
    const parsed = parseJson(key, value);
    if (!Array.isArray(parsed) || !parsed.every((r) => isObject(r) && typeof r.arn === 'string')) {
      throw invalidParameter([key], `The value of ${key} must be a JSON array like [{"arn":"arn:aws:ec2:…"}].`);
    }
  },
  '/aws/automations': (key, value) => {
    const parsed = parseJson(key, value);
    if (!Array.isArray(parsed) || !parsed.every((a) => isObject(a) && typeof a.automationId === 'string' && typeof a.automationType === 'string')) {
      throw invalidParameter([key], `The value of ${key} must be a JSON array like [{"automationId":"AWS-RestartEC2Instance","automationType":"AWS::SSM::Automation"}].`);
    }
  },
};

/** Checks OperationalData as CreateOpsItem / UpdateOpsItem take it; returns it as stored. */
export function operationalData(input: unknown): Record<string, OpsItemDataValue> {
  if (input === undefined || input === null) return {};
  if (!isObject(input)) throw validation("1 validation error detected: Value at 'operationalData' failed to satisfy constraint: Member must be a map");
  const out: Record<string, OpsItemDataValue> = {};
  for (const [key, raw] of Object.entries(input)) {
    if (key.length < 1 || key.length > 128 || key.trim() === '') {
      throw validation(`1 validation error detected: Value '${key}' at 'operationalData' failed to satisfy constraint: Map keys must have length less than or equal to 128 and greater than or equal to 1`);
    }
    const entry = (isObject(raw) ? raw : {}) as { Value?: unknown; Type?: unknown };
    const type = entry.Type ?? 'String';
    if (type !== 'SearchableString' && type !== 'String') {
      throw validation(`1 validation error detected: Value '${shown(type)}' at 'operationalData.${key}.member.type' failed to satisfy constraint: Member must satisfy enum value set: [SearchableString, String]`);
    }
    const value = typeof entry.Value === 'string' ? entry.Value : '';
    const reserved = RESERVED_KEYS[key];
    if (reserved) reserved(key, value);
    else if (/^\/?(amazon|aws|amzn|ssm)/i.test(key)) {
      throw invalidParameter([key], `Operational data keys can't begin with amazon, aws, amzn, ssm, /amazon, /aws, /amzn or /ssm (got ${key}); the reserved keys you can set are ${Object.keys(RESERVED_KEYS).join(', ')}.`);
    }
    out[key] = { Value: value, Type: type };
  }
  return out;
}

export function checkDataSize(data: Record<string, OpsItemDataValue>): void {
  const size = Object.entries(data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.Value), 0);
  if (size > MAX_OPERATIONAL_DATA) throw invalidParameter(['OperationalData'], `OperationalData can hold up to 20 KB; this OpsItem's would hold ${size} bytes.`);
}

export function idList<T extends string>(list: unknown, member: T): Record<T, string>[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw validation(`1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must be a list`);
  return list.map((x) => {
    const id = isObject(x) ? x[member] : undefined;
    if (typeof id !== 'string' || id === '') throw validation(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
    return { [member]: id } as Record<T, string>;
  });
}

/** What makes two items duplicates: the dedup string (case-insensitive) and the resources they are about. */
export function dedupKey(data: Record<string, OpsItemDataValue>): string | undefined {
  const dedup = data['/aws/dedup'];
  if (!dedup) return undefined;
  const { dedupString } = JSON.parse(dedup.Value) as { dedupString: string };
  const resources = data['/aws/resources'] ? (JSON.parse(data['/aws/resources'].Value) as { arn: string }[]).map((r) => r.arn).sort() : [];
  return JSON.stringify([dedupString.toLowerCase(), resources]);
}

/** Only SearchableString data is visible to DescribeOpsItems (the user guide: "Searchable data means…"). */
export function searchable(data: Record<string, OpsItemDataValue>): Record<string, OpsItemDataValue> {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v.Type === 'SearchableString'));
}
