import * as z from 'zod/mini';
import '../zod-locale.js';
import { ValidationError } from '../errors.js';

// StartAutomationExecution-style Targets: which resources a rate-controlled execution runs on, one child per target.
// - Target keys: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Target.html
// - Targets, TargetParameterName: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartAutomationExecution.html
// - Automation's use of them: https://docs.aws.amazon.com/systems-manager/latest/userguide/running-automations-map-targets.html

/** One entry of `Targets`, as the API takes it. */
export interface AutomationTarget {
  Key: string;
  Values: string[];
}

/**
 * What a valid `Targets` list asks for.
 * - `tags`: resources carrying every `tags` key with one of its values, and (when `tagKeys` is not empty) at least one
 *   of `tagKeys` — EC2 filter semantics: values of one key are alternatives, keys are all required.
 * - `values`: the literal values of the target parameter (`ParameterValues`), one child each.
 * - `instances`: these EC2 instances (`InstanceIds`), those that exist and are not terminated.
 * - `allInstances`: every EC2 instance in the region that is not terminated (`InstanceIds` = `*`).
 */
export type TargetQuery =
  | { kind: 'tags'; tags: Record<string, string[]>; tagKeys: string[] }
  | { kind: 'values'; values: string[] }
  | { kind: 'instances'; instanceIds: string[] }
  | { kind: 'allInstances' };

/** The queries resolved through EC2 DescribeInstances. */
export type InstanceTargetQuery = Exclude<TargetQuery, { kind: 'values' }>;

/** Targets and the runbook parameter each target's value goes to. */
export interface Targeting {
  targetParameterName: string;
  query: TargetQuery;
}

/** The keys this engine accepts, as error messages list them. */
export const SUPPORTED_TARGET_KEYS = ['tag:<key>', 'tag-key', 'ParameterValues', 'InstanceIds'] as const;
const SUPPORTED = SUPPORTED_TARGET_KEYS.join(', ');

/** Targets: "Maximum number of 5 items" (API_StartAutomationExecution, Targets). */
export const MAX_TARGETS = 5;
/**
 * Values of one key: "the maximum number of values for a key might be lower than the global maximum of 50"
 * (API_Target, Values); for Automation "You can target a maximum of 50 parameter values"
 * (running-automations-map-targets.html).
 */
export const MAX_TARGET_VALUES = 50;
/** TargetParameterName: "Minimum length of 1. Maximum length of 50." (API_StartAutomationExecution). */
export const MAX_TARGET_PARAMETER_NAME_LENGTH = 50;
// Tag keys up to 128 characters, values up to 256 (EC2 tag restrictions:
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions).
const MAX_TAG_KEY_LENGTH = 128;
const MAX_TAG_VALUE_LENGTH = 256;
// An EC2 instance ID: the InstanceId pattern of the SSM API, without the `mi-` of hybrid nodes, which EC2 does not
// know (API_CreateAssociation, InstanceId: `(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)`).
const INSTANCE_ID = /^i-(\w{8}|\w{17})$/;

// Keys AWS documents for Automation or other tools that this engine does not resolve (API_Target): named so that
// the error says "not supported" rather than "unknown".
const UNSUPPORTED_AWS_KEYS = ['ResourceGroup', 'AWS::EC2::Instance', 'resource-groups:Name', 'resource-groups:ResourceTypeFilters'];
const KNOWN_KEYS = ['tag-key', 'ParameterValues', 'InstanceIds', ...UNSUPPORTED_AWS_KEYS];

const targetsSchema = z.array(z.object({ Key: z.string(), Values: z.array(z.string()) }));

const fail = (field: string, message: string): never => {
  throw new ValidationError(`${field}: ${message}`, field);
};

function unknownKeyMessage(key: string): string {
  if (UNSUPPORTED_AWS_KEYS.includes(key)) return `${key} targets are not supported here (supported keys: ${SUPPORTED})`;
  const near = KNOWN_KEYS.find((k) => k.toLowerCase() === key.toLowerCase()) ?? (/^tag:/i.test(key) ? `tag:${key.slice(4)}` : undefined);
  const hint = near && near !== key ? ` (did you mean ${near}?)` : '';
  return `unknown target key ${JSON.stringify(key)}${hint}; supported keys: ${SUPPORTED}`;
}

/** The values of one target, checked for count, emptiness and repeats. */
function checkValues(field: string, key: string, values: string[], maxLength?: number): void {
  if (values.length === 0) fail(field, `${key} needs at least one value`);
  if (values.length > MAX_TARGET_VALUES) fail(field, `${key} has ${values.length} values; at most ${MAX_TARGET_VALUES} are allowed`);
  const seen = new Set<string>();
  for (const value of values) {
    if (value === '') fail(field, `${key} has an empty value`);
    if (maxLength !== undefined && value.length > maxLength) fail(field, `${key} value ${JSON.stringify(value.slice(0, 20))}… is longer than ${maxLength} characters`);
    if (seen.has(value)) fail(field, `${key} lists ${JSON.stringify(value)} twice`);
    seen.add(value);
  }
}

/**
 * Checks a `Targets` list and says what it asks for. Accepted keys: `tag:<key>` (values: that tag's values),
 * `tag-key` (values: tag keys), `ParameterValues` (the target parameter's values), `InstanceIds` (instance IDs, or
 * `*` alone for every instance). AWS documents `tag:`, `ResourceGroup`, `ParameterValues` and (with `*`)
 * `InstanceIds` / `AWS::EC2::Instance` for Automation (API_Target); ResourceGroup and AWS::EC2::Instance are refused
 * here, with the supported keys listed.
 * AWS Automation takes "a single tag as the target" (running-automations-map-targets.html; two tags fail with "Only
 * one resource group or tag can be specified at a time", github.com/aws/aws-cli/discussions/8627). We allow up to 5
 * tag / tag-key entries (the API's Targets maximum) and require all of them, as Run Command does with several tag
 * targets. ParameterValues and InstanceIds stand alone. Throws ValidationError naming the entry (`Targets[1].Key`).
 */
export function targetQuery(targets: unknown, field = 'Targets'): TargetQuery {
  const parsed = targetsSchema.safeParse(targets);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = field + (issue?.path ?? []).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return fail(at, issue?.message ?? 'must be a list of { Key, Values }');
  }
  const list = parsed.data;
  if (list.length === 0) return fail(field, `needs at least one target (keys: ${SUPPORTED})`);
  if (list.length > MAX_TARGETS) fail(field, `has ${list.length} targets; at most ${MAX_TARGETS} are allowed`);

  const seenKeys = new Set<string>();
  const tags: [string, string[]][] = [];
  let tagKeys: string[] = [];
  let standalone: TargetQuery | undefined;
  list.forEach(({ Key: key, Values: values }, i) => {
    const at = `${field}[${i}]`;
    if (seenKeys.has(key)) fail(`${at}.Key`, `${key} appears twice; list all its values in one entry`);
    seenKeys.add(key);
    const alone = (what: string) => list.length > 1 && fail(`${at}.Key`, `${what} cannot be combined with other targets`);
    if (key.startsWith('tag:')) {
      const tagKey = key.slice(4);
      if (tagKey === '') fail(`${at}.Key`, 'tag: needs a tag key (tag:<key>)');
      if (tagKey.length > MAX_TAG_KEY_LENGTH) fail(`${at}.Key`, `tag key is longer than ${MAX_TAG_KEY_LENGTH} characters`);
      if (values.length === 0) fail(`${at}.Values`, `${key} needs at least one value; to match the key whatever its value, use tag-key with ${JSON.stringify(tagKey)}`);
      checkValues(`${at}.Values`, key, values, MAX_TAG_VALUE_LENGTH);
      tags.push([tagKey, [...values]]);
    } else if (key === 'tag-key') {
      checkValues(`${at}.Values`, key, values, MAX_TAG_KEY_LENGTH);
      tagKeys = [...values];
    } else if (key === 'ParameterValues') {
      alone('ParameterValues');
      checkValues(`${at}.Values`, key, values);
      standalone = { kind: 'values', values: [...values] };
    } else if (key === 'InstanceIds') {
      alone('InstanceIds');
      if (values.length === 1 && values[0] === '*') {
        standalone = { kind: 'allInstances' };
        return;
      }
      checkValues(`${at}.Values`, key, values);
      const bad = values.find((v) => !INSTANCE_ID.test(v));
      if (bad !== undefined) fail(`${at}.Values`, `${JSON.stringify(bad)} is not an EC2 instance ID (i-…); use * alone for every instance`);
      standalone = { kind: 'instances', instanceIds: [...values] };
    } else {
      fail(`${at}.Key`, unknownKeyMessage(key));
    }
  });
  return standalone ?? { kind: 'tags', tags: Object.fromEntries(tags), tagKeys };
}

/**
 * Checks `Targets` with `TargetParameterName` as StartAutomationExecution takes them: each is "Required if you
 * specify" the other (API_StartAutomationExecution). Undefined when neither is given (no rate control).
 * `parameterNames`, when given, are the runbook's parameters: the target parameter must be one of them, spelt exactly
 * ("Target parameter names are case sensitive", running-automations-map-targets.html), and not AutomationAssumeRole
 * ("AutomationAssumeRole isn't a valid parameter" for targets, same page).
 */
export function parseTargets(
  input: { Targets?: unknown; TargetParameterName?: unknown },
  options: { parameterNames?: readonly string[] } = {},
): Targeting | undefined {
  const { Targets: targets, TargetParameterName: name } = input;
  if (targets === undefined && name === undefined) return undefined;
  if (name === undefined) return fail('TargetParameterName', 'is required with Targets: name the runbook parameter that receives each target');
  if (typeof name !== 'string' || name.length === 0) return fail('TargetParameterName', 'must be a non-empty string');
  if (name.length > MAX_TARGET_PARAMETER_NAME_LENGTH) fail('TargetParameterName', `must be at most ${MAX_TARGET_PARAMETER_NAME_LENGTH} characters`);
  if (targets === undefined) return fail('Targets', `is required with TargetParameterName (keys: ${SUPPORTED})`);
  if (name === 'AutomationAssumeRole') fail('TargetParameterName', 'AutomationAssumeRole cannot be a target parameter');
  const names = options.parameterNames;
  if (names && !names.includes(name)) {
    const near = names.find((n) => n.toLowerCase() === name.toLowerCase());
    fail('TargetParameterName', `${name} is not a parameter of the runbook${near ? ` (names are case sensitive: ${near}?)` : ''}; parameters: ${names.join(', ') || '(none)'}`);
  }
  return { targetParameterName: name, query: targetQuery(targets) };
}

/** Whether a `--targets` item starts a new key (rather than continuing the previous key's values). */
function startsKey(item: string): string | undefined {
  const eq = item.indexOf('=');
  if (eq <= 0) return undefined;
  const key = item.slice(0, eq);
  return /^tag:/i.test(key) || KNOWN_KEYS.some((k) => k.toLowerCase() === key.toLowerCase()) ? key : undefined;
}

const OPTION_SYNTAX = 'use tag:<key>=<value>[,<value>…], tag-key=<key>[,<key>…], ParameterValues=<value>[,<value>…] or InstanceIds=<id>[,<id>…]';

/**
 * The `Targets` list a CLI `--targets` option gives. Two forms:
 * - ours: `tag:Env=prod,tag:Team=ops`, `ParameterValues=i-1,i-2`, `InstanceIds=i-1,i-2`: an item `KEY=VALUE` starts
 *   a key, and an item without a key adds a value to the key before it (`tag:Env=prod,staging`);
 * - AWS CLI shorthand, as AWS's pages show it: `Key=tag:Env,Values=prod` (several separated by spaces).
 * Throws ValidationError (field `--targets`) quoting the part that is wrong.
 */
export function targetsFromOption(text: string): AutomationTarget[] {
  const field = '--targets';
  const trimmed = text.trim();
  if (trimmed === '') return fail(field, `is empty; ${OPTION_SYNTAX}`);
  if (/^Key=/.test(trimmed)) {
    return trimmed.split(/\s+(?=Key=)/).map((segment) => {
      const m = /^Key=([^,]+),Values=(.*)$/.exec(segment.trim());
      if (!m) return fail(field, `${JSON.stringify(segment)} is not Key=<key>,Values=<value>[,<value>…]`);
      return { Key: m[1], Values: (m[2]).split(',').map((v) => v.trim()) };
    });
  }
  const targets: AutomationTarget[] = [];
  trimmed.split(',').forEach((raw, i) => {
    const item = raw.trim();
    if (item === '') fail(field, `item ${i + 1} is empty (two commas in a row, or a comma at either end?)`);
    const key = startsKey(item);
    if (key !== undefined) {
      targets.push({ Key: key, Values: [item.slice(key.length + 1).trim()] });
      return;
    }
    const current = targets.at(-1);
    if (!current) fail(field, `${JSON.stringify(item)} does not start with a target key; ${OPTION_SYNTAX}`);
    else current.Values.push(item);
  });
  return targets;
}

/**
 * Parses and checks a CLI `--targets` option (see targetsFromOption for the syntax) into the query it asks for.
 * Throws ValidationError (field `--targets`, or `--targets[i]…` for a problem with one target).
 *
 * @example
 * parseTargetsOption('tag:Env=prod,tag:Team=ops') // { kind: 'tags', tags: { Env: ['prod'], Team: ['ops'] }, tagKeys: [] }
 * parseTargetsOption('ParameterValues=i-1,i-2')    // { kind: 'values', values: ['i-1', 'i-2'] }
 */
export function parseTargetsOption(text: string): TargetQuery {
  return targetQuery(targetsFromOption(text), '--targets');
}

/**
 * EC2 instance states that take part. Terminated and shutting-down instances are left out: AWS warns that "When
 * targeting instances with a tag, terminated instances might be included" (running-automations-map-targets.html), and
 * DescribeInstances returns recently terminated instances (API_DescribeInstances). State names:
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html (instance-state-name).
 */
export const LIVE_INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped'] as const;

/**
 * The `Filters` of an EC2 DescribeInstances call that finds the instances a query targets: `tag:<key>` per tag,
 * `tag-key` for the tag keys, `instance-id` for listed instances (a filter, not InstanceIds, so that an unknown ID is
 * left out rather than failing the call: "If you specify an instance ID that is not valid, an error is returned",
 * API_DescribeInstances), and `instance-state-name` without terminated and shutting-down instances.
 */
export function ec2InstanceFilters(query: InstanceTargetQuery): { Name: string; Values: string[] }[] {
  const live = { Name: 'instance-state-name', Values: [...LIVE_INSTANCE_STATES] };
  switch (query.kind) {
    case 'tags':
      return [
        ...Object.entries(query.tags).map(([key, values]) => ({ Name: `tag:${key}`, Values: [...values] })),
        ...(query.tagKeys.length > 0 ? [{ Name: 'tag-key', Values: [...query.tagKeys] }] : []),
        live,
      ];
    case 'instances':
      return [{ Name: 'instance-id', Values: [...query.instanceIds] }, live];
    case 'allInstances':
      return [live];
  }
}
