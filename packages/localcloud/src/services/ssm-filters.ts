/**
 * Parameter Store's ParameterFilters, as DescribeParameters and GetParametersByPath check and apply them.
 */
import { AwsError, validation } from '../errors.js';
import { DATA_TYPES, latest, NAME_CHARS, PARAMETER_TYPES, type ParameterRecord } from './ssm-parameters.js';

export interface StringFilter {
  Key?: string;
  Option?: string;
  Values?: string[];
}

const FILTER_KEY = /^(tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType)$/;

/**
 * Checks ParameterFilters as DescribeParameters (`forPath` false) or GetParametersByPath (`forPath` true)
 * take them, and returns a predicate over parameters.
 */
export function parameterFilter(filters: StringFilter[] | undefined, forPath: boolean): (p: ParameterRecord) => boolean {
  const seen = new Set<string>();
  const checks = (filters ?? []).map((f, index) => {
    const key = f.Key ?? '';
    if (!FILTER_KEY.test(key) || key.length > 132) {
      throw validation(
        `1 validation error detected: Value '${key}' at 'parameterFilters.${index + 1}.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType`,
      );
    }
    if (!forPath && key === 'Label') {
      throw new AwsError('InvalidFilterKey', 'The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, Tier, DataType, tag].');
    }
    if (forPath && !['Type', 'KeyId', 'Label'].includes(key)) {
      throw new AwsError('InvalidFilterKey', `The following filter key is not valid: ${key}. Valid filter keys include: [Type, KeyId, Label].`);
    }
    if (seen.has(key)) throw new AwsError('InvalidFilterKey', `The following filter is duplicated in the request: ${key}. A request can contain only one occurrence of a specific filter.`);
    seen.add(key);
    const values = f.Values ?? [];
    const isTag = key.startsWith('tag:');
    if (values.length === 0 && !isTag) throw new AwsError('InvalidFilterValue', `The following filter values are missing : null for filter key ${key}.`);
    const option = f.Option ?? (key === 'Path' ? 'OneLevel' : 'Equals');
    const options = key === 'Path' ? ['Recursive', 'OneLevel'] : key === 'Name' ? ['Equals', 'BeginsWith', 'Contains'] : key === 'Label' ? ['Equals'] : ['Equals', 'BeginsWith'];
    if (!options.includes(option)) {
      throw new AwsError('InvalidFilterOption', `The following filter option is not valid: ${option}. Valid options include: [${options.join(', ')}].`);
    }
    const allowedValues: Record<string, readonly string[]> = { Type: PARAMETER_TYPES, Tier: ['Standard', 'Advanced', 'Intelligent-Tiering'], DataType: DATA_TYPES };
    const allowed = allowedValues[key];
    if (allowed) {
      for (const v of values) {
        if (!allowed.includes(v)) throw new AwsError('InvalidFilterValue', `The following filter value is not valid: ${v}. Valid values include: [${allowed.join(', ')}].`);
      }
    }
    if (key === 'Path') {
      for (const v of values) {
        if (!v.startsWith('/') || v.includes('//') || !NAME_CHARS.test(v)) {
          throw validation(`The parameter path ${v} doesn't meet the parameter name requirements. The path must begin with a forward slash "/".`);
        }
      }
    }
    const compare = (actual: string | undefined) =>
      actual !== undefined &&
      values.some((v) => (option === 'BeginsWith' ? actual.startsWith(v) : option === 'Contains' ? actual.includes(v) : actual === v));
    return (p: ParameterRecord): boolean => {
      const v = latest(p);
      if (isTag) {
        const tag = p.tags.find((t) => t.Key === key.slice(4));
        return tag !== undefined && (values.length === 0 || compare(tag.Value));
      }
      switch (key) {
        case 'Name':
          return compare(p.name);
        case 'Type':
          return compare(v.type);
        case 'KeyId':
          return compare(v.keyId);
        case 'Tier':
          // Intelligent-Tiering is how a parameter was asked for, not a tier it has.
          return compare(v.tier);
        case 'DataType':
          return compare(v.dataType);
        case 'Label':
          return p.versions.some((x) => x.labels.some((l) => values.includes(l)));
        case 'Path':
          return values.some((path) => underPath(p.name, path, option === 'Recursive'));
        default:
          return false;
      }
    };
  });
  return (p) => checks.every((check) => check(p));
}

/** Whether `name` sits under `path`: directly (one level) or anywhere below (recursive). */
export function underPath(name: string, path: string, recursive: boolean): boolean {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  if (!name.startsWith(prefix)) return false;
  return recursive || !name.slice(prefix.length).includes('/');
}
