import * as z from 'zod/mini';
import { parseAllDocuments } from 'yaml';
import '../zod-locale.js';
import { ValidationError } from '../errors.js';
import { compileAllowedPattern, type AllowedPattern } from './allowed-pattern.js';
import { selectorProblem } from './selector.js';
import {
  actionRules,
  isSupportedAction,
  isWholeReference,
  OUTPUT_TYPES,
  SUPPORTED_ACTIONS,
  unlessMissing,
  type ActionInputs,
  type ActionRule,
  type StepOutputType,
  type SupportedAction,
} from './actions.js';

// The document model of SSM Automation runbooks (schemaVersion 0.3), after AWS's "Data elements and parameters"
// page (documents-syntax-data-elements-parameters), the actions reference (automation-actions) and AWS's JSON schema
// for Automation documents (aws/amazon-ssm-document-language-service, src/schema). Pure: no I/O.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export const BASIC_PARAMETER_TYPES = ['String', 'StringList', 'Integer', 'Boolean', 'MapList', 'StringMap'] as const;

const EC2_INSTANCE_ID = /^m?i-([a-z0-9]{8}|[a-z0-9]{17})$/;
const S3_BUCKET_NAME = /^[0-9a-z][a-z0-9\-.]{3,63}$/;
const IAM_ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::[0-9]{12}:role\/.*$/;
/**
 * The AWS resource parameter types AWS documents (populating-input-parameters), each with the pattern AWS uses to
 * list matching resources. The model checks them as strings (lists of strings); the patterns are for the engine
 * to apply to supplied values (AWS's own runbooks default an optional AWS::IAM::Role::Arn to '').
 */
export const AWS_RESOURCE_PARAMETER_TYPES = {
  'AWS::EC2::Instance::Id': EC2_INSTANCE_ID,
  'List<AWS::EC2::Instance::Id>': EC2_INSTANCE_ID,
  'AWS::S3::Bucket::Name': S3_BUCKET_NAME,
  'List<AWS::S3::Bucket::Name>': S3_BUCKET_NAME,
  'AWS::IAM::Role::Arn': IAM_ROLE_ARN,
  'List<AWS::IAM::Role::Arn>': IAM_ROLE_ARN,
} as const;

export type ParameterType = (typeof BASIC_PARAMETER_TYPES)[number] | keyof typeof AWS_RESOURCE_PARAMETER_TYPES;
const PARAMETER_TYPES = [...BASIC_PARAMETER_TYPES, ...Object.keys(AWS_RESOURCE_PARAMETER_TYPES)] as [ParameterType, ...ParameterType[]];

/** True for the types whose values are lists: StringList, MapList and the `List<AWS::…>` types. */
export function isListParameterType(type: ParameterType): boolean {
  return type === 'StringList' || type === 'MapList' || type.startsWith('List<');
}

/** Variables every runbook can read without declaring them (automation-variables). */
export const AUTOMATION_VARIABLES = [
  'automation:EXECUTION_ID',
  'automation:AUTOMATION_EXECUTION_ID',
  'global:ACCOUNT_ID',
  'global:REGION',
  'global:DATE',
  'global:DATE_TIME',
  'global:AWS_PARTITION',
  'global:AWS_URL_SUFFIX',
] as const;
export type AutomationVariable = (typeof AUTOMATION_VARIABLES)[number];

/** What the text between `{{` and `}}` names. */
export type Reference =
  | { kind: 'parameter'; name: string }
  | { kind: 'stepOutput'; step: string; output: string }
  | { kind: 'variable'; name: AutomationVariable }
  | { kind: 'parameterStore'; name: string }
  | { kind: 'unknown'; expression: string };

/**
 * Reads one reference expression (the trimmed text inside `{{ }}`).
 *
 * @example
 * parseReference('createImage.ImageId') // { kind: 'stepOutput', step: 'createImage', output: 'ImageId' }
 */
export function parseReference(expression: string): Reference {
  const colon = expression.indexOf(':');
  if (colon >= 0) {
    if (expression.startsWith('ssm:') && expression.length > 4) return { kind: 'parameterStore', name: expression.slice(4) };
    return (AUTOMATION_VARIABLES as readonly string[]).includes(expression)
      ? { kind: 'variable', name: expression as AutomationVariable }
      : { kind: 'unknown', expression };
  }
  const dot = expression.indexOf('.');
  if (dot > 0 && dot < expression.length - 1) return { kind: 'stepOutput', step: expression.slice(0, dot), output: expression.slice(dot + 1) };
  return /^[A-Za-z0-9_-]+$/.test(expression) ? { kind: 'parameter', name: expression } : { kind: 'unknown', expression };
}

const REFERENCES = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Every `{{ reference }}` in a string, in order.
 *
 * @example
 * referencesIn('{{ InstanceId }}_{{automation:EXECUTION_ID}}').map((r) => r.expression) // ['InstanceId', 'automation:EXECUTION_ID']
 */
export function referencesIn(text: string): { expression: string; reference: Reference }[] {
  return [...text.matchAll(REFERENCES)].map((m) => ({ expression: m[1] ?? '', reference: parseReference(m[1] ?? '') }));
}

export interface RunbookParameter {
  type: ParameterType;
  description?: string;
  /** A value of the parameter's type, or a `{{ ssm:name }}` Parameter Store reference resolved at start. */
  default?: JsonValue;
  allowedValues?: (string | number | boolean)[];
  allowedPattern?: string;
  minItems?: number;
  maxItems?: number;
  minChars?: number;
  maxChars?: number;
  displayType?: 'textfield' | 'textarea';
}

export interface StepOutput {
  Name: string;
  /** JSONPath into the action's response. */
  Selector: string;
  Type: StepOutputType;
}

export type OnFailure = 'Abort' | 'Continue' | `step:${string}`;
export type OnCancel = 'Abort' | `step:${string}`;

interface StepCommon {
  name: string;
  description?: string;
  /** Attempts before the step counts as failed (AWS default 1). */
  maxAttempts: number;
  timeoutSeconds?: number;
  onFailure: OnFailure;
  onCancel: OnCancel;
  /** Whether a failure of this step fails the execution: true unless set, or unless onFailure is Continue. */
  isCritical: boolean;
  isEnd: boolean;
  nextStep?: string;
  outputs: StepOutput[];
}

/** One of `mainSteps`, its `inputs` typed by its action. */
export type RunbookStep = { [A in SupportedAction]: StepCommon & { action: A; inputs: ActionInputs<A> } }[SupportedAction];
export type StepOf<A extends SupportedAction> = Extract<RunbookStep, { action: A }>;

export interface Runbook {
  schemaVersion: '0.3';
  description?: string;
  /** An IAM role ARN, or a `{{ Parameter }}` that holds one. */
  assumeRole?: string;
  parameters: Record<string, RunbookParameter>;
  mainSteps: RunbookStep[];
  /** `step.Output` names the execution reports. */
  outputs: string[];
  /** Things accepted but not acted on (for example `files`). */
  warnings: string[];
}

export interface RunbookProblem {
  /** Where: `parameters.InstanceId.default`, `mainSteps[2] (stopInstance).inputs.DesiredState`. */
  path: string;
  message: string;
}

/** A runbook that cannot be loaded; `problems` lists every problem found, not only the first. */
export class RunbookValidationError extends ValidationError {
  override name = 'RunbookValidationError';
  constructor(
    readonly problems: RunbookProblem[],
    readonly runbookName?: string,
  ) {
    const header = `invalid runbook${runbookName ? ` ${runbookName}` : ''} (${problems.length} problem${problems.length === 1 ? '' : 's'})`;
    super(`${header}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`, problems[0]?.path);
  }
}

export interface RunbookOptions {
  /** Names the runbook in error messages. */
  name?: string;
}

/**
 * Parses an Automation runbook from YAML or JSON text (a document starting with `{` is read as JSON) and validates
 * it. Throws RunbookValidationError listing every problem.
 *
 * @example
 * const runbook = parseRunbook(readFileSync('AWS-StopEC2Instance.json', 'utf8'), { name: 'AWS-StopEC2Instance' });
 * runbook.mainSteps[0]?.action // 'aws:changeInstanceState'
 */
export function parseRunbook(text: string, options: RunbookOptions = {}): Runbook {
  return validateRunbook(parseText(text, options.name), options);
}

/** AWS's limit on an SSM document's content (CreateDocument: MaxDocumentSizeExceededException), in bytes. */
export const MAX_DOCUMENT_BYTES = 64 * 1024;
/** How deep a document may nest; AWS's own runbooks stay under 10 levels. Deeper is refused before validation. */
export const MAX_DOCUMENT_DEPTH = 64;

/** The nesting depth of a parsed document, walked without recursion (stops once past `limit`). */
function depthOf(value: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length && max <= limit) {
    const [v, d] = stack.pop()!;
    max = Math.max(max, d);
    if (v !== null && typeof v === 'object') for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function parseText(text: string, name: string | undefined): unknown {
  const fail = (message: string) => new RunbookValidationError([{ path: '(document)', message }], name);
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_DOCUMENT_BYTES) throw fail(`is ${bytes} bytes; an SSM document may be at most ${MAX_DOCUMENT_BYTES} bytes (64 KB)`);
  let parsed: unknown;
  try {
    parsed = parseBody(text, fail, name);
  } catch (e) {
    if (e instanceof RunbookValidationError) throw e;
    // The YAML parser recurses per level of nesting, and refuses alias expansions that grow without bound.
    if (e instanceof RangeError) throw fail(`nests too deeply (at most ${MAX_DOCUMENT_DEPTH} levels)`);
    if (e instanceof ReferenceError) throw fail(`is not valid YAML: ${e.message.slice(0, 200)}`);
    throw e;
  }
  if (depthOf(parsed, MAX_DOCUMENT_DEPTH) > MAX_DOCUMENT_DEPTH) throw fail(`nests too deeply (at most ${MAX_DOCUMENT_DEPTH} levels)`);
  return parsed;
}

function parseBody(text: string, fail: (message: string) => RunbookValidationError, name: string | undefined): unknown {
  const body = text.replace(/^\uFEFF/, '');
  if (/^\s*[{[]/.test(body)) {
    try {
      return JSON.parse(body) as unknown;
    } catch (error) {
      throw fail(`is not valid JSON: ${(error as Error).message}`);
    }
  }
  const documents = parseAllDocuments(body);
  if (documents.length === 0) throw fail('is empty');
  if (documents.length > 1) throw fail(`holds ${documents.length} YAML documents; a runbook is one`);
  const [document] = documents as [(typeof documents)[number]];
  if (document.errors.length > 0) {
    throw new RunbookValidationError(
      document.errors.map((e) => ({ path: '(document)', message: `is not valid YAML: ${e.message.split('\n')[0] ?? e.message}` })),
      name,
    );
  }
  return document.toJS({ maxAliasCount: 100 }) as unknown;
}

// Which messages the model gives for zod's generic issues; schema-level messages take precedence.
const messages: z.core.$ZodErrorMap = (issue) => {
  if (issue.input === undefined && issue.code !== 'unrecognized_keys') return 'is required';
  if (issue.code === 'invalid_type') {
    const expected: Record<string, string> = {
      string: 'a string',
      number: 'a number',
      int: 'an integer',
      boolean: 'true or false',
      array: 'a list',
      object: 'a mapping',
      record: 'a mapping',
    };
    return `must be ${expected[issue.expected] ?? issue.expected}`;
  }
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
  return undefined;
};

// Documents are checked piece by piece (top level, each parameter, each step, each step's inputs) so that one bad
// piece does not hide the problems of the others.
const documentSchema = z.strictObject({
  schemaVersion: z.union([z.literal('0.3'), z.literal(0.3)], { error: unlessMissing("must be '0.3' (Automation runbooks)") }),
  description: z.optional(z.string()),
  assumeRole: z.optional(z.string()),
  parameters: z._default(z.record(z.string(), z.unknown()), {}),
  mainSteps: z.array(z.unknown()).check(z.minLength(1, 'must list at least one step')),
  outputs: z._default(z.array(z.string()), []),
  // Script attachments of aws:executeScript steps (documents-syntax-data-elements-parameters).
  files: z.optional(z.record(z.string(), z.unknown())),
});

const count = z.int().check(z.gte(0));
const parameterSchema = z.strictObject({
  type: z.enum(PARAMETER_TYPES, { error: unlessMissing(`must be one of ${PARAMETER_TYPES.join(', ')}`) }),
  description: z.optional(z.string()),
  default: z.optional(z.unknown()),
  allowedValues: z.optional(z.array(z.union([z.string(), z.number(), z.boolean()])).check(z.minLength(1))),
  allowedPattern: z.optional(z.string()),
  minItems: z.optional(count),
  maxItems: z.optional(count),
  minChars: z.optional(count),
  maxChars: z.optional(count),
  displayType: z.optional(z.enum(['textfield', 'textarea'])),
});

const STEP_NAME = /^[A-Za-z0-9_-]+$/;
const stepName = z.string().check(z.regex(STEP_NAME, 'must be letters, digits, _ and - only'));
// AWS's schema types isEnd and isCritical as boolean or string.
const flag = z.union([z.boolean(), z.enum(['true', 'false'])], { error: unlessMissing('must be true or false') });
const outputSchema = z.strictObject({
  // Read back as `{{ step.Name }}`: a dot, a brace or a space would end the name.
  Name: z.string().check(z.regex(/^[^.{}\s]+$/, 'must not be empty or contain dots, braces or spaces')),
  // With or without `$.`, as AWS takes them; filters may compare fields but not run code (selectorProblem).
  Selector: z.string().check(z.refine((s) => selectorProblem(s) === undefined, { error: (issue) => selectorProblem(issue.input) ?? 'must be a JSONPath selector' })),
  // automation-action-outputs-inputs: "Type: (Optional) … The default value is String."
  Type: z._default(z.enum(OUTPUT_TYPES, { error: unlessMissing(`must be one of ${OUTPUT_TYPES.join(', ')}`) }), 'String'),
});
const stepSchema = z.strictObject({
  name: stepName,
  action: z.string(),
  description: z.optional(z.string()),
  inputs: z._default(z.record(z.string(), z.unknown()), {}),
  maxAttempts: z._default(z.int().check(z.gte(1, 'must be at least 1')), 1),
  timeoutSeconds: z.optional(z.int().check(z.gte(1, 'must be at least 1'))),
  onFailure: z._default(
    z.string().check(z.regex(/^(Abort|Continue|step:[A-Za-z0-9_-]+)$/, 'must be Abort, Continue or step:<step name>')),
    'Abort',
  ),
  onCancel: z._default(z.string().check(z.regex(/^(Abort|step:[A-Za-z0-9_-]+)$/, 'must be Abort or step:<step name>')), 'Abort'),
  isCritical: z.optional(flag),
  isEnd: z._default(flag, false),
  nextStep: z.optional(stepName),
  outputs: z._default(z.array(outputSchema), []),
});

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function joinPath(base: string, segments: readonly PropertyKey[]): string {
  let path = base;
  for (const s of segments) path += typeof s === 'number' ? `[${s}]` : path ? `.${String(s)}` : String(s);
  return path || '(document)';
}

function collect<S extends z.ZodMiniType>(schema: S, value: unknown, path: string, problems: RunbookProblem[]): z.output<S> | undefined {
  const result = schema.safeParse(value, { error: messages });
  if (result.success) return result.data;
  for (const issue of result.error.issues) problems.push({ path: joinPath(path, issue.path), message: issue.message });
  return undefined;
}

function* stringsIn(value: unknown, path: string): Generator<[path: string, text: string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* stringsIn(value[i], `${path}[${i}]`);
  else if (isRecord(value)) for (const [key, v] of Object.entries(value)) yield* stringsIn(v, `${path}.${key}`);
}

const isParameterStoreReference = (v: unknown) =>
  typeof v === 'string' && isWholeReference(v) && referencesIn(v).every((r) => r.reference.kind === 'parameterStore');

function defaultProblems(p: z.output<typeof parameterSchema>, pattern: AllowedPattern | undefined): string[] {
  const value = p.default;
  if (value === undefined || isParameterStoreReference(value)) return [];
  const list = isListParameterType(p.type);
  const shapeOk =
    p.type === 'Integer' ? Number.isInteger(value)
    : p.type === 'Boolean' ? typeof value === 'boolean'
    : p.type === 'StringMap' ? isRecord(value)
    : p.type === 'MapList' ? Array.isArray(value) && value.every(isRecord)
    : list ? Array.isArray(value) && value.every((v) => typeof v === 'string')
    : typeof value === 'string';
  if (!shapeOk) {
    const expected: Record<string, string> = {
      Integer: 'an integer',
      Boolean: 'true or false',
      StringMap: 'a mapping',
      MapList: 'a list of mappings',
    };
    return [`must be ${expected[p.type] ?? (list ? 'a list of strings' : 'a string')} to fit type ${p.type}`];
  }
  const problems: string[] = [];
  const items = (Array.isArray(value) ? value : [value]).filter((v) => !isParameterStoreReference(v));
  if (Array.isArray(value)) {
    if (p.minItems !== undefined && value.length < p.minItems) problems.push(`has ${value.length} item(s), fewer than minItems ${p.minItems}`);
    if (p.maxItems !== undefined && value.length > p.maxItems) problems.push(`has ${value.length} item(s), more than maxItems ${p.maxItems}`);
  }
  for (const item of items) {
    const shown = JSON.stringify(item);
    if (p.allowedValues && !p.allowedValues.some((a) => a === item || String(a) === String(item))) {
      problems.push(`${shown} is not one of the allowedValues (${p.allowedValues.map((a) => JSON.stringify(a)).join(', ')})`);
    }
    if (typeof item !== 'string') continue;
    if (pattern && !pattern.test(item)) problems.push(`${shown} does not match allowedPattern ${p.allowedPattern}`);
    if (p.minChars !== undefined && item.length < p.minChars) problems.push(`${shown} is shorter than minChars ${p.minChars}`);
    if (p.maxChars !== undefined && item.length > p.maxChars) problems.push(`${shown} is longer than maxChars ${p.maxChars}`);
  }
  return problems;
}

function checkParameter(name: string, p: z.output<typeof parameterSchema>, problems: RunbookProblem[]): void {
  const path = `parameters.${name}`;
  if (p.minItems !== undefined && p.maxItems !== undefined && p.minItems > p.maxItems) {
    problems.push({ path: `${path}.minItems`, message: `is more than maxItems ${p.maxItems}` });
  }
  if (p.minChars !== undefined && p.maxChars !== undefined && p.minChars > p.maxChars) {
    problems.push({ path: `${path}.minChars`, message: `is more than maxChars ${p.maxChars}` });
  }
  let pattern: AllowedPattern | undefined;
  if (p.allowedPattern !== undefined) {
    try {
      pattern = compileAllowedPattern(p.allowedPattern);
    } catch (error) {
      problems.push({ path: `${path}.allowedPattern`, message: `is not a regular expression this engine can evaluate: ${(error as Error).message}` });
    }
  }
  for (const message of defaultProblems(p, pattern)) problems.push({ path: `${path}.default`, message });
  // documents-syntax-data-elements-parameters: a default is a value or a Parameter Store reference; automation-variables
  // lists cross-referencing document parameters as unsupported.
  for (const [at, text] of stringsIn(p.default, `${path}.default`)) {
    for (const { expression, reference } of referencesIn(text)) {
      if (reference.kind !== 'parameterStore') {
        problems.push({ path: at, message: `{{ ${expression} }}: a default can reference Parameter Store ({{ ssm:name }}) only` });
      }
    }
  }
}

interface StepIndex {
  /** Index of the first step with each name. */
  byName: Map<string, number>;
  /** Output names each step provides: the ones it declares and the ones its action always produces. */
  outputs: Map<string, Set<string>>;
}

function indexSteps(rawSteps: unknown[], labels: string[], problems: RunbookProblem[]): StepIndex {
  const byName = new Map<string, number>();
  const outputs = new Map<string, Set<string>>();
  rawSteps.forEach((raw, i) => {
    if (!isRecord(raw) || typeof raw.name !== 'string') return;
    const first = byName.get(raw.name);
    if (first !== undefined) {
      problems.push({ path: labels[i] ?? '', message: `name ${raw.name} is already used by ${labels[first]}` });
      return;
    }
    byName.set(raw.name, i);
    const names = new Set<string>();
    if (typeof raw.action === 'string' && isSupportedAction(raw.action)) {
      for (const o of Object.keys(actionRules[raw.action].outputs)) names.add(o);
    }
    if (Array.isArray(raw.outputs)) {
      for (const o of raw.outputs) if (isRecord(o) && typeof o.Name === 'string') names.add(o.Name);
    }
    outputs.set(raw.name, names);
  });
  return { byName, outputs };
}

function referenceProblem(expression: string, reference: Reference, parameters: Set<string>, steps: StepIndex, self: string | undefined): string | undefined {
  const shown = `{{ ${expression} }}`;
  switch (reference.kind) {
    case 'parameter':
      return parameters.has(reference.name) ? undefined : `${shown}: no parameter ${reference.name} is declared`;
    case 'stepOutput': {
      const outputs = steps.outputs.get(reference.step);
      if (!outputs) return steps.byName.has(reference.step) ? undefined : `${shown}: no step ${reference.step}`;
      if (reference.step === self) return `${shown}: a step cannot read its own output`;
      if (outputs.has(reference.output)) return undefined;
      const known = [...outputs].join(', ');
      return `${shown}: step ${reference.step} has no output ${reference.output} (${known ? `outputs: ${known}` : 'it has no outputs'})`;
    }
    case 'variable':
      return undefined;
    case 'parameterStore':
      // automation-variables: Parameter Store values are not referenced directly in step inputs.
      return `${shown}: Parameter Store values are read through a parameter: declare one with default ${shown}`;
    case 'unknown':
      return expression
        ? `${shown}: not a parameter, a step.Output or one of ${AUTOMATION_VARIABLES.join(', ')}`
        : 'empty {{ }} reference';
  }
}

/**
 * Validates a parsed runbook (the object a YAML or JSON document reads as) and returns its typed model with AWS's
 * defaults filled in. Throws RunbookValidationError listing every problem, each naming where it is.
 *
 * @example
 * validateRunbook({ schemaVersion: '0.3', mainSteps: [{ name: 'wait', action: 'aws:sleep', inputs: { Duration: 'PT1M' } }] });
 */
export function validateRunbook(doc: unknown, options: RunbookOptions = {}): Runbook {
  if (!isRecord(doc)) {
    throw new RunbookValidationError([{ path: '(document)', message: 'must be a mapping with schemaVersion and mainSteps' }], options.name);
  }
  const problems: RunbookProblem[] = [];
  const warnings: string[] = [];
  const top = collect(documentSchema, doc, '', problems);
  if (doc.files !== undefined) {
    warnings.push('files: ignored: attachments are only used by aws:executeScript, which this engine does not run');
  }

  // Parameters.
  const rawParameters = isRecord(doc.parameters) ? doc.parameters : {};
  const declared = new Set(Object.keys(rawParameters));
  const parameters: Record<string, RunbookParameter> = {};
  for (const [name, raw] of Object.entries(rawParameters)) {
    const parameter = collect(parameterSchema, raw, `parameters.${name}`, problems);
    if (!parameter) continue;
    checkParameter(name, parameter, problems);
    parameters[name] = parameter as RunbookParameter;
  }

  if (typeof doc.assumeRole === 'string') {
    for (const { expression, reference } of referencesIn(doc.assumeRole)) {
      if (reference.kind !== 'parameter' || !declared.has(reference.name)) {
        problems.push({ path: 'assumeRole', message: `{{ ${expression} }}: must be a declared parameter that holds the role ARN` });
      }
    }
  }

  // Steps.
  const rawSteps = Array.isArray(doc.mainSteps) ? (doc.mainSteps as unknown[]) : [];
  const labels = rawSteps.map((raw, i) => (isRecord(raw) && typeof raw.name === 'string' ? `mainSteps[${i}] (${raw.name})` : `mainSteps[${i}]`));
  const steps = indexSteps(rawSteps, labels, problems);
  const mainSteps: RunbookStep[] = [];
  rawSteps.forEach((raw, i) => {
    const label = labels[i] ?? `mainSteps[${i}]`;
    const step = collect(stepSchema, raw, label, problems);
    if (!isRecord(raw)) return;
    const self = typeof raw.name === 'string' ? raw.name : undefined;
    const jumpTo = (path: string, target: string) => {
      if (!steps.byName.has(target)) problems.push({ path, message: `names step ${target}, which does not exist` });
    };
    if (typeof raw.nextStep === 'string') jumpTo(`${label}.nextStep`, raw.nextStep);
    for (const field of ['onFailure', 'onCancel'] as const) {
      const value = raw[field];
      if (typeof value === 'string' && value.startsWith('step:')) jumpTo(`${label}.${field}`, value.slice(5));
    }
    if (step) {
      const seen = new Set<string>();
      step.outputs.forEach((o, j) => {
        if (seen.has(o.Name)) problems.push({ path: `${label}.outputs[${j}].Name`, message: `${o.Name} is declared twice` });
        seen.add(o.Name);
      });
    }

    // A missing action or malformed inputs are reported by the step schema.
    let inputs: unknown;
    const action = typeof raw.action === 'string' ? raw.action : undefined;
    if (action !== undefined && !isSupportedAction(action)) {
      problems.push({ path: label, message: `action ${action} is not supported (supported: ${SUPPORTED_ACTIONS.join(', ')})` });
    } else if (action !== undefined && (raw.inputs === undefined || isRecord(raw.inputs))) {
      const rule = actionRules[action] as ActionRule;
      inputs = collect(rule.inputs, raw.inputs ?? {}, `${label}.inputs`, problems);
      if (inputs !== undefined) {
        for (const p of rule.check?.(inputs) ?? []) problems.push({ path: `${label}.inputs.${p.path}`, message: p.message });
        for (const j of rule.jumps?.(inputs) ?? []) jumpTo(`${label}.inputs.${j.path}`, j.step);
      }
    }

    for (const [at, text] of stringsIn(raw.inputs, `${label}.inputs`)) {
      for (const { expression, reference } of referencesIn(text)) {
        const message = referenceProblem(expression, reference, declared, steps, self);
        if (message) problems.push({ path: at, message });
      }
    }

    if (step && inputs !== undefined) {
      const { isCritical, isEnd, ...common } = step;
      mainSteps.push({
        ...common,
        inputs,
        onFailure: common.onFailure as OnFailure,
        onCancel: common.onCancel as OnCancel,
        isEnd: isEnd === true || isEnd === 'true',
        // automation-actions, isCritical: "If the onFailure property is set to Continue in a step, the value
        // defaults to false. Otherwise, the default value for this option is true."
        isCritical: isCritical === undefined ? common.onFailure !== 'Continue' : isCritical === true || isCritical === 'true',
      } as RunbookStep);
    }
  });

  // Document outputs name step outputs as `step.Output`.
  const outputs = Array.isArray(doc.outputs) ? (doc.outputs as unknown[]) : [];
  outputs.forEach((entry, i) => {
    if (typeof entry !== 'string') return;
    const reference = parseReference(entry);
    const message =
      reference.kind === 'stepOutput' ? referenceProblem(entry, reference, declared, steps, undefined) : 'must name a step output as step.Output';
    if (message) problems.push({ path: `outputs[${i}]`, message: message.replace(`{{ ${entry} }}: `, '') });
  });

  if (problems.length > 0 || !top) throw new RunbookValidationError(problems, options.name);
  return {
    schemaVersion: '0.3',
    ...(top.description === undefined ? {} : { description: top.description }),
    ...(top.assumeRole === undefined ? {} : { assumeRole: top.assumeRole }),
    parameters,
    mainSteps,
    outputs: top.outputs,
    warnings,
  };
}
