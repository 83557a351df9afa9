import * as z from 'zod/mini';
import '../zod-locale.js';
import { selectorProblem } from './selector.js';

// The input rules of every Automation action the engine runs, one entry per action, after AWS's Automation actions
// reference (https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-actions.html) and AWS's own
// JSON schema for Automation documents (aws/amazon-ssm-document-language-service, src/schema/automation/actions).
// AWS types most inputs loosely at create time and checks them when the step runs, and any input may be a
// `{{ reference }}` that only has a value at run time: wherever a typed value is expected, a whole `{{ }}` string
// is accepted instead.

/** The types a step output (and a predefined action output) can have. */
export const OUTPUT_TYPES = ['String', 'Integer', 'Boolean', 'StringList', 'StringMap', 'MapList'] as const;
export type StepOutputType = (typeof OUTPUT_TYPES)[number];

/** A problem in a step's inputs; `path` is relative to `inputs` (`Choices[0].Not`). */
export interface InputProblem {
  path: string;
  message: string;
}

const WHOLE_REFERENCE = /^\s*\{\{[^{}]+\}\}\s*$/;

/**
 * True when the value is exactly one `{{ reference }}`: it stands for a value of any type (a StringList parameter
 * passed whole, a Boolean step output), so type checks defer to run time.
 *
 * @example
 * isWholeReference('{{ InstanceIds }}') // true
 * isWholeReference('ami-{{ Suffix }}') // false: always a string
 */
export function isWholeReference(value: unknown): boolean {
  return typeof value === 'string' && WHOLE_REFERENCE.test(value);
}

// Aborting on a mismatch makes a union report its own message rather than this option's.
const reference = z.string().check(z.regex(WHOLE_REFERENCE, { abort: true }));
/** A schema-level message that leaves a missing value to the caller's "is required". */
export const unlessMissing =
  (message: string) =>
  (issue: { input: unknown }): string | undefined =>
    issue.input === undefined ? undefined : message;
const orReference = <T extends z.ZodMiniType>(schema: T, what: string) =>
  z.union([schema, reference], { error: unlessMissing(`must be ${what} or a {{ }} reference`) });

const text = z.string();
const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'));
const stringList = orReference(z.array(z.string()), 'a list of strings');
const flag = orReference(z.boolean(), 'true or false');
const mapping = z.record(z.string(), z.unknown());
// AWS takes selectors with or without `$.`; filters may compare fields but not run code (selectorProblem).
const jsonPath = z.string().check(z.refine((s) => selectorProblem(s) === undefined, { error: (issue) => selectorProblem(issue.input) ?? 'must be a JSONPath selector' }));

// executeAwsApi, waitForAwsResourceProperty and assertAwsResourceProperty pass every other input to the API.
const apiCall = { Service: nonEmpty, Api: nonEmpty };
const propertyCheck = {
  ...apiCall,
  PropertySelector: jsonPath,
  DesiredValues: orReference(
    z.array(z.union([z.string(), z.number(), z.boolean()])).check(z.minLength(1, 'must list at least one value')),
    'a non-empty list of values',
  ),
};

const STRING_OPERATORS = ['StringEquals', 'EqualsIgnoreCase', 'StartsWith', 'EndsWith', 'Contains'] as const;
const NUMERIC_OPERATORS = [
  'NumericEquals',
  'NumericGreater',
  'NumericLesser',
  'NumericGreaterOrEquals',
  'NumericLesserOrEquals',
] as const;
/** The comparison operators aws:branch accepts (besides And, Or and Not). */
const BRANCH_OPERATORS = [...STRING_OPERATORS, ...NUMERIC_OPERATORS, 'BooleanEquals'] as const;
type BranchOperator = (typeof BRANCH_OPERATORS)[number];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One aws:branch condition: a Variable with one operator, or And / Or (a list of conditions), or Not (one). */
function checkCondition(condition: unknown, path: string, topLevel: boolean): InputProblem[] {
  const at = (p: string) => (path ? `${path}.${p}` : p);
  if (!isRecord(condition)) return [{ path, message: 'must be a condition (Variable with an operator, And, Or or Not)' }];
  const keys = Object.keys(condition).filter((k) => !(topLevel && k === 'NextStep'));
  for (const logical of ['And', 'Or'] as const) {
    if (!(logical in condition)) continue;
    const others = keys.filter((k) => k !== logical);
    if (others.length > 0) return [{ path, message: `${logical} cannot be combined with ${others.join(', ')}` }];
    const operands = condition[logical];
    if (!Array.isArray(operands) || operands.length === 0) return [{ path: at(logical), message: 'must be a non-empty list of conditions' }];
    return operands.flatMap((c, i) => checkCondition(c, `${at(logical)}[${i}]`, false));
  }
  if ('Not' in condition) {
    const others = keys.filter((k) => k !== 'Not');
    if (others.length > 0) return [{ path, message: `Not cannot be combined with ${others.join(', ')}` }];
    return checkCondition(condition.Not, at('Not'), false);
  }
  const problems: InputProblem[] = [];
  if (!('Variable' in condition)) problems.push({ path: at('Variable'), message: 'is required' });
  else if (!isWholeReference(condition.Variable)) {
    problems.push({ path: at('Variable'), message: 'must be a {{ parameter }} or {{ step.Output }} reference' });
  }
  const unknown = keys.filter((k) => k !== 'Variable' && !(BRANCH_OPERATORS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    problems.push({ path, message: `unknown operator ${unknown.join(', ')} (operators: ${BRANCH_OPERATORS.join(', ')}, And, Or, Not)` });
  }
  const operators = keys.filter((k): k is BranchOperator => (BRANCH_OPERATORS as readonly string[]).includes(k));
  if (operators.length !== 1) {
    if (unknown.length === 0) problems.push({ path, message: `needs exactly one operator, found ${operators.length}` });
    return problems;
  }
  const [operator] = operators as [BranchOperator];
  const value = condition[operator];
  if (isWholeReference(value)) return problems;
  if ((STRING_OPERATORS as readonly string[]).includes(operator) && typeof value !== 'string') {
    problems.push({ path: at(operator), message: 'must be a string' });
  } else if ((NUMERIC_OPERATORS as readonly string[]).includes(operator) && typeof value !== 'number') {
    problems.push({ path: at(operator), message: 'must be a number' });
  } else if (operator === 'BooleanEquals' && typeof value !== 'boolean') {
    problems.push({ path: at(operator), message: 'must be true or false' });
  }
  return problems;
}

/**
 * The Python runtimes aws:executeScript accepts (automation-action-executeScript; python3.6 and python3.7 are still
 * accepted by SSM for existing documents). Scripts run with the runner's Python (3.12 in AWS, the machine's python3
 * on the local stage) whatever the version named.
 */
export const PYTHON_SCRIPT_RUNTIMES = ['python3.6', 'python3.7', 'python3.8', 'python3.9', 'python3.10', 'python3.11'] as const;

/** AWS's longest aws:executeScript step (automation-action-executeScript: "up to a maximum duration of 600 seconds"). */
export const MAX_EXECUTE_SCRIPT_SECONDS = 600;
/** AWS's longest aws:invokeLambdaFunction step (automation-action-lamb: "up to a maximum duration of 300 seconds"). */
export const MAX_INVOKE_LAMBDA_SECONDS = 300;

const ISO_DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Seconds in an ISO 8601 duration with fixed-length units (weeks, days, hours, minutes, seconds); `undefined` for
 * text that is not such a duration. Years and months have no fixed length and are refused.
 *
 * @example
 * isoDurationSeconds('PT10M') // 600
 */
export function isoDurationSeconds(text: string): number | undefined {
  const m = ISO_DURATION.exec(text);
  if (!m || m[1] !== undefined || m[2] !== undefined) return undefined;
  const [w, d, h, min, s] = m.slice(3).map((v) => (v === undefined ? 0 : Number(v))) as [number, number, number, number, number];
  return w * 604_800 + d * 86_400 + h * 3_600 + min * 60 + s;
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;
/** AWS's longest aws:sleep (automation-action-sleep: "a maximum delay of 604799 seconds (7 days)"). */
export const MAX_SLEEP_SECONDS = 604_799;

export interface ActionRule<S extends z.ZodMiniType = z.ZodMiniType> {
  /** Shape and types of `inputs`. A strict object rejects inputs AWS does not document for the action. */
  inputs: S;
  /** Outputs the action always produces, readable as `{{ step.Name }}` whatever the step declares. */
  outputs: Readonly<Record<string, StepOutputType>>;
  /** The timeout AWS applies when a step sets no `timeoutSeconds`, where AWS documents one. */
  defaultTimeoutSeconds?: number;
  /** Rules across fields that a schema cannot say, run on inputs that passed the schema. */
  check?(inputs: z.output<S>): InputProblem[];
  /** Steps the inputs jump to (aws:branch), checked against the document's step names. */
  jumps?(inputs: z.output<S>): { path: string; step: string }[];
}
const rule = <S extends z.ZodMiniType>(r: ActionRule<S>): ActionRule<S> => r;

/**
 * The input rules of each supported action. A document with any other action (aws:copyImage, aws:createStack …)
 * is rejected when it is loaded.
 */
export const actionRules = {
  // automation-action-executeAwsApi: Service and Api required; every other input is an API parameter.
  'aws:executeAwsApi': rule({ inputs: z.looseObject(apiCall), outputs: {} }),

  // automation-action-waitForAwsResourceProperty: Service, Api, PropertySelector, DesiredValues; default timeout 1 h.
  'aws:waitForAwsResourceProperty': rule({
    inputs: z.looseObject(propertyCheck),
    outputs: {},
    defaultTimeoutSeconds: 3_600,
  }),

  // automation-action-assertAwsResourceProperty: the same inputs as the wait, evaluated once.
  'aws:assertAwsResourceProperty': rule({ inputs: z.looseObject(propertyCheck), outputs: {} }),

  // automation-action-branch: Choices (each with NextStep and a condition) and an optional Default step.
  'aws:branch': rule({
    inputs: z.strictObject({
      Choices: z.array(z.looseObject({ NextStep: nonEmpty })).check(z.minLength(1, 'must list at least one choice')),
      Default: z.optional(nonEmpty),
    }),
    outputs: {},
    check: (inputs) => inputs.Choices.flatMap((choice, i) => checkCondition(choice, `Choices[${i}]`, true)),
    jumps: (inputs) => [
      ...inputs.Choices.map((choice, i) => ({ path: `Choices[${i}].NextStep`, step: choice.NextStep })),
      ...(inputs.Default === undefined ? [] : [{ path: 'Default', step: inputs.Default }]),
    ],
  }),

  // automation-action-changestate: InstanceIds and DesiredState required; CheckStateOnly defaults to false;
  // default timeout 1 h. FailOnUnexpectedStopped appears in the current page's example.
  'aws:changeInstanceState': rule({
    inputs: z.strictObject({
      InstanceIds: stringList,
      DesiredState: orReference(z.enum(['running', 'stopped', 'terminated']), 'running, stopped or terminated'),
      CheckStateOnly: z._default(flag, false),
      Force: z.optional(flag),
      FailOnUnexpectedStopped: z.optional(flag),
      AdditionalInfo: z.optional(text),
    }),
    outputs: {},
    defaultTimeoutSeconds: 3_600,
  }),

  // automation-action-create: InstanceId and ImageName required; "supports most CreateImage parameters", so
  // other inputs pass through to CreateImage. Outputs ImageId and ImageState.
  'aws:createImage': rule({
    inputs: z.looseObject({
      InstanceId: nonEmpty,
      ImageName: nonEmpty,
      ImageDescription: z.optional(text),
      NoReboot: z.optional(flag),
    }),
    outputs: { ImageId: 'String', ImageState: 'String' },
  }),

  // automation-action-createtag: ResourceIds and Tags required; ResourceType EC2 (default), ManagedInstance,
  // MaintenanceWindow or Parameter; only EC2 takes several resources.
  'aws:createTags': rule({
    inputs: z.strictObject({
      ResourceIds: stringList,
      Tags: orReference(z.array(z.strictObject({ Key: nonEmpty, Value: z._default(text, '') })), 'a list of { Key, Value }'),
      ResourceType: z._default(
        orReference(z.enum(['EC2', 'ManagedInstance', 'MaintenanceWindow', 'Parameter']), 'EC2, ManagedInstance, MaintenanceWindow or Parameter'),
        'EC2',
      ),
    }),
    outputs: {},
    check: (inputs) =>
      inputs.ResourceType !== 'EC2' && !isWholeReference(inputs.ResourceType) && Array.isArray(inputs.ResourceIds) && inputs.ResourceIds.length > 1
        ? [{ path: 'ResourceIds', message: `a ${inputs.ResourceType} resource is tagged one at a time: list a single ID` }]
        : [],
  }),

  // automation-action-delete: ImageId only ("This action supports only one parameter").
  'aws:deleteImage': rule({ inputs: z.strictObject({ ImageId: nonEmpty }), outputs: {} }),

  // automation-action-sleep: Duration (ISO 8601, not negative) or Timestamp (ISO 8601); at most 604799 s.
  'aws:sleep': rule({
    inputs: z.strictObject({ Duration: z.optional(text), Timestamp: z.optional(text) }),
    outputs: {},
    check: ({ Duration, Timestamp }) => {
      if (Duration === undefined && Timestamp === undefined) return [{ path: 'Duration', message: 'Duration or Timestamp is required' }];
      if (Duration !== undefined && Timestamp !== undefined) return [{ path: 'Timestamp', message: 'give Duration or Timestamp, not both' }];
      if (Duration !== undefined && !isWholeReference(Duration)) {
        const seconds = isoDurationSeconds(Duration);
        if (seconds === undefined) return [{ path: 'Duration', message: 'must be an ISO 8601 duration in weeks, days, hours, minutes or seconds, such as PT10M' }];
        if (seconds > MAX_SLEEP_SECONDS) return [{ path: 'Duration', message: `must be at most ${MAX_SLEEP_SECONDS} seconds (7 days)` }];
      }
      if (Timestamp !== undefined && !isWholeReference(Timestamp) && (!ISO_TIMESTAMP.test(Timestamp) || Number.isNaN(Date.parse(Timestamp)))) {
        return [{ path: 'Timestamp', message: 'must be an ISO 8601 timestamp such as 2020-01-01T01:00:00Z' }];
      }
      return [];
    },
  }),

  // automation-action-pause: no inputs; resumed by a Resume signal.
  'aws:pause': rule({ inputs: z.strictObject({}), outputs: {} }),

  // automation-action-approve: Approvers required (at most 10); MinRequiredApprovals defaults to 1, positive, not
  // more than the approvers; Message at most 4096 characters; default timeout 7 days. Outputs ApprovalStatus and
  // ApproverDecisions.
  'aws:approve': rule({
    inputs: z.strictObject({
      Approvers: orReference(
        z.array(nonEmpty).check(z.minLength(1, 'must list at least one approver'), z.maxLength(10, 'can list at most 10 approvers')),
        'a list of 1 to 10 principals',
      ),
      MinRequiredApprovals: z._default(orReference(z.int().check(z.gte(1, 'must be at least 1')), 'a positive integer'), 1),
      NotificationArn: z.optional(text),
      Message: z.optional(text.check(z.maxLength(4096, 'must be at most 4096 characters'))),
    }),
    outputs: { ApprovalStatus: 'String', ApproverDecisions: 'MapList' },
    defaultTimeoutSeconds: 604_800,
    check: ({ Approvers, MinRequiredApprovals }) =>
      Array.isArray(Approvers) && typeof MinRequiredApprovals === 'number' && MinRequiredApprovals > Approvers.length
        ? [{ path: 'MinRequiredApprovals', message: `cannot exceed the ${Approvers.length} approver(s) listed` }]
        : [],
  }),

  // automation-action-runcommand: DocumentName required; InstanceIds (at most 50) or Targets; "supports most send
  // command parameters". Outputs CommandId, Status, ResponseCode and Output (the last two for a single node).
  // Output to S3, CloudWatch Logs and SNS notifications are not built: refused when the document is loaded.
  'aws:runCommand': rule({
    inputs: z.looseObject({
      DocumentName: nonEmpty,
      InstanceIds: z.optional(stringList),
      Targets: z.optional(orReference(z.array(z.looseObject({ Key: nonEmpty, Values: z.array(z.string()) })), 'a list of { Key, Values }')),
      Parameters: z.optional(orReference(mapping, 'a mapping of parameter names to values')),
      TimeoutSeconds: z.optional(orReference(z.int().check(z.gte(30, 'must be at least 30'), z.lte(2_592_000, 'must be at most 2592000')), 'a number of seconds')),
      Comment: z.optional(text.check(z.maxLength(100, 'must be at most 100 characters'))),
      DocumentVersion: z.optional(text),
      DocumentHash: z.optional(text),
      DocumentHashType: z.optional(text),
      MaxConcurrency: z.optional(text),
      MaxErrors: z.optional(text),
    }),
    outputs: { CommandId: 'String', Status: 'String', ResponseCode: 'Integer', Output: 'String' },
    check: (inputs) => {
      const problems: InputProblem[] = [];
      for (const refused of ['OutputS3BucketName', 'OutputS3KeyPrefix', 'OutputS3Region', 'CloudWatchOutputConfig', 'NotificationConfig', 'ServiceRoleArn', 'AlarmConfiguration']) {
        if (refused in inputs) problems.push({ path: refused, message: 'is not supported by opsauto\'s aws:runCommand (command output stays in the invocation; read it with the step\'s Output)' });
      }
      const known = ['DocumentName', 'InstanceIds', 'Targets', 'Parameters', 'TimeoutSeconds', 'Comment', 'DocumentVersion', 'DocumentHash', 'DocumentHashType', 'MaxConcurrency', 'MaxErrors'];
      for (const key of Object.keys(inputs)) {
        if (!known.includes(key) && !problems.some((p) => p.path === key)) problems.push({ path: key, message: `is not an input of aws:runCommand (${known.join(', ')})` });
      }
      if (inputs.InstanceIds === undefined && inputs.Targets === undefined) problems.push({ path: 'InstanceIds', message: 'InstanceIds or Targets is required' });
      if (inputs.InstanceIds !== undefined && inputs.Targets !== undefined) problems.push({ path: 'Targets', message: 'give InstanceIds or Targets, not both' });
      if (Array.isArray(inputs.InstanceIds) && inputs.InstanceIds.length > 50) problems.push({ path: 'InstanceIds', message: 'can list at most 50 instances (use Targets for more)' });
      return problems;
    },
  }),

  // automation-action-executeScript: Runtime required; Handler and Script for Python (inline scripts only: an
  // Attachment, a script stored with the document in S3, is refused, as are the PowerShell runtimes); InputPayload
  // a JSON/YAML object passed to the handler. Outputs Payload (what the handler returned) and ExecutionLog (what it
  // printed); at most 600 s.
  'aws:executeScript': rule({
    inputs: z.strictObject({
      Runtime: nonEmpty,
      Handler: z.optional(nonEmpty),
      Script: z.optional(text),
      InputPayload: z.optional(z.union([mapping, reference], { error: unlessMissing('must be a mapping of names to values or a {{ }} reference') })),
      Attachment: z.optional(text),
    }),
    outputs: { Payload: 'StringMap', ExecutionLog: 'String' },
    defaultTimeoutSeconds: MAX_EXECUTE_SCRIPT_SECONDS,
    check: ({ Runtime, Handler, Script, Attachment }) => {
      const problems: InputProblem[] = [];
      if (/powershell|dotnet/i.test(Runtime)) {
        problems.push({ path: 'Runtime', message: `${Runtime} is a PowerShell runtime: opsauto runs Python scripts only (${PYTHON_SCRIPT_RUNTIMES.join(', ')})` });
      } else if (!isWholeReference(Runtime) && !(PYTHON_SCRIPT_RUNTIMES as readonly string[]).includes(Runtime)) {
        problems.push({ path: 'Runtime', message: `must be one of the Python runtimes aws:executeScript accepts (${PYTHON_SCRIPT_RUNTIMES.join(', ')}), not ${Runtime}` });
      }
      if (Attachment !== undefined) problems.push({ path: 'Attachment', message: 'scripts attached to the document (Attachment) are not supported: put the script inline in Script' });
      else if (Script === undefined) problems.push({ path: 'Script', message: 'is required (opsauto runs inline scripts)' });
      if (Handler === undefined) problems.push({ path: 'Handler', message: 'is required: the name of the function in Script that is called with (events, context)' });
      return problems;
    },
  }),

  // automation-action-lamb: FunctionName required; Qualifier, InvocationType (Event, RequestResponse, DryRun),
  // LogType (None, Tail), ClientContext, Payload (a JSON string) or InputPayload (a mapping, which wins). Outputs
  // StatusCode, FunctionError, LogResult, ExecutedVersion and Payload; at most 300 s.
  'aws:invokeLambdaFunction': rule({
    inputs: z.strictObject({
      FunctionName: nonEmpty,
      Qualifier: z.optional(nonEmpty),
      InvocationType: z.optional(orReference(z.enum(['Event', 'RequestResponse', 'DryRun']), 'Event, RequestResponse or DryRun')),
      LogType: z.optional(orReference(z.enum(['None', 'Tail']), 'None or Tail')),
      ClientContext: z.optional(text),
      Payload: z.optional(text),
      InputPayload: z.optional(z.union([mapping, reference], { error: unlessMissing('must be a mapping of names to values or a {{ }} reference') })),
    }),
    outputs: { StatusCode: 'Integer', FunctionError: 'String', LogResult: 'String', ExecutedVersion: 'String', Payload: 'String' },
    defaultTimeoutSeconds: MAX_INVOKE_LAMBDA_SECONDS,
  }),

  // automation-action-executeAutomation: DocumentName required; DocumentVersion, RuntimeParameters. The rate
  // control inputs mirror StartAutomationExecution. Outputs Output, ExecutionId and Status.
  'aws:executeAutomation': rule({
    inputs: z.strictObject({
      DocumentName: nonEmpty,
      DocumentVersion: z.optional(text),
      RuntimeParameters: z.optional(orReference(mapping, 'a mapping of parameter names to values')),
      TargetParameterName: z.optional(text),
      Targets: z.optional(z.unknown()),
      TargetMaps: z.optional(z.unknown()),
      TargetLocations: z.optional(z.unknown()),
      MaxConcurrency: z.optional(text),
      MaxErrors: z.optional(text),
      Tags: z.optional(z.unknown()),
    }),
    outputs: { Output: 'StringList', ExecutionId: 'String', Status: 'String' },
  }),
};

export type SupportedAction = keyof typeof actionRules;


/** The inputs of a step running `A`, after validation and AWS's documented defaults. */
export type ActionInputs<A extends SupportedAction> = z.output<(typeof actionRules)[A]['inputs']>;

export const SUPPORTED_ACTIONS = Object.keys(actionRules) as SupportedAction[];

export function isSupportedAction(action: string): action is SupportedAction {
  return Object.hasOwn(actionRules, action);
}
