import type { OpsautoConfig } from '@opsauto/core';
import { join } from 'node:path';
import {
  escalationTopicName,
  eventBusName,
  functionEnvironment,
  notificationTopicName,
  functionPhysicalName,
  observabilityEnvironment,
  hybridNodeRoleName,
  runbookAutomations,
  runbookRoleName,
  type FunctionDefinition,
  type Permission,
  type ResourceScope,
} from '@opsauto/functions';
import { Duration, Stack, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Function as SstFunction, type FunctionProps } from 'sst/constructs';
import { useProject } from 'sst/project.js';
import { nodejsBundling } from './bundling.js';
import { alarmTopicAction, errorsAlarmName } from './observability.js';

/**
 * Props every Lambda function of the app gets (`app.setDefaultFunctionProps`).
 * Tracing is off because X-Ray would add `xray:Put*` on `*` to every role, outside the manifest's permissions;
 * `observability.tracing` turns it on for the Node.js functions (functionFromManifest).
 */
export const functionDefaults = {
  runtime: 'nodejs22.x',
  architecture: 'arm_64',
  tracing: 'disabled',
  nodejs: nodejsBundling,
} as const satisfies FunctionProps;

/** Tag that names the manifest function a resource belongs to (also how tests find them). */
export const functionTag = 'opsauto:function';

/** What a stack needs to know to turn a manifest entry into a function. */
export interface FunctionWiring {
  config: OpsautoConfig;
  stage: string;
  /** Physical name of the state table (`tableName(app, stage)`); its ARN is rendered in the function's stack. */
  tableName: string;
}

/**
 * Turns one manifest entry into an SST Function with least-privilege IAM: one statement per manifest permission,
 * nothing else but the basic execution role (logging) and whatever `extra` adds (e.g. an on-failure destination).
 * Every function also gets its own log group and an alarm on its Errors metric; a function with `wakeUp` also gets
 * the role EventBridge Scheduler acts as when the function's own schedules invoke it (see `wakeUpRole`).
 *
 * @example
 * const fn = functionFromManifest(stack, definition, { config, stage: app.stage, tableName: name }, { retryAttempts: 2 });
 */
export function functionFromManifest(
  scope: Construct,
  definition: FunctionDefinition,
  wiring: FunctionWiring,
  extra: Pick<FunctionProps, 'retryAttempts' | 'onFailure' | 'maxEventAge'> = {},
): SstFunction | lambda.Function {
  const id = constructId(definition.name);
  assertWakeUpWiring(definition);
  // Created before the function, which names it in its environment and may pass it (iam:PassRole); the role's
  // permission to invoke the function is attached afterwards as a separate policy, so there is no cycle.
  const wakeUp = definition.wakeUp ? wakeUpRole(scope, id, definition.name) : undefined;
  const environment = functionEnvironment(wiring.config, wiring.tableName, wakeUp?.roleArn ?? '', stageTopicArns(scope, wiring.tableName));
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH });
  const permissions = policyStatements(scope, definition, { config: wiring.config, tableName: wiring.tableName, wakeUpPrefix: environment.WAKE_UP_PREFIX, wakeUp });
  if (definition.python) {
    // A plain CDK function: the directory as is (boto3 comes with the runtime), no Docker bundling.
    const fn = new lambda.Function(scope, id, {
      functionName: functionPhysicalName(wiring.tableName, definition.name),
      runtime: new lambda.Runtime(definition.python.runtime, lambda.RuntimeFamily.PYTHON),
      architecture: lambda.Architecture.ARM_64,
      code: lambda.Code.fromAsset(join(useProject().paths.root, definition.python.code), { exclude: ['__pycache__', '*.pyc'] }),
      handler: definition.handler,
      description: definition.description,
      timeout: Duration.seconds(definition.timeoutSeconds),
      memorySize: definition.memoryMB,
      environment: Object.fromEntries(definition.environment.map((key) => [key, environment[key]])),
      logGroup,
      ...extra,
    });
    for (const statement of permissions) fn.addToRolePolicy(statement);
    Tags.of(fn).add(functionTag, definition.name);
    errorsAlarm(scope, id, definition.name, fn, wiring.tableName);
    return fn;
  }
  const fn = new SstFunction(scope, id, {
    handler: definition.handler,
    description: definition.description,
    timeout: definition.timeoutSeconds,
    memorySize: definition.memoryMB,
    // The manifest's variables, and the stage and tracing settings every Node.js function reads (metrics, tracer).
    environment: { ...Object.fromEntries(definition.environment.map((key) => [key, environment[key]])), ...observabilityEnvironment(wiring.config, wiring.stage) },
    // Active tracing brings its own xray:PutTraceSegments and xray:PutTelemetryRecords on `*` (X-Ray has no resources).
    tracing: wiring.config.observability.tracing ? 'active' : 'disabled',
    permissions,
    logGroup,
    ...(definition.files ? { copyFiles: definition.files.map(({ from, to }) => ({ from, to })) } : {}),
    ...extra,
  });
  Tags.of(fn).add(functionTag, definition.name);
  if (wakeUp) {
    Tags.of(wakeUp).add(functionTag, definition.name);
    // The function's ARN and its versions and aliases, in case a wake-up ever targets a qualified ARN.
    wakeUp.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn, `${fn.functionArn}:*`] }),
    );
  }
  errorsAlarm(scope, id, definition.name, fn, wiring.tableName);
  return fn;
}

/**
 * The ARNs of the stage's notification and escalation topics, by name (buildAutomation creates the topics): a
 * function in another stack names them without a reference between the stacks.
 */
export function stageTopicArns(scope: Construct, tableName: string): { notification: string; escalation: string } {
  const { partition, region, account } = Stack.of(scope);
  const arn = (name: string) => `arn:${partition}:sns:${region}:${account}:${name}`;
  return { notification: arn(notificationTopicName(tableName)), escalation: arn(escalationTopicName(tableName)) };
}

/**
 * An alarm on the function's Errors metric: at least one failed invocation in 5 minutes. Named (errorsAlarmName) so
 * that the dashboard shows it without a reference between the stacks; it notifies the stage's alarm topic.
 */
function errorsAlarm(scope: Construct, id: string, name: string, fn: lambda.Function, tableName: string): void {
  const alarm = new cloudwatch.Alarm(scope, `${id}Errors`, {
    alarmName: errorsAlarmName(tableName, name),
    alarmDescription: `${name}: at least one invocation failed in 5 minutes`,
    metric: fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(alarmTopicAction(scope, tableName));
}

/** `ami-publisher` -> `AmiPublisher`: readable CloudFormation logical IDs. */
export function constructId(name: string): string {
  return name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

/**
 * The role EventBridge Scheduler assumes to invoke a `wakeUp` function from the one-time schedules the function
 * creates. Trusted by scheduler.amazonaws.com for this account only (aws:SourceAccount, against the confused
 * deputy); its one permission, invoking the function, is added once the function exists.
 */
function wakeUpRole(scope: Construct, id: string, functionName: string): iam.Role {
  return new iam.Role(scope, `${id}WakeUpRole`, {
    description: `EventBridge Scheduler invokes ${functionName} at the wake-ups it schedules`,
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  });
}

/** Wake-up scopes and WAKE_UP_* variables only make sense for a function that has a wake-up role. */
function assertWakeUpWiring(definition: FunctionDefinition): void {
  if (definition.wakeUp) return;
  const scope = definition.permissions.flatMap((p) => p.resources).find((r) => r.kind === 'wake-up-role' || r.kind === 'wake-up-schedules');
  if (scope) throw new Error(`manifest function ${definition.name}: resource scope "${scope.kind}" needs wakeUp: true`);
  if (definition.environment.includes('WAKE_UP_ROLE_ARN')) {
    throw new Error(`manifest function ${definition.name}: WAKE_UP_ROLE_ARN needs wakeUp: true`);
  }
}

/** What resource scopes render to besides the stack's partition, region and account. */
interface ScopeContext {
  config: OpsautoConfig;
  tableName: string;
  wakeUpPrefix: string;
  wakeUp: iam.IRole | undefined;
}

/** One IAM statement per manifest permission, resources rendered for the stack's partition, region and account. */
function policyStatements(scope: Construct, definition: FunctionDefinition, context: ScopeContext): iam.PolicyStatement[] {
  return definition.permissions.map((permission) => {
    assertGrantable(definition.name, permission);
    return new iam.PolicyStatement({
      effect: iam.Effect.ALLOW,
      actions: permission.actions,
      resources: permission.resources.flatMap((resource) => renderResource(scope, definition.name, resource, context)),
      ...(permission.conditions ? { conditions: permission.conditions } : {}),
    });
  });
}

function assertGrantable(functionName: string, permission: Permission): void {
  if (permission.actions.length === 0 || permission.resources.length === 0) {
    throw new Error(`manifest function ${functionName}: a permission needs at least one action and one resource`);
  }
  // Wildcard actions defeat the point of listing them; an API without resource-level permissions uses scope `any`.
  const wildcard = permission.actions.find((action) => action === '*' || action.endsWith(':*'));
  if (wildcard) throw new Error(`manifest function ${functionName}: wildcard action "${wildcard}" is not allowed`);
}

function renderResource(scope: Construct, functionName: string, resource: ResourceScope, context: ScopeContext): string[] {
  const { partition, region, account } = Stack.of(scope);
  switch (resource.kind) {
    case 'table': {
      const tableArn = `arn:${partition}:dynamodb:${region}:${account}:table/${context.tableName}`;
      return [tableArn, `${tableArn}/index/*`];
    }
    case 'ssm-parameter-path': {
      // Parameter ARNs are `parameter` + the full name: `parameter/opsauto/ami/...`, never `parameter//opsauto`.
      if (!resource.path.startsWith('/') || resource.path === '/') {
        throw new Error(
          `manifest function ${functionName}: parameter path "${resource.path}" must be an absolute path below the root`,
        );
      }
      return resource.regions.map((r) => `arn:${partition}:ssm:${r}:${account}:parameter${resource.path}*`);
    }
    case 'ssm-parameter-paths':
      return [...new Set(resource.paths.flatMap((path) => parameterPathArns(`arn:${partition}:ssm:${region}:${account}:parameter`, path)))];
    case 'notification-topics': {
      const topics = stageTopicArns(scope, context.tableName);
      return [topics.notification, topics.escalation];
    }
    case 'hybrid-node-roles':
      // By name: the stage's role is created in the Api stack, the config's exist already.
      return [...new Set([hybridNodeRoleName(context.tableName), ...context.config.activations.iamRoles])].map((name) => `arn:${partition}:iam::${account}:role/${name}`);
    case 'ssm-opsitems':
      return resource.regions.map((r) => `arn:${partition}:ssm:${r}:${account}:opsitem/*`);
    case 'ssm-managed-instances':
      return [`arn:${partition}:ssm:${region}:${account}:managed-instance/*`];
    case 'default-bus':
      return [`arn:${partition}:events:${region}:${account}:event-bus/default`];
    case 'opsauto-bus':
      return [`arn:${partition}:events:${region}:${account}:event-bus/${eventBusName(context.tableName)}`];
    case 'runbook-roles':
      // By name, not by reference: the roles trust the worker's role, so a reference back would be a cycle.
      return runbookAutomations(context.config).map((a) => `arn:${partition}:iam::${account}:role/${runbookRoleName(context.tableName, a.name)}`);
    case 'ssm-documents':
      // AWS-owned documents (AWS-StopEC2Instance …) have no account in their ARN.
      return [`arn:${partition}:ssm:${region}::document/*`, `arn:${partition}:ssm:${region}:${account}:document/*`];
    case 'wake-up-schedules':
      // The worker creates its wake-ups in the default schedule group.
      return [`arn:${partition}:scheduler:${region}:${account}:schedule/default/${context.wakeUpPrefix}*`];
    case 'wake-up-role':
      if (!context.wakeUp) throw new Error(`manifest function ${functionName}: resource scope "wake-up-role" needs wakeUp: true`);
      return [context.wakeUp.roleArn];
    case 'function':
      return [`arn:${partition}:lambda:${region}:${account}:function:${functionPhysicalName(context.tableName, resource.name)}`];
    case 'arns':
      return resource.arns;
    case 'any':
      return ['*'];
  }
}

/**
 * Parameter ARNs below a path: `/` is every parameter (`parameter/*`, names without a leading slash included);
 * `/app` or `/app/` is the parameter `/app` and everything below it, never `/apple`.
 */
export function parameterPathArns(prefix: string, path: string): string[] {
  const p = path.replace(/\/+$/, '');
  return p === '' ? [`${prefix}/*`] : [`${prefix}${p}`, `${prefix}${p}/*`];
}
