/**
 * Amazon EventBridge event pattern matching, dependency-free.
 *
 * Semantics follow the AWS EventBridge user guide
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html,
 *  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html,
 *  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html)
 * and, where the guide is silent, AWS's own matching engine (https://github.com/aws/event-ruler):
 *
 * - Every field named in the pattern must match (AND); the array under a field lists alternatives (OR).
 * - A nested pattern object descends into the event object with the same name.
 * - A leaf's event value may be an array: it matches when any element matches (arrays are flattened, also
 *   nested ones). When a nested pattern object meets an array of objects, all its fields must match within the
 *   same element ("array-consistent" matching), except for a pattern object made only of `{"exists": false}`
 *   leaves, which requires the field to be absent from every element.
 * - Only leaf values (string, number, boolean, null) count as "existing": an object or an empty array does not.
 * - Operators: exact values, prefix, suffix (both also with equals-ignore-case), equals-ignore-case,
 *   anything-but (value(s), prefix, suffix, equals-ignore-case, wildcard), numeric, exists, cidr, wildcard, $or.
 * - Numbers compare numerically (5 matches 5.0).
 *
 * A pattern is compiled on first use and cached by object identity: do not mutate a pattern after handing it in.
 */

export type EventPattern = { [field: string]: unknown };

/** Thrown for a malformed pattern; `code` is the name of the error the EventBridge API returns. */
export class InvalidEventPatternError extends Error {
  readonly code = 'InvalidEventPatternException';
  /** Where in the pattern the problem is, e.g. `detail.state[0]`; empty for the pattern itself. */
  readonly path: string;

  constructor(reason: string, path: readonly string[]) {
    const where = formatPath(path);
    super(`Event pattern is not valid. Reason: ${reason}${where ? ` (at ${where})` : ''}`);
    this.name = 'InvalidEventPatternError';
    this.path = where;
  }
}

/** Throws InvalidEventPatternError (code 'InvalidEventPatternException') with a clear message for a malformed pattern. */
export function validateEventPattern(pattern: unknown): asserts pattern is EventPattern {
  compilePattern(pattern);
}

/** True when the event (any JSON object: the full EventBridge envelope with source, detail-type, detail...) matches. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return matchObject(compilePattern(pattern), event);
}

// ---------------------------------------------------------------------------------------------------------------
// Compiled form

type Scalar = string | number | boolean | null;

/** One alternative inside a leaf array. */
type Alternative = { kind: 'exists'; exists: boolean } | { kind: 'test'; test: (value: Scalar) => boolean };

type PatternNode = { kind: 'object'; matcher: ObjectMatcher } | { kind: 'leaf'; alternatives: Alternative[] };

interface ObjectMatcher {
  fields: { key: string; node: PatternNode }[];
  /** Each entry is one `$or` array: at least one of its branches must match. */
  ors: ObjectMatcher[][];
  /** True when every leaf below is `{"exists": false}`: such a matcher must hold for every element of an array. */
  absenceOnly: boolean;
}

const compiled = new WeakMap<object, ObjectMatcher>();

function compilePattern(pattern: unknown): ObjectMatcher {
  if (isPlainObject(pattern)) {
    const cached = compiled.get(pattern);
    if (cached) return cached;
    const matcher = compileObject(pattern, [], false);
    compiled.set(pattern, matcher);
    return matcher;
  }
  throw new InvalidEventPatternError('the event pattern must be a JSON object', []);
}

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
  'wildcard',
]);

function compileObject(pattern: Record<string, unknown>, path: string[], insideOr: boolean): ObjectMatcher {
  const keys = Object.keys(pattern);
  if (keys.length === 0) fail('empty objects are not allowed', path);
  const matcher: ObjectMatcher = { fields: [], ors: [], absenceOnly: true };
  for (const key of keys) {
    const value = pattern[key];
    if (key === '$or') {
      const branches = compileOr(value, path);
      matcher.ors.push(branches);
      matcher.absenceOnly &&= branches.every((branch) => branch.absenceOnly);
      continue;
    }
    const fieldPath = [...path, key];
    if (insideOr && OPERATORS.has(key)) {
      fail(`"${key}" is a reserved keyword and cannot be used as a field name inside $or`, fieldPath);
    }
    let node: PatternNode;
    if (isPlainObject(value)) {
      const child = compileObject(value, fieldPath, insideOr);
      node = { kind: 'object', matcher: child };
      matcher.absenceOnly &&= child.absenceOnly;
    } else if (Array.isArray(value)) {
      const alternatives = compileLeaf(value, fieldPath);
      node = { kind: 'leaf', alternatives };
      matcher.absenceOnly &&= alternatives.every((alt) => alt.kind === 'exists' && !alt.exists);
    } else {
      fail(`"${key}" must be an object or an array of match values, got ${describe(value)}`, fieldPath);
    }
    matcher.fields.push({ key, node });
  }
  return matcher;
}

function compileOr(value: unknown, path: string[]): ObjectMatcher[] {
  if (!Array.isArray(value)) fail('$or must be an array of objects', [...path, '$or']);
  if (value.length < 2) fail('$or must contain at least 2 objects', [...path, '$or']);
  return value.map((branch, i) => {
    const branchPath = [...path, `$or[${i}]`];
    if (!isPlainObject(branch)) fail(`only objects are allowed in $or, got ${describe(branch)}`, branchPath);
    return compileObject(branch, branchPath, true);
  });
}

function compileLeaf(values: unknown[], path: string[]): Alternative[] {
  if (values.length === 0) fail('empty arrays are not allowed', path);
  return values.map((value, i) => {
    const valuePath = [...path.slice(0, -1), `${path.at(-1) ?? ''}[${i}]`];
    if (value === null || typeof value === 'string' || typeof value === 'boolean') {
      return { kind: 'test', test: (v) => v === value };
    }
    if (typeof value === 'number') {
      requireFinite(value, valuePath);
      return { kind: 'test', test: (v) => v === value };
    }
    if (isPlainObject(value)) return compileOperator(value, valuePath);
    return fail(`match values must be a string, number, boolean, null or an operator object, got ${describe(value)}`, valuePath);
  });
}

function compileOperator(expression: Record<string, unknown>, path: string[]): Alternative {
  const keys = Object.keys(expression);
  if (keys.length !== 1) {
    fail(`an operator object must have exactly one key, got ${keys.length === 0 ? 'none' : keys.join(', ')}`, path);
  }
  const operator = keys[0];
  const operand = expression[operator];
  const opPath = [...path, operator];
  switch (operator) {
    case 'prefix':
    case 'suffix': {
      const test = operator === 'prefix' ? startsWith : endsWith;
      if (typeof operand === 'string') return { kind: 'test', test: (v) => typeof v === 'string' && test(v, operand) };
      const folded = compileIgnoreCaseOperand(operand, opPath, operator);
      return { kind: 'test', test: (v) => typeof v === 'string' && test(v.toLowerCase(), folded) };
    }
    case 'equals-ignore-case': {
      if (typeof operand !== 'string') fail(`equals-ignore-case must be a string, got ${describe(operand)}`, opPath);
      const folded = operand.toLowerCase();
      return { kind: 'test', test: (v) => typeof v === 'string' && v.toLowerCase() === folded };
    }
    case 'wildcard': {
      if (typeof operand !== 'string') fail(`wildcard must be a string, got ${describe(operand)}`, opPath);
      const match = compileWildcard(operand, opPath);
      return { kind: 'test', test: (v) => typeof v === 'string' && match(v) };
    }
    case 'anything-but': {
      const excluded = compileAnythingBut(operand, opPath);
      return { kind: 'test', test: (v) => !excluded(v) };
    }
    case 'numeric': {
      const inRange = compileNumeric(operand, opPath);
      return { kind: 'test', test: (v) => typeof v === 'number' && inRange(v) };
    }
    case 'exists':
      if (typeof operand !== 'boolean') fail(`exists must be true or false, got ${describe(operand)}`, opPath);
      return { kind: 'exists', exists: operand };
    case 'cidr': {
      if (typeof operand !== 'string') fail(`cidr must be a string, got ${describe(operand)}`, opPath);
      const contains = compileCidr(operand, opPath);
      return { kind: 'test', test: (v) => typeof v === 'string' && contains(v) };
    }
    default:
      return fail(`unrecognized operator "${operator}"`, opPath);
  }
}

/** `{"prefix": {"equals-ignore-case": "EventB"}}` and the suffix form: returns the lower-cased operand. */
function compileIgnoreCaseOperand(operand: unknown, path: string[], operator: string): string {
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    const inner = operand['equals-ignore-case'];
    if (keys.length === 1 && typeof inner === 'string') return inner.toLowerCase();
  }
  return fail(`${operator} must be a string or {"equals-ignore-case": string}, got ${describe(operand)}`, path);
}

/** Returns a predicate that is true for the values anything-but excludes. */
function compileAnythingBut(operand: unknown, path: string[]): (value: Scalar) => boolean {
  if (typeof operand === 'string') return (v) => v === operand;
  if (typeof operand === 'number') {
    requireFinite(operand, path);
    return (v) => v === operand;
  }
  if (Array.isArray(operand)) {
    if (operand.length === 0) fail('anything-but list must not be empty', path);
    if (operand.every((x): x is string => typeof x === 'string')) {
      const excluded = new Set<Scalar>(operand);
      return (v) => excluded.has(v);
    }
    if (operand.every((x): x is number => typeof x === 'number')) {
      operand.forEach((x, i) => requireFinite(x, [...path, `[${i}]`]));
      const excluded = new Set<Scalar>(operand);
      return (v) => excluded.has(v);
    }
    return fail('anything-but list must contain only strings or only numbers', path);
  }
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    if (keys.length !== 1) fail('anything-but object must have exactly one key', path);
    const inner = keys[0];
    const value = operand[inner];
    const innerPath = [...path, inner];
    switch (inner) {
      case 'prefix':
      case 'suffix': {
        if (typeof value !== 'string' || value === '') {
          fail(`anything-but ${inner} must be a non-empty string, got ${describe(value)}`, innerPath);
        }
        const test = inner === 'prefix' ? startsWith : endsWith;
        return (v) => typeof v === 'string' && test(v, value);
      }
      case 'equals-ignore-case': {
        const list = stringOrStringList(value, innerPath, inner).map((s) => s.toLowerCase());
        return (v) => typeof v === 'string' && list.includes(v.toLowerCase());
      }
      case 'wildcard': {
        const matchers = stringOrStringList(value, innerPath, inner).map((s, i) =>
          compileWildcard(s, Array.isArray(value) ? [...innerPath, `[${i}]`] : innerPath),
        );
        return (v) => typeof v === 'string' && matchers.some((m) => m(v));
      }
      default:
        return fail(`unsupported anything-but operator "${inner}"`, innerPath);
    }
  }
  return fail(`anything-but must be a string, a number, a list of either, or an operator object, got ${describe(operand)}`, path);
}

function stringOrStringList(value: unknown, path: string[], operator: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((x): x is string => typeof x === 'string')) return value;
  return fail(`anything-but ${operator} must be a string or a non-empty list of strings, got ${describe(value)}`, path);
}

function compileNumeric(operand: unknown, path: string[]): (value: number) => boolean {
  if (!Array.isArray(operand)) fail(`numeric must be an array, got ${describe(operand)}`, path);
  const [op1, n1, op2, n2, ...rest] = operand as unknown[];
  const term = (op: unknown, n: unknown, allowed: readonly string[]): [string, number] => {
    if (typeof op !== 'string' || !allowed.includes(op)) {
      fail(`numeric operator must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describe(op)}`, path);
    }
    if (typeof n !== 'number') fail(`value after "${op}" must be a number, got ${describe(n)}`, path);
    requireFinite(n, path);
    return [op, n];
  };
  if (operand.length === 2) {
    const [op, n] = term(op1, n1, ['=', '>', '>=', '<', '<=']);
    return (v) => compare(v, op, n);
  }
  if (operand.length === 4 && rest.length === 0) {
    const [lowOp, low] = term(op1, n1, ['>', '>=']);
    const [highOp, high] = term(op2, n2, ['<', '<=']);
    if (!(low < high)) fail(`numeric range bottom (${low}) must be less than top (${high})`, path);
    return (v) => compare(v, lowOp, low) && compare(v, highOp, high);
  }
  return fail('numeric must be [operator, number] or [">" | ">=", number, "<" | "<=", number]', path);
}

function compare(value: number, op: string, bound: number): boolean {
  switch (op) {
    case '=':
      return value === bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    case '<':
      return value < bound;
    default:
      return value <= bound;
  }
}

/**
 * `*` matches any run of characters (including none); `\*` is a literal asterisk and `\\` a literal backslash.
 * Consecutive wildcards and any other escape are invalid (as in aws/event-ruler).
 */
function compileWildcard(pattern: string, path: string[]): (value: string) => boolean {
  const segments: string[] = [''];
  let previousWasWildcard = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next !== '*' && next !== '\\') {
        fail(`invalid escape in wildcard "${pattern}" at position ${i}: only \\* and \\\\ are allowed`, path);
      }
      segments[segments.length - 1] += next;
      i++;
      previousWasWildcard = false;
    } else if (ch === '*') {
      if (previousWasWildcard) fail(`consecutive wildcard characters in "${pattern}" at position ${i}`, path);
      segments.push('');
      previousWasWildcard = true;
    } else {
      segments[segments.length - 1] += ch;
      previousWasWildcard = false;
    }
  }
  if (segments.length === 1) {
    const literal = segments[0];
    return (value) => value === literal;
  }
  const first = segments[0];
  const last = segments.at(-1)!;
  const middle = segments.slice(1, -1);
  return (value) => {
    if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
    const end = value.length - last.length;
    let position = first.length;
    // Leftmost placement of each literal between wildcards is optimal for `*`-only globs.
    for (const segment of middle) {
      const index = value.indexOf(segment, position);
      if (index < 0 || index + segment.length > end) return false;
      position = index + segment.length;
    }
    return true;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// IP addresses

interface ParsedIp {
  version: 4 | 6;
  value: bigint;
}

function compileCidr(cidr: string, path: string[]): (value: string) => boolean {
  const slash = cidr.indexOf('/');
  const address = parseIp(slash < 0 ? cidr : cidr.slice(0, slash));
  const width = address?.version === 6 ? 128 : 32;
  const prefixText = slash < 0 ? String(width) : cidr.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!address || !(prefix >= 0 && prefix <= width)) {
    fail(`"${cidr}" is not a valid IPv4 or IPv6 CIDR block`, path);
  }
  const shift = BigInt(width - prefix);
  const network = address.value >> shift;
  return (value) => {
    const ip = parseIp(value);
    return ip !== undefined && ip.version === address.version && ip.value >> shift === network;
  };
}

function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { version: 4, value: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { version: 6, value: v6 };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

// ---------------------------------------------------------------------------------------------------------------
// Matching

function matchObject(matcher: ObjectMatcher, value: unknown): boolean {
  if (!Array.isArray(value)) return matchSingle(matcher, value);
  const elements = flattenArray(value);
  if (elements.length === 0) return matchSingle(matcher, undefined);
  return matcher.absenceOnly
    ? elements.every((element) => matchSingle(matcher, element))
    : elements.some((element) => matchSingle(matcher, element));
}

function matchSingle(matcher: ObjectMatcher, value: unknown): boolean {
  const object = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  for (const { key, node } of matcher.fields) {
    const child = object !== undefined && Object.hasOwn(object, key) ? object[key] : undefined;
    const ok = node.kind === 'object' ? matchObject(node.matcher, child) : matchLeaf(node.alternatives, child);
    if (!ok) return false;
  }
  return matcher.ors.every((branches) => branches.some((branch) => matchSingle(branch, value)));
}

function matchLeaf(alternatives: readonly Alternative[], value: unknown): boolean {
  const leaves = collectLeaves(value);
  return alternatives.some((alt) =>
    alt.kind === 'exists' ? alt.exists === (leaves.length > 0) : leaves.some((leaf) => alt.test(leaf)),
  );
}

/** The leaf (scalar) values at a position: arrays are flattened, objects are not leaves. */
function collectLeaves(value: unknown, out: Scalar[] = []): Scalar[] {
  if (Array.isArray(value)) {
    for (const element of value) collectLeaves(element, out);
  } else if (isScalar(value)) {
    out.push(value);
  }
  return out;
}

function flattenArray(values: readonly unknown[], out: unknown[] = []): unknown[] {
  for (const element of values) {
    if (Array.isArray(element)) flattenArray(element, out);
    else out.push(element);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function startsWith(value: string, prefix: string): boolean {
  return value.startsWith(prefix);
}

function endsWith(value: string, suffix: string): boolean {
  return value.endsWith(suffix);
}

function requireFinite(value: number, path: string[]): void {
  if (!Number.isFinite(value)) fail(`numbers must be finite, got ${value}`, path);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`;
  return String(value as number | bigint | boolean | null);
}

function formatPath(path: readonly string[]): string {
  return path.map((step, i) => (i === 0 || step.startsWith('[') ? step : `.${step}`)).join('');
}

function fail(reason: string, path: readonly string[]): never {
  throw new InvalidEventPatternError(reason, path);
}
