import { JSONPath } from 'jsonpath-plus';
import { FilterExpression } from './selector-filter.js';

/** The data types a step output can declare. */
export type OutputType = 'String' | 'Integer' | 'Boolean' | 'StringList' | 'StringMap' | 'MapList';

/** A step's declared output: `{ Name, Selector, Type }` as in aws:executeAwsApi's `outputs`. */
export interface OutputSpec {
  Name?: string;
  Selector: string;
  Type: string;
}

/** A selector that cannot be evaluated, or a selected value that does not fit the output's declared type. */
export class SelectorError extends Error {
  override name = 'SelectorError';
  constructor(
    message: string,
    readonly selector: string,
    readonly output?: string,
  ) {
    super(message);
  }
}

/**
 * A selector as JSONPath: AWS also accepts selectors written without the leading `$.` (`Attributes.KmsMasterKeyId`,
 * `Payload.result`), which mean the same as with it.
 *
 * @example
 * normalizeSelector('Payload.x'); // '$.Payload.x'
 * normalizeSelector('[0].Id'); // '$[0].Id'
 */
export function normalizeSelector(selector: string): string {
  const trimmed = selector.trim();
  if (trimmed.startsWith('$')) return trimmed;
  return trimmed.startsWith('[') ? `$${trimmed}` : `$.${trimmed}`;
}

/**
 * Why a selector cannot be used, or undefined when it can: empty, a script expression (`[(…)]`), or a filter
 * expression that does more than compare fields (see {@link FilterExpression}). Documents are checked with it when
 * they are loaded.
 *
 * @example
 * selectorProblem("$.Volumes[?(@.State=='available')].VolumeId"); // undefined
 * selectorProblem('$.Volumes[?(@.State.constructor("x"))]'); // 'filter … uses a function call, which is not allowed: …'
 */
export function selectorProblem(selector: unknown): string | undefined {
  if (typeof selector !== 'string' || selector.trim() === '') return 'must be a JSONPath selector (with or without $.)';
  const path = normalizeSelector(selector);
  if (/\[\s*\(/.test(path)) return `script expressions [(…)] are not allowed in selectors: ${selector}`;
  let parts: string[];
  try {
    parts = JSONPath.toPathArray(path);
  } catch (error) {
    return `is not a JSONPath: ${(error as Error).message}`;
  }
  for (const part of parts) {
    const filter = /^\?\((.*)\)$/s.exec(part);
    if (!filter) continue;
    try {
      // The same rewriting of @ that jsonpath-plus applies before it evaluates a filter.
      new FilterExpression((filter[1] ?? '').replaceAll('@root', '_$_root').replaceAll(/@([.\s)[])/gu, '_$_v$1'));
    } catch (error) {
      return (error as Error).message;
    }
  }
  return undefined;
}

/**
 * Every value a JSONPath selector matches in an API response, in document order. Supports what AWS documents for
 * Automation (`$.` children, or the same without `$.`, `..` deep scan, `[n]` indexes, `[*]`) and filter expressions
 * that compare fields (`$.Volumes[?(@.State=='available')].VolumeId`), evaluated by {@link FilterExpression}
 * without running code; script expressions `[(…)]` and filters that call anything are refused.
 *
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-aws-apis-calling.html
 *
 * @example
 * evaluateSelector({ Images: [{ ImageId: 'ami-1' }, { ImageId: 'ami-2' }] }, '$.Images..ImageId'); // ['ami-1', 'ami-2']
 * evaluateSelector({ Volumes: [{ VolumeId: 'vol-1', State: 'available' }] }, "Volumes[?(@.State=='available')].VolumeId"); // ['vol-1']
 */
export function evaluateSelector(response: unknown, selector: string): unknown[] {
  const problem = selectorProblem(selector);
  if (problem) throw new SelectorError(`selector ${JSON.stringify(selector)}: ${problem}`, String(selector));
  if (typeof response !== 'object' || response === null) return [];
  let matches: unknown;
  try {
    matches = JSONPath({ path: normalizeSelector(selector), json: response, wrap: true, eval: FilterExpression });
  } catch (err) {
    throw new SelectorError(`selector ${selector} cannot be evaluated: ${(err as Error).message}`, selector);
  }
  if (!Array.isArray(matches)) return [];
  const list: unknown[] = matches;
  return list.map((m) => (typeof m === 'object' && m !== null ? structuredClone(m) : m));
}

/**
 * A step output's value: its `Selector` applied to the response and the result coerced to its `Type`.
 * String, Integer, Boolean and StringMap take the first match; StringList and MapList take every match (or the
 * items of a single matched list). Numbers and booleans become text for String and StringList (booleans as
 * `True`/`False`, as AWS writes them); numeric text becomes an Integer, `true`/`false` a Boolean.
 * When nothing matches, the value is undefined for single values and `[]` for lists.
 *
 * @throws SelectorError when a matched value does not fit the type, or the type is not an output type.
 * @example
 * selectOutput(describeInstances, { Name: 'State', Selector: '$.Reservations[0].Instances[0].State.Name', Type: 'String' });
 * // 'running'
 */
export function selectOutput(response: unknown, output: OutputSpec): unknown {
  const matches = evaluateSelector(response, output.Selector);
  const fail = (what: string): never => {
    throw new SelectorError(`output ${output.Name ?? output.Selector} (${output.Type}): ${what}`, output.Selector, output.Name);
  };
  switch (output.Type) {
    case 'String': {
      if (matches.length === 0) return undefined;
      return scalarText(matches[0]) ?? fail(`selected ${describe(matches[0])}, not a string`);
    }
    case 'Integer': {
      if (matches.length === 0) return undefined;
      const first = matches[0];
      if (typeof first === 'number' && Number.isSafeInteger(first)) return first;
      if (typeof first === 'string' && /^\s*[-+]?\d+\s*$/.test(first)) return Number(first);
      return fail(`selected ${describe(first)}, not a whole number`);
    }
    case 'Boolean': {
      if (matches.length === 0) return undefined;
      const first = matches[0];
      if (typeof first === 'boolean') return first;
      if (typeof first === 'string' && /^(true|false)$/i.test(first.trim())) return first.trim().toLowerCase() === 'true';
      return fail(`selected ${describe(first)}, not a boolean`);
    }
    case 'StringList':
      return listOf(matches).map((item) => scalarText(item) ?? fail(`selected ${describe(item)}, not a list of strings`));
    case 'StringMap': {
      if (matches.length === 0) return undefined;
      return isMap(matches[0]) ? matches[0] : fail(`selected ${describe(matches[0])}, not a map`);
    }
    case 'MapList':
      return listOf(matches).map((item) => (isMap(item) ? item : fail(`selected ${describe(item)}, not a list of maps`)));
    default:
      return fail('is not an output type (String, Integer, Boolean, StringList, StringMap, MapList)');
  }
}

/**
 * All of a step's declared outputs, by name; outputs whose selector matched nothing are left out.
 *
 * @example
 * selectOutputs({ ImageId: 'ami-1' }, [{ Name: 'ImageId', Selector: '$.ImageId', Type: 'String' }]); // { ImageId: 'ami-1' }
 */
export function selectOutputs(response: unknown, outputs: readonly OutputSpec[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const output of outputs) {
    const value = selectOutput(response, output);
    if (value !== undefined) values[output.Name ?? output.Selector] = value;
  }
  return values;
}

/**
 * The values a `PropertySelector` (aws:waitForAwsResourceProperty, aws:assertAwsResourceProperty) picks out of a
 * response: every match, with a matched list standing for its items.
 *
 * @example
 * selectProperty({ DBInstances: [{ DBInstanceStatus: 'stopped' }] }, '$.DBInstances[0].DBInstanceStatus'); // ['stopped']
 */
export function selectProperty(response: unknown, propertySelector: string): unknown[] {
  return evaluateSelector(response, propertySelector).flatMap((m) => (Array.isArray(m) ? (m as unknown[]) : [m]));
}

/**
 * Whether selected property values satisfy `DesiredValues`: at least one value was selected and every selected value
 * is one of the desired values. AWS documents the single-value case ("checks if the specified returned value matches
 * a value in the DesiredValues list"); with a deep-scan selector over several resources every resource must have
 * reached a desired state, as the SDK's `pathAll` waiters decide, and an empty selection (the resource is not there
 * yet) is not a match. Values compare as text, booleans as `True`/`False`: "If you specify a Boolean value, you must
 * use a capital letter such as True or False".
 *
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-aws-apis-calling.html
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-action-assertAwsResourceProperty.html
 *
 * @example
 * matchesDesiredValues(['stopped'], ['stopped', 'stopping']); // true
 * matchesDesiredValues([true], ['True']); // true
 * matchesDesiredValues(['stopped', 'running'], ['stopped']); // false
 */
export function matchesDesiredValues(values: readonly unknown[], desired: readonly unknown[]): boolean {
  if (values.length === 0) return false;
  const wanted = new Set(desired.map((d) => scalarText(d)).filter((d) => d !== undefined));
  return values.every((v) => {
    const text = scalarText(v);
    return text !== undefined && wanted.has(text);
  });
}

function listOf(matches: unknown[]): unknown[] {
  return matches.length === 1 && Array.isArray(matches[0]) ? (matches[0] as unknown[]) : matches;
}

/** The text AWS gives a scalar: strings as they are, numbers in decimal, booleans as Python writes them. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return undefined;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}
