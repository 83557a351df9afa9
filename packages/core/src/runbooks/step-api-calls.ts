import type { RunbookStep } from './document.js';
import { BUILT_IN_ACTION_CALLS } from './permissions.js';

/**
 * The AWS API operations a step calls, as `service:Operation` (the service as boto3 and executeAwsApi name it, the
 * operation in PascalCase); or the child runbook it runs; or why its calls cannot be known before it runs.
 */
export type StepApiCalls = { kind: 'calls'; calls: string[] } | { kind: 'child'; documentName: string } | { kind: 'unchecked'; reason: string };

const REFERENCE = /\{\{.*?\}\}/;

/**
 * What a step calls, for `runbook start --dry-run` to say whether the local stage serves it: executeAwsApi and the
 * property actions' Service/Api, the calls of each built-in action (BUILT_IN_ACTION_CALLS), an aws:approve with a
 * NotificationArn's sns:Publish, aws:runCommand's SSM calls, aws:invokeLambdaFunction's lambda:Invoke, aws:executeScript's boto3 calls as far as the script text shows them
 * (`x = boto3.client('ec2')` then `x.describe_volumes(…)` or `x.get_paginator('describe_volumes')`), and the child
 * of aws:executeAutomation. Interpolated names, and actions it does not know, are `unchecked`, with the reason.
 *
 * @example
 * stepApiCalls({ name: 'stop', action: 'aws:executeAwsApi', inputs: { Service: 'rds', Api: 'StopDBInstance' } } as RunbookStep);
 * // { kind: 'calls', calls: ['rds:StopDBInstance'] }
 */
export function stepApiCalls(step: Pick<RunbookStep, 'action' | 'inputs'>): StepApiCalls {
  const inputs = step.inputs as Record<string, unknown>;
  // The built-in actions' IAM actions are their operations' own names (EC2, SSM, SNS).
  const iam = (actions: readonly string[]): StepApiCalls => ({ kind: 'calls', calls: [...actions] });
  // A plain string: actions other parts of the engine add (aws:executeScript …) are handled before they are known here.
  switch (step.action as string) {
    case 'aws:executeAwsApi':
    case 'aws:waitForAwsResourceProperty':
    case 'aws:assertAwsResourceProperty': {
      const { Service: service, Api: api } = inputs;
      if (typeof service !== 'string' || typeof api !== 'string' || REFERENCE.test(service) || REFERENCE.test(api)) {
        return { kind: 'unchecked', reason: 'Service/Api are interpolated' };
      }
      return { kind: 'calls', calls: [`${service.toLowerCase()}:${pascalCase(api)}`] };
    }
    case 'aws:changeInstanceState': {
      const table = BUILT_IN_ACTION_CALLS['aws:changeInstanceState'];
      const desired = inputs.DesiredState;
      const states = typeof desired === 'string' && Object.hasOwn(table, desired) ? [desired as keyof typeof table] : (Object.keys(table) as (keyof typeof table)[]);
      return iam([...new Set(states.flatMap((s) => table[s]))]);
    }
    case 'aws:createImage':
      return iam(BUILT_IN_ACTION_CALLS['aws:createImage']);
    case 'aws:deleteImage':
      return iam(BUILT_IN_ACTION_CALLS['aws:deleteImage']);
    case 'aws:createTags': {
      const table = BUILT_IN_ACTION_CALLS['aws:createTags'];
      const type = inputs.ResourceType;
      const types = typeof type === 'string' && Object.hasOwn(table, type) ? [type as keyof typeof table] : (Object.keys(table) as (keyof typeof table)[]);
      return iam([...new Set(types.flatMap((t) => table[t]))]);
    }
    case 'aws:approve':
      return iam(inputs.NotificationArn === undefined ? [] : BUILT_IN_ACTION_CALLS['aws:approve']);
    case 'aws:runCommand':
      // Sends the command (after looking for one an interrupted start sent), then follows it and its invocations.
      return { kind: 'calls', calls: ['ssm:SendCommand', 'ssm:ListCommands', 'ssm:ListCommandInvocations'] };
    case 'aws:invokeLambdaFunction':
      // The API operation is Invoke; IAM calls the permission lambda:InvokeFunction.
      return { kind: 'calls', calls: ['lambda:Invoke'] };
    case 'aws:executeAutomation': {
      const name = inputs.DocumentName;
      if (typeof name !== 'string' || REFERENCE.test(name)) return { kind: 'unchecked', reason: 'DocumentName is interpolated' };
      return { kind: 'child', documentName: name };
    }
    case 'aws:executeScript':
      return scriptCalls(inputs.Script);
    case 'aws:branch':
    case 'aws:sleep':
    case 'aws:pause':
      return { kind: 'calls', calls: [] };
    default:
      return { kind: 'unchecked', reason: `the calls of ${step.action} are not known to this check` };
  }
}

/** boto3 calls in a script's text: the clients it makes and the methods it calls on them. */
function scriptCalls(script: unknown): StepApiCalls {
  if (typeof script !== 'string' || script.trim() === '') return { kind: 'unchecked', reason: 'script: not checked (no inline Script)' };
  const clients = new Map<string, string>();
  for (const m of script.matchAll(/\b([A-Za-z_]\w*)\s*=\s*boto3\.(?:session\.Session\(\)\.)?client\(\s*['"]([\w-]+)['"]/g)) clients.set(m[1] ?? '', m[2] ?? '');
  const calls = new Set<string>();
  for (const m of script.matchAll(/\bboto3\.client\(\s*['"]([\w-]+)['"][^)]*\)\s*\.\s*([a-z_][a-z0-9_]*)\s*\(/g)) calls.add(`${m[1]}:${pascalCase(m[2] ?? '')}`);
  for (const [variable, service] of clients) {
    const escaped = variable.replace(/[^\w]/g, '');
    for (const m of script.matchAll(new RegExp(`\\b${escaped}\\s*\\.\\s*([a-z_][a-z0-9_]*)\\s*\\(\\s*(?:['"]([a-z_][a-z0-9_]*)['"])?`, 'g'))) {
      const method = m[1] ?? '';
      if (method === 'get_paginator' || method === 'get_waiter') {
        if (method === 'get_paginator' && m[2]) calls.add(`${service}:${pascalCase(m[2])}`);
        continue;
      }
      if (method === 'close' || method.startsWith('_')) continue;
      calls.add(`${service}:${pascalCase(method)}`);
    }
  }
  if (calls.size === 0) return { kind: 'unchecked', reason: 'script: not checked (no boto3 client calls found in its text)' };
  return { kind: 'calls', calls: [...calls].sort() };
}

/** `describe_db_instances` -> `DescribeDbInstances`; `StopDBInstance` stays (compare without case). */
function pascalCase(api: string): string {
  return api
    .split('_')
    .filter(Boolean)
    .map((part) => (part[0] ?? '').toUpperCase() + part.slice(1))
    .join('');
}

/**
 * Which of `calls` a set of emulated `service:Operation` pairs does not serve (compared without case: boto3's
 * `describe_db_instances` is RDS's DescribeDBInstances).
 *
 * @example
 * missingCalls(['ec2:DescribeVolumes', 'ec2:CopySnapshot'], ['ec2:DescribeVolumes']); // ['ec2:CopySnapshot']
 */
export function missingCalls(calls: readonly string[], emulated: Iterable<string>): string[] {
  const served = new Set([...emulated].map((e) => e.toLowerCase()));
  return calls.filter((c) => !served.has(c.toLowerCase()));
}
