import { AwsError } from '../errors.js';

/**
 * Decodes the form bodies of the EC2 and query protocols into a value tree: `Filter.1.Value.2=x` becomes
 * `{ Filter: [{ Value: [, 'x'] }] }` (arrays in order), and query's `Tags.member.1.Key` drops `member`.
 * Every leaf stays a string, as on the wire; operations convert.
 */
export type QueryTree = { [key: string]: QueryValue };
export type QueryValue = string | QueryValue[] | QueryTree;

export function decodeQuery(body: string): { action: string; input: QueryTree } {
  const params = new URLSearchParams(body);
  const root: QueryTree = {};
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let node: QueryTree = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else node = (node[part] ??= {}) as QueryTree;
    });
  }
  return { action: params.get('Action') ?? '', input: normalize(root) as QueryTree };
}

function normalize(value: QueryValue): QueryValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'member' || keys[0] === 'entry')) return normalize(value[keys[0]]);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => normalize(value[String(k)]));
  }
  const out: QueryTree = {};
  for (const k of keys) out[k] = normalize(value[k]);
  return out;
}

/** A string parameter, or undefined when absent. */
export function optionalString(input: QueryTree, name: string): string | undefined {
  const v = input[name];
  return typeof v === 'string' ? v : undefined;
}

/** A string parameter that must be there and not empty (`MissingParameter`, as the query services answer). */
export function requiredString(input: QueryTree, name: string): string {
  const v = optionalString(input, name);
  if (v === undefined || v === '') throw new AwsError('MissingParameter', `The request must contain the parameter ${name}`);
  return v;
}

/** A boolean parameter (`true`, anything else false), or undefined when absent. */
export function optionalBool(input: QueryTree, name: string): boolean | undefined {
  const v = optionalString(input, name);
  return v === undefined ? undefined : v === 'true';
}

/** A list parameter that may be absent, a single value, or a list. */
export function list<T extends QueryValue>(value: QueryValue | undefined): T[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]) as T[];
}
