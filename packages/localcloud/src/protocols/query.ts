import { AwsError } from '../errors.js';

export type QueryTree = { [key: string]: QueryValue };
export type QueryValue = string | QueryValue[] | QueryTree;

/**
 * The deepest key the emulated operations read is five parts (`TagSpecification.1.Tag.1.Key`); a little room
 * above that, and no more, so that a hostile key cannot make the decoder (or what reads its tree) recurse deeply.
 */
export const MAX_KEY_PARTS = 12;
/** More parameters than any emulated operation takes in one call (EC2 filters and id lists included). */
export const MAX_PARAMETERS = 5000;
/** Highest list index accepted (`Filter.N`): far above what AWS accepts per list. */
export const MAX_LIST_INDEX = 10_000;

/** A key excerpt safe to quote in an error message: bounded, and only printable ASCII. */
export function excerpt(text: string, max = 60): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

const malformed = (why: string) => new AwsError('MalformedQueryString', `The query string is malformed: ${why}`);

/** A tree node whose keys are data: no prototype, so `__proto__` or `constructor` are plain keys. */
const node = (): QueryTree => Object.create(null) as QueryTree;

/**
 * Decodes the form bodies of the EC2 and query protocols into a value tree: `Filter.1.Value.2=x` becomes
 * `{ Filter: [{ Value: [, 'x'] }] }` (arrays in order), and query's `Tags.member.1.Key` drops `member`.
 * Every leaf stays a string, as on the wire; operations convert.
 * Keys are data (every node has no prototype); a body no query service would send is `MalformedQueryString`.
 */
export function decodeQuery(body: string): { action: string; input: QueryTree } {
  const params = new URLSearchParams(body);
  const root = node();
  let count = 0;
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    if (++count > MAX_PARAMETERS) throw malformed(`more than ${MAX_PARAMETERS} parameters`);
    const parts = key.split('.');
    if (parts.length > MAX_KEY_PARTS) throw malformed(`the key ${excerpt(key)} has more than ${MAX_KEY_PARTS} parts`);
    if (parts.some((p) => p === '')) throw malformed(`the key ${excerpt(key)} has an empty part`);
    if (parts.some((p) => /^\d+$/.test(p) && Number(p) > MAX_LIST_INDEX)) throw malformed(`the key ${excerpt(key)} has a list index above ${MAX_LIST_INDEX}`);
    let at: QueryTree = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const existing = at[parts[i]];
      if (existing === undefined) at = at[parts[i]] = node();
      else if (typeof existing === 'string') throw malformed(`the key ${excerpt(key)} nests under ${excerpt(parts.slice(0, i + 1).join('.'))}, which has a value of its own`);
      else at = existing as QueryTree;
    }
    const last = parts[parts.length - 1];
    if (at[last] !== undefined && typeof at[last] !== 'string') throw malformed(`the key ${excerpt(key)} has a value and nested keys`);
    at[last] = value;
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
  const out = node();
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
