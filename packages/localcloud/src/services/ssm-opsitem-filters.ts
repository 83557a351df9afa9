/**
 * DescribeOpsItems' OpsItemFilters: the keys and the operators each takes (per the API reference), as predicates
 * over stored items. Only SearchableString operational data can be searched, as the user guide says.
 */
import { validation } from '../errors.js';
import { isObject, searchable, type OpsItemDataValue, type OpsItemRecord } from './ssm-opsitem-model.js';

export interface OpsItemFilter {
  Key?: string;
  Values?: string[];
  Operator?: string;
}

const TIME_OPERATORS = ['GreaterThan', 'LessThan'];
/** The operators each filter key takes (DescribeOpsItems' API reference; Category, Severity and OpsItemType: Equal). */
const FILTER_OPERATORS: Record<string, string[]> = {
  Status: ['Equal'],
  CreatedBy: ['Equal'],
  Source: ['Equal', 'Contains'],
  Priority: ['Equal'],
  Title: ['Equal', 'Contains'],
  OpsItemId: ['Equal'],
  CreatedTime: TIME_OPERATORS,
  LastModifiedTime: TIME_OPERATORS,
  ActualStartTime: TIME_OPERATORS,
  ActualEndTime: TIME_OPERATORS,
  PlannedStartTime: TIME_OPERATORS,
  PlannedEndTime: TIME_OPERATORS,
  OperationalData: ['Equal'],
  OperationalDataKey: ['Equal'],
  OperationalDataValue: ['Equal', 'Contains'],
  ResourceId: ['Contains'],
  AutomationId: ['Equal'],
  Category: ['Equal'],
  Severity: ['Equal'],
  OpsItemType: ['Equal'],
  AccountId: ['Equal'],
};
const NOT_EMULATED_KEY = /^(AccessRequestBy|ChangeRequestBy|InsightByType)/;

function jsonArray<T>(data: OpsItemDataValue | undefined): T[] {
  return data ? (JSON.parse(data.Value) as T[]) : [];
}

export function opsItemFilter(filter: OpsItemFilter, index: number, account: string): (item: OpsItemRecord) => boolean {
  const key = filter.Key ?? '';
  const operator = filter.Operator ?? '';
  const values = filter.Values ?? [];
  const at = `opsItemFilters.${index + 1}.member`;
  if (NOT_EMULATED_KEY.test(key)) throw validation(`localcloud does not emulate the OpsItem filter key ${key} (change and access requests, insights).`);
  const operators = FILTER_OPERATORS[key];
  if (!operators) throw validation(`1 validation error detected: Value '${key}' at '${at}.key' failed to satisfy constraint: Member must satisfy enum value set: [${Object.keys(FILTER_OPERATORS).join(', ')}]`);
  if (!['Equal', 'Contains', 'GreaterThan', 'LessThan'].includes(operator)) {
    throw validation(`1 validation error detected: Value '${operator}' at '${at}.operator' failed to satisfy constraint: Member must satisfy enum value set: [Equal, Contains, GreaterThan, LessThan]`);
  }
  if (!operators.includes(operator)) throw validation(`The operator ${operator} is not valid for the filter key ${key}. Valid operators: ${operators.join(', ')}.`);
  if (values.length === 0) throw validation(`1 validation error detected: Value '[]' at '${at}.values' failed to satisfy constraint: Member must have length greater than or equal to 1`);
  const matches = (actual: string | undefined) => actual !== undefined && values.some((v) => (operator === 'Contains' ? actual.includes(v) : actual === v));
  const time = (field: keyof OpsItemRecord) => {
    const bounds = values.map((v) => {
      const ms = Date.parse(v);
      if (Number.isNaN(ms)) throw validation(`The value ${v} of the ${key} filter is not a date and time (use ISO-8601, e.g. 2026-01-31T00:00:00Z).`);
      return ms;
    });
    return (item: OpsItemRecord) => {
      const actual = item[field] as number | undefined;
      return actual !== undefined && bounds.some((b) => (operator === 'GreaterThan' ? actual > b : actual < b));
    };
  };
  switch (key) {
    case 'Status':
      return (item) => values.includes(item.status);
    case 'CreatedBy':
      return (item) => matches(item.createdBy);
    case 'Source':
      return (item) => matches(item.source);
    case 'Priority':
      return (item) => item.priority !== undefined && values.includes(String(item.priority));
    case 'Title':
      // "The Equals operator for Title matches the first 100 characters."
      if (values.some((v) => v.length > 100)) throw validation('The value of the Title filter exceeds the length limit of 100 characters.');
      return (item) => (operator === 'Equal' ? values.includes(item.title.slice(0, 100)) : matches(item.title));
    case 'OpsItemId':
      return (item) => values.includes(item.opsItemId);
    case 'CreatedTime':
      return time('createdTime');
    case 'LastModifiedTime':
      return time('lastModifiedTime');
    case 'ActualStartTime':
      return time('actualStartTime');
    case 'ActualEndTime':
      return time('actualEndTime');
    case 'PlannedStartTime':
      return time('plannedStartTime');
    case 'PlannedEndTime':
      return time('plannedEndTime');
    case 'OperationalData': {
      const pairs = values.map((v) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(v);
        } catch {
          parsed = undefined;
        }
        if (!isObject(parsed) || typeof parsed.key !== 'string' || typeof parsed.value !== 'string') {
          throw validation(`The value of an OperationalData filter must be JSON like {"key":"key_name","value":"a_value"} (got ${v}).`);
        }
        return { key: parsed.key, value: parsed.value };
      });
      return (item) =>
        pairs.some(({ key: k, value }) => {
          const data = searchable(item.operationalData)[k];
          if (!data) return false;
          if (data.Value === value) return true;
          // The dedup entry also matches its bare dedup string, compared as deduplication compares it.
          return k === '/aws/dedup' && (JSON.parse(data.Value) as { dedupString: string }).dedupString.toLowerCase() === value.toLowerCase();
        });
    }
    case 'OperationalDataKey':
      return (item) => Object.keys(searchable(item.operationalData)).some((k) => values.includes(k));
    case 'OperationalDataValue':
      return (item) => Object.values(searchable(item.operationalData)).some((v) => matches(v.Value));
    case 'ResourceId':
      return (item) => jsonArray<{ arn: string }>(item.operationalData['/aws/resources']).some((r) => values.some((v) => r.arn.includes(v)));
    case 'AutomationId':
      return (item) => jsonArray<{ automationId: string }>(item.operationalData['/aws/automations']).some((a) => values.includes(a.automationId));
    case 'Category':
      return (item) => item.category !== undefined && values.includes(item.category);
    case 'Severity':
      return (item) => item.severity !== undefined && values.includes(item.severity);
    case 'OpsItemType':
      return (item) => values.includes(item.opsItemType);
    default:
      return () => values.includes(account);
  }
}
