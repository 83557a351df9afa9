import { ValidationError } from '../errors.js';
import { compileAllowedPattern, type AllowedPattern } from './allowed-pattern.js';

/**
 * A runbook parameter as declared in a schemaVersion 0.3 document's `parameters` section: the fields that decide
 * what value an execution gets. Kept local and wide on purpose, so that the document model's own parameter type
 * (which carries description, displayType, …) is assignable to it.
 *
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-syntax-data-elements-parameters.html
 */
export interface ParameterSpec {
  /** String, StringList, Integer, Boolean, MapList, StringMap, an `AWS::…` type name, or `List<…>` of one. */
  type: string;
  default?: unknown;
  allowedValues?: readonly unknown[];
  /** A regular expression every String value (every item of a StringList) must match. */
  allowedPattern?: string;
  minItems?: number;
  maxItems?: number;
  minChars?: number;
  maxChars?: number;
}

/** The six value types Automation knows; `AWS::…` names are Strings and `List<…>` names StringLists. */
export type ParameterBaseType = 'String' | 'StringList' | 'Integer' | 'Boolean' | 'MapList' | 'StringMap';

export type ParameterMap = Record<string, unknown>;

/** A parameter value after coercion, typed by its declared parameter type. */
export type ParameterValue = string | number | boolean | string[] | ParameterMap | ParameterMap[];

/** One thing wrong with one parameter. */
export interface ParameterProblem {
  field: string;
  message: string;
}

/**
 * Parameter values that do not fit their declaration. Every problem is reported at once; `fields` names the
 * parameters concerned (and `field`, from {@link ValidationError}, the first of them).
 */
export class ParameterValueError extends ValidationError {
  override name = 'ParameterValueError';
  readonly fields: string[];

  constructor(readonly problems: ParameterProblem[]) {
    super(problems.map((p) => p.message).join('; '), problems[0]?.field);
    this.fields = [...new Set(problems.map((p) => p.field))];
  }
}

const BASE_TYPES: ReadonlySet<string> = new Set(['String', 'StringList', 'Integer', 'Boolean', 'MapList', 'StringMap']);

/**
 * The value type behind a declared parameter type, or undefined when the type is not one Automation accepts.
 *
 * @example
 * baseTypeOf('AWS::EC2::Instance::Id'); // 'String'
 * baseTypeOf('List<AWS::EC2::Instance::Id>'); // 'StringList'
 */
export function baseTypeOf(type: string): ParameterBaseType | undefined {
  if (BASE_TYPES.has(type)) return type as ParameterBaseType;
  if (/^List<AWS::[A-Za-z0-9]+(::[A-Za-z0-9]+)+>$/.test(type)) return 'StringList';
  if (/^AWS::[A-Za-z0-9]+(::[A-Za-z0-9]+)+$/.test(type)) return 'String';
  return undefined;
}

/**
 * Turns `--param K=V` assignments into the raw values {@link resolveParameters} takes. A key given more than once
 * collects its values into a list, as StartAutomationExecution's `Parameters` (a map of string lists) does.
 *
 * @example
 * parseParameterAssignments(['InstanceId=i-1', 'InstanceId=i-2', 'Note=a=b']);
 * // { InstanceId: ['i-1', 'i-2'], Note: 'a=b' }
 */
export function parseParameterAssignments(assignments: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const problems: ParameterProblem[] = [];
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    const key = eq < 0 ? '' : assignment.slice(0, eq).trim();
    if (!key) {
      problems.push({ field: assignment, message: `parameter assignment "${assignment}" is not of the form Name=Value` });
      continue;
    }
    const value = assignment.slice(eq + 1);
    const prior = out[key];
    out[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  if (problems.length) throw new ParameterValueError(problems);
  return out;
}

/**
 * The values an execution runs with: every declared parameter, from what was given or else its default, coerced to
 * its declared type and checked against allowedValues, allowedPattern, minItems/maxItems and minChars/maxChars.
 *
 * Given values may be CLI text (`"true"`, `"5"`, `"i-1,i-2"`, `'["a","b"]'`, `'{"K":"V"}'`), typed JSON values, or
 * StartAutomationExecution's one-element string lists. A parameter without a default that is not given, a given
 * parameter the document does not declare, and every value that does not fit are reported together in one
 * {@link ParameterValueError}. Defaults are the document author's and are only coerced here, not checked against the
 * constraints: checking a document belongs to its loader, and a default of `""` commonly means "not set" even where
 * the pattern is written for given values.
 *
 * @example
 * resolveParameters(
 *   { InstanceId: { type: 'StringList' }, Force: { type: 'Boolean', default: false } },
 *   { InstanceId: 'i-1,i-2' },
 * );
 * // { InstanceId: ['i-1', 'i-2'], Force: false }
 */
export function resolveParameters(declared: Record<string, ParameterSpec>, given: Record<string, unknown>): Record<string, ParameterValue> {
  const problems: ParameterProblem[] = [];
  const resolved: Record<string, ParameterValue> = {};

  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(declared, name)) problems.push({ field: name, message: `parameter ${name} is not declared by the document` });
  }

  for (const [name, spec] of Object.entries(declared)) {
    const base = baseTypeOf(spec.type);
    if (!base) {
      problems.push({ field: name, message: `parameter ${name} has unsupported type ${JSON.stringify(spec.type)}` });
      continue;
    }
    const isGiven = Object.hasOwn(given, name) && given[name] !== undefined;
    if (!isGiven && spec.default === undefined) {
      problems.push({ field: name, message: `parameter ${name} is required (it has no default) but was not given` });
      continue;
    }
    const coerced = coerce(base, isGiven ? given[name] : spec.default);
    if (!coerced.ok) {
      problems.push({ field: name, message: `parameter ${name} (${spec.type}) ${isGiven ? 'value' : 'default'} ${coerced.reason}` });
      continue;
    }
    const value = coerced.value;
    const failures = isGiven ? checkConstraints(base, spec, value) : [];
    if (failures.length) {
      for (const f of failures) problems.push({ field: name, message: `parameter ${name} ${f}` });
      continue;
    }
    resolved[name] = value;
  }

  if (problems.length) throw new ParameterValueError(problems);
  return resolved;
}

/**
 * One value coerced to one declared type, without constraint checks: for a single parameter outside a whole
 * execution (a child execution's input, a target parameter value).
 *
 * @example
 * coerceParameterValue('Count', { type: 'Integer' }, '3'); // 3
 */
export function coerceParameterValue(name: string, spec: ParameterSpec, raw: unknown): ParameterValue {
  const base = baseTypeOf(spec.type);
  if (!base) throw new ParameterValueError([{ field: name, message: `parameter ${name} has unsupported type ${JSON.stringify(spec.type)}` }]);
  const coerced = coerce(base, raw);
  if (!coerced.ok) throw new ParameterValueError([{ field: name, message: `parameter ${name} (${spec.type}) value ${coerced.reason}` }]);
  return coerced.value;
}

type Coerced = { ok: true; value: ParameterValue } | { ok: false; reason: string };

const ok = (value: ParameterValue): Coerced => ({ ok: true, value });
const fail = (reason: string): Coerced => ({ ok: false, reason });

function coerce(base: ParameterBaseType, raw: unknown): Coerced {
  // StartAutomationExecution passes every value as a list of strings: a one-element list is the value itself.
  if (base !== 'StringList' && base !== 'MapList' && Array.isArray(raw) && raw.length === 1 && typeof raw[0] === 'string') {
    raw = raw[0];
  }
  switch (base) {
    case 'String':
      return typeof raw === 'string' ? ok(raw) : fail(`must be a string, got ${describe(raw)}`);
    case 'Integer':
      return toInteger(raw);
    case 'Boolean':
      return toBoolean(raw);
    case 'StringList':
      return toStringList(raw);
    case 'StringMap':
      return toStringMap(raw);
    case 'MapList':
      return toMapList(raw);
  }
}

function toInteger(raw: unknown): Coerced {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? ok(raw) : fail(`must be a whole number, got ${raw}`);
  if (typeof raw === 'string' && /^\s*[-+]?\d+\s*$/.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? ok(n) : fail(`is out of range: ${raw.trim()}`);
  }
  return fail(`must be a whole number, got ${describe(raw)}`);
}

function toBoolean(raw: unknown): Coerced {
  if (typeof raw === 'boolean') return ok(raw);
  if (typeof raw === 'string') {
    const text = raw.trim().toLowerCase();
    if (text === 'true') return ok(true);
    if (text === 'false') return ok(false);
  }
  return fail(`must be true or false, got ${describe(raw)}`);
}

function toStringList(raw: unknown): Coerced {
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (text.startsWith('[')) {
      const parsed = parseJson(text);
      if (parsed === undefined) return fail(`is not a valid JSON array: ${text}`);
      return toStringList(parsed);
    }
    if (text === '') return ok([]);
    return ok(text.split(',').map((s) => s.trim()));
  }
  if (Array.isArray(raw)) {
    const items: unknown[] = raw;
    const bad = items.find((item) => typeof item !== 'string');
    return bad === undefined ? ok([...(items as string[])]) : fail(`must be a list of strings, found ${describe(bad)}`);
  }
  return fail(`must be a list of strings, got ${describe(raw)}`);
}

function toStringMap(raw: unknown): Coerced {
  if (typeof raw === 'string') {
    const parsed = parseJson(raw.trim());
    if (!isPlainObject(parsed)) return fail(`must be a JSON object, got ${JSON.stringify(raw)}`);
    return ok(parsed);
  }
  return isPlainObject(raw) ? ok(structuredClone(raw)) : fail(`must be a map, got ${describe(raw)}`);
}

function toMapList(raw: unknown): Coerced {
  if (typeof raw === 'string') {
    const parsed = parseJson(raw.trim());
    if (!Array.isArray(parsed)) return fail(`must be a JSON array of objects, got ${JSON.stringify(raw)}`);
    raw = parsed;
  } else if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) {
    // StartAutomationExecution's shape: each item one map as JSON text, or a single item holding the whole list.
    const parsed = raw.map((item: string) => parseJson(item.trim()));
    if (parsed.every(isPlainObject)) return ok(parsed);
    if (parsed.length === 1 && Array.isArray(parsed[0])) raw = parsed[0];
  }
  if (!Array.isArray(raw)) return fail(`must be a list of maps, got ${describe(raw)}`);
  const items: unknown[] = raw;
  const bad = items.find((item) => !isPlainObject(item));
  return bad === undefined ? ok(structuredClone(items as ParameterMap[])) : fail(`must be a list of maps, found ${describe(bad)}`);
}

function checkConstraints(base: ParameterBaseType, spec: ParameterSpec, value: ParameterValue): string[] {
  const failures: string[] = [];
  const strings = base === 'String' ? [value as string] : base === 'StringList' ? (value as string[]) : [];

  if (spec.allowedValues?.length) {
    const allowed = new Set(spec.allowedValues.map(canonical));
    const candidates = Array.isArray(value) ? value : [value];
    for (const candidate of candidates) {
      if (!allowed.has(canonical(candidate))) {
        failures.push(`value ${JSON.stringify(candidate)} is not one of the allowed values ${JSON.stringify(spec.allowedValues)}`);
      }
    }
  }

  if (spec.allowedPattern !== undefined) {
    let pattern: AllowedPattern | undefined;
    try {
      pattern = compileAllowedPattern(spec.allowedPattern);
    } catch (error) {
      failures.push(`has an allowedPattern this engine cannot evaluate (${(error as Error).message}): ${spec.allowedPattern}`);
    }
    if (pattern) for (const s of strings) if (!pattern.test(s)) failures.push(`value ${JSON.stringify(s)} does not match the allowed pattern ${spec.allowedPattern}`);
  }

  if (Array.isArray(value)) {
    if (spec.minItems !== undefined && value.length < spec.minItems) failures.push(`has ${value.length} item(s), fewer than minItems ${spec.minItems}`);
    if (spec.maxItems !== undefined && value.length > spec.maxItems) failures.push(`has ${value.length} item(s), more than maxItems ${spec.maxItems}`);
  }

  for (const s of strings) {
    if (spec.minChars !== undefined && s.length < spec.minChars) failures.push(`value ${JSON.stringify(s)} is shorter than minChars ${spec.minChars}`);
    if (spec.maxChars !== undefined && s.length > spec.maxChars) failures.push(`value ${JSON.stringify(s)} is longer than maxChars ${spec.maxChars}`);
  }
  return failures;
}

function canonical(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is ParameterMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list ${JSON.stringify(value)}`;
  if (typeof value === 'object') return `a map ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}
