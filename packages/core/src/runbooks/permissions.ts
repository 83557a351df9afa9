import { ValidationError } from '../errors.js';
import type { Runbook, RunbookStep } from './document.js';

/*
 * What a runbook's steps may call, as IAM actions: the stacks grant a runbook role exactly these, so a role can do
 * what its runbooks do and nothing else. Derived from the document alone (no AWS call), at synth time.
 */

/** The IAM service prefix of each service aws:executeAwsApi can call, by the boto3 name documents use. */
export const IAM_SERVICE_PREFIXES: Readonly<Record<string, string>> = {
  ec2: 'ec2',
  rds: 'rds',
  s3: 's3',
  sns: 'sns',
  ssm: 'ssm',
};

/**
 * APIs whose IAM action is not `<prefix>:<Api>`, keyed `<service>:<api in lower case>` (IAM matches action names
 * without case). From the Service Authorization Reference, "Actions, resources, and condition keys for Amazon S3",
 * table "API operations defined by Amazon S3".
 */
export const IAM_ACTION_EXCEPTIONS: Readonly<Record<string, readonly string[]>> = {
  's3:getbucketencryption': ['s3:GetEncryptionConfiguration'],
  's3:putbucketencryption': ['s3:PutEncryptionConfiguration'],
  's3:deletebucketencryption': ['s3:PutEncryptionConfiguration'],
  's3:listobjects': ['s3:ListBucket'],
  's3:listobjectsv2': ['s3:ListBucket'],
  's3:listobjectversions': ['s3:ListBucketVersions'],
  's3:headbucket': ['s3:ListBucket'],
  's3:headobject': ['s3:GetObject'],
  's3:deleteobjects': ['s3:DeleteObject'],
  's3:copyobject': ['s3:GetObject', 's3:PutObject'],
  's3:getbucketlifecycleconfiguration': ['s3:GetLifecycleConfiguration'],
  's3:putbucketlifecycleconfiguration': ['s3:PutLifecycleConfiguration'],
  's3:getbucketreplication': ['s3:GetReplicationConfiguration'],
  's3:putbucketreplication': ['s3:PutReplicationConfiguration'],
  's3:getpublicaccessblock': ['s3:GetBucketPublicAccessBlock'],
  's3:putpublicaccessblock': ['s3:PutBucketPublicAccessBlock'],
};

type InstanceState = 'running' | 'stopped' | 'terminated';
type TagResourceType = 'EC2' | 'ManagedInstance' | 'MaintenanceWindow' | 'Parameter';

/**
 * The AWS APIs each built-in AWS action of the engine calls (packages/aws/src/runbooks/action-runner.ts), as IAM
 * actions. Actions the engine runs itself (aws:branch, aws:sleep, aws:pause, aws:approve) call no AWS API.
 */
export const BUILT_IN_ACTION_CALLS = {
  /** Reads the instances, asks for the change still needed; `running` also waits for the status checks. */
  'aws:changeInstanceState': {
    running: ['ec2:DescribeInstances', 'ec2:StartInstances', 'ec2:DescribeInstanceStatus'],
    stopped: ['ec2:DescribeInstances', 'ec2:StopInstances'],
    terminated: ['ec2:DescribeInstances', 'ec2:TerminateInstances'],
  } satisfies Record<InstanceState, string[]>,
  /** Looks for the image an earlier attempt made (by tag), creates it tagged (TagSpecifications need CreateTags). */
  'aws:createImage': ['ec2:DescribeImages', 'ec2:CreateImage', 'ec2:CreateTags'],
  /** Reads the image's snapshots, deregisters it, deletes them. */
  'aws:deleteImage': ['ec2:DescribeImages', 'ec2:DeregisterImage', 'ec2:DeleteSnapshot'],
  /** EC2 resources through EC2; the others through SSM. */
  'aws:createTags': {
    EC2: ['ec2:CreateTags'],
    ManagedInstance: ['ssm:AddTagsToResource'],
    MaintenanceWindow: ['ssm:AddTagsToResource'],
    Parameter: ['ssm:AddTagsToResource'],
  } satisfies Record<TagResourceType, string[]>,
  /** Looks for the command an interrupted start sent, sends it, then follows it and its invocations' output. */
  'aws:runCommand': ['ssm:ListCommands', 'ssm:SendCommand', 'ssm:ListCommandInvocations'],
  /** Invokes the function with the execution's role. */
  'aws:invokeLambdaFunction': ['lambda:InvokeFunction'],
  /** Publishes the approval request to NotificationArn, as the execution's role (only when the step names one). */
  'aws:approve': ['sns:Publish'],
} as const;

/** A runbook's permissions cannot be derived from the document: the stacks fail synth with this message. */
export class RunbookPermissionsError extends ValidationError {
  override name = 'RunbookPermissionsError';
}

const REFERENCE = /\{\{.*?\}\}/;

/**
 * The IAM actions a runbook's steps can call, sorted and without duplicates: `<prefix>:<Api>` for each
 * aws:executeAwsApi, aws:waitForAwsResourceProperty and aws:assertAwsResourceProperty step (with
 * IAM_ACTION_EXCEPTIONS), BUILT_IN_ACTION_CALLS for the built-in actions, and a child runbook's actions for
 * aws:executeAutomation (its DocumentName must be literal; `loadChild` finds it).
 *
 * @throws RunbookPermissionsError naming the step when a Service or Api is interpolated, a service is unknown, or a
 *   child runbook cannot be named or found (the automation's role must then be given explicitly).
 * @example
 * runbookIamActions(parseRunbook(text, { name: 'AWS-StopRdsInstance' })); // ['rds:DescribeDBInstances', 'rds:StopDBInstance']
 */
export function runbookIamActions(runbook: Runbook, loadChild?: (name: string) => Runbook | undefined): string[] {
  const actions = new Set<string>();
  collect(runbook, loadChild, actions, []);
  return [...actions].sort();
}

function collect(runbook: Runbook, loadChild: ((name: string) => Runbook | undefined) | undefined, into: Set<string>, chain: string[]): void {
  for (const step of runbook.mainSteps) {
    for (const action of stepActions(step, loadChild, chain)) into.add(action);
  }
}

function stepActions(step: RunbookStep, loadChild: ((name: string) => Runbook | undefined) | undefined, chain: string[]): string[] {
  const where = `step ${step.name} (${step.action})`;
  switch (step.action) {
    case 'aws:executeAwsApi':
    case 'aws:waitForAwsResourceProperty':
    case 'aws:assertAwsResourceProperty':
      return apiActions(step.inputs.Service, step.inputs.Api, where);
    case 'aws:changeInstanceState': {
      const table = BUILT_IN_ACTION_CALLS['aws:changeInstanceState'];
      const desired = step.inputs.DesiredState;
      // Interpolated: the parameter can ask for any of the three states.
      const states = REFERENCE.test(desired) ? (Object.keys(table) as InstanceState[]) : [desired as InstanceState];
      return states.flatMap((state) => table[state]);
    }
    case 'aws:createImage':
    case 'aws:deleteImage':
    case 'aws:runCommand':
      return [...BUILT_IN_ACTION_CALLS[step.action]];
    case 'aws:createTags': {
      const table = BUILT_IN_ACTION_CALLS['aws:createTags'];
      const type = step.inputs.ResourceType;
      const types = REFERENCE.test(type) ? (Object.keys(table) as TagResourceType[]) : [type as TagResourceType];
      return types.flatMap((t) => table[t]);
    }
    case 'aws:executeAutomation':
      return childActions(step.inputs.DocumentName, loadChild, chain, where);
    case 'aws:invokeLambdaFunction':
      return [...BUILT_IN_ACTION_CALLS['aws:invokeLambdaFunction']];
    case 'aws:executeScript':
      return scriptIamActions(step.inputs.Script ?? '', where);
    case 'aws:approve':
      return step.inputs.NotificationArn === undefined ? [] : [...BUILT_IN_ACTION_CALLS['aws:approve']];
    case 'aws:branch':
    case 'aws:sleep':
    case 'aws:pause':
      return [];
  }
}

function apiActions(service: unknown, api: unknown, where: string): string[] {
  if (typeof service !== 'string' || typeof api !== 'string' || REFERENCE.test(service) || REFERENCE.test(api)) {
    throw new RunbookPermissionsError(
      `${where}: Service and Api must be literal (found ${JSON.stringify(service)} / ${JSON.stringify(api)}); the actions it calls cannot be derived, so the automation's role must be given`,
      'Service',
    );
  }
  const prefix = IAM_SERVICE_PREFIXES[service.toLowerCase()];
  if (!prefix) {
    throw new RunbookPermissionsError(`${where}: Service ${JSON.stringify(service)} is not one the engine calls (${Object.keys(IAM_SERVICE_PREFIXES).join(', ')})`, 'Service');
  }
  const name = pascalCase(api);
  return [...(IAM_ACTION_EXCEPTIONS[`${prefix}:${name.toLowerCase()}`] ?? [`${prefix}:${name}`])];
}

/** boto3's `stop_db_instance` -> `StopDbInstance`; `StopDBInstance` stays as it is (IAM ignores case). */
function pascalCase(api: string): string {
  return api
    .split('_')
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

function childActions(name: string, loadChild: ((name: string) => Runbook | undefined) | undefined, chain: string[], where: string): string[] {
  if (REFERENCE.test(name)) {
    throw new RunbookPermissionsError(
      `${where}: DocumentName ${JSON.stringify(name)} is interpolated, so the child runbook's actions cannot be derived; the automation's role must be given`,
      'DocumentName',
    );
  }
  // A runbook that starts itself (directly or not) adds nothing new the second time round.
  if (chain.includes(name)) return [];
  const child = loadChild?.(name);
  if (!child) throw new RunbookPermissionsError(`${where}: child runbook ${name} is not known, so its actions cannot be derived`, 'DocumentName');
  const into = new Set<string>();
  collect(child, loadChild, into, [...chain, name]);
  return [...into];
}

/** The boto3 services a script's calls are derived for, by boto3 name: those of executeAwsApi, and STS. */
const SCRIPT_SERVICE_PREFIXES: Readonly<Record<string, string>> = { ...IAM_SERVICE_PREFIXES, sts: 'sts' };

/** Client methods that are not API calls (paginators and waiters are read for the API they call). */
const CLIENT_HELPERS = new Set(['get_paginator', 'get_waiter', 'can_paginate', 'close', 'exceptions', 'meta', 'generate_presigned_url', 'generate_presigned_post']);

/** Calls that need no permission (AWS: GetCallerIdentity is allowed to every principal). */
const NO_PERMISSION = new Set(['sts:GetCallerIdentity']);

/** The API each boto3 waiter polls, for the waiters AWS-authored scripts use. */
const WAITER_APIS: Readonly<Record<string, string>> = {
  'ec2:instance_exists': 'DescribeInstances',
  'ec2:instance_running': 'DescribeInstances',
  'ec2:instance_stopped': 'DescribeInstances',
  'ec2:instance_terminated': 'DescribeInstances',
  'ec2:instance_status_ok': 'DescribeInstanceStatus',
  'ec2:system_status_ok': 'DescribeInstanceStatus',
  'ec2:volume_available': 'DescribeVolumes',
  'ec2:volume_in_use': 'DescribeVolumes',
  'ec2:volume_deleted': 'DescribeVolumes',
  'ec2:snapshot_completed': 'DescribeSnapshots',
  'ec2:image_available': 'DescribeImages',
  'ec2:image_exists': 'DescribeImages',
  'rds:db_instance_available': 'DescribeDBInstances',
  'rds:db_instance_deleted': 'DescribeDBInstances',
  'rds:db_snapshot_available': 'DescribeDBSnapshots',
  'rds:db_snapshot_completed': 'DescribeDBSnapshots',
  'rds:db_snapshot_deleted': 'DescribeDBSnapshots',
  's3:bucket_exists': 'HeadBucket',
  's3:object_exists': 'HeadObject',
};

const CLIENT_CALL = /\.client\(\s*(?:service_name\s*=\s*)?(['"])([\w-]+)\1/;
const CLIENT_BINDING = /^\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\s*(?::[^=]+)?=\s*[\w.]*\.client\(\s*(?:service_name\s*=\s*)?(['"])([\w-]+)\2/gm;
const CHAINED_CALL = /\.client\(\s*(?:service_name\s*=\s*)?(['"])([\w-]+)\1[^()]*\)\s*\.\s*(\w+)\s*\(\s*(?:(['"])(\w+)\4)?/g;

/**
 * The IAM actions an aws:executeScript step's Python script calls, read from its boto3 clients: a client bound to a
 * name (`ec2 = boto3.client('ec2')`, `self.rds = session.client(service_name='rds')`) and the methods called on that
 * name (`ec2.describe_volumes(...)`), paginators (`get_paginator('describe_snapshots')`) and the common waiters, or a
 * call straight on `boto3.client('ssm').get_parameter(...)`. The script runs as the execution's role, so what is
 * read here is what that role is granted.
 *
 * @throws RunbookPermissionsError naming the step when the script uses boto3 in a way whose calls cannot be read:
 *   `boto3.resource`, a client of a service named by a variable, a service or waiter the table does not know.
 * @example
 * scriptIamActions("ec2 = boto3.client('ec2')\nec2.create_tags(Resources=[v], Tags=t)", 'step tag'); // ['ec2:CreateTags']
 */
export function scriptIamActions(script: string, where: string): string[] {
  const refuse = (what: string) =>
    new RunbookPermissionsError(`${where}: the script ${what}, so the AWS calls it makes cannot be derived; the automation's role must be given`, 'Script');
  const code = script.replace(/^\s*#.*$/gm, '');
  if (/\.resource\(/.test(code)) throw refuse('uses boto3 resources (boto3.resource)');
  const clientCalls = code.match(/\.client\(\s*[^)]*\)/g) ?? [];
  const literal = clientCalls.filter((c) => CLIENT_CALL.test(c));
  if (literal.length !== clientCalls.length) throw refuse(`makes a client of a service it names at run time (${clientCalls.find((c) => !CLIENT_CALL.test(c))})`);
  const actions = new Set<string>();
  const add = (service: string, method: string, argument: string | undefined) => {
    const prefix = SCRIPT_SERVICE_PREFIXES[service.toLowerCase()];
    if (!prefix) throw refuse(`calls ${service}, which is not a service opsauto derives permissions for (${Object.keys(SCRIPT_SERVICE_PREFIXES).join(', ')})`);
    let api: string | undefined;
    if (method === 'get_paginator') api = argument;
    else if (method === 'get_waiter') {
      api = argument === undefined ? undefined : WAITER_APIS[`${prefix}:${argument}`];
      if (api === undefined) throw refuse(`waits with ${service} waiter ${argument ?? '(named at run time)'}, which opsauto does not know`);
    } else if (!CLIENT_HELPERS.has(method)) api = method;
    if (api === undefined) return;
    const name = pascalCase(api);
    for (const action of IAM_ACTION_EXCEPTIONS[`${prefix}:${name.toLowerCase()}`] ?? [`${prefix}:${name}`]) if (!NO_PERMISSION.has(action)) actions.add(action);
  };
  for (const m of code.matchAll(CHAINED_CALL)) add(m[2], m[3], m[5]);
  const bindings = new Map<string, Set<string>>();
  for (const m of code.matchAll(CLIENT_BINDING)) {
    const services = bindings.get(m[1]) ?? new Set<string>();
    services.add(m[3]);
    bindings.set(m[1], services);
  }
  for (const [name, services] of bindings) {
    const call = new RegExp(`(?<![\\w.])${name.replace('.', '\\.')}\\s*\\.\\s*(\\w+)\\s*\\(\\s*(?:(['"])(\\w+)\\2)?`, 'g');
    for (const m of code.matchAll(call)) for (const service of services) add(service, m[1], m[3]);
  }
  return [...actions].sort();
}
