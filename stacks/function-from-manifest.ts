import type { OpsautoConfig } from '@opsauto/core';
import { functionEnvironment, type FunctionDefinition, type Permission, type ResourceScope } from '@opsauto/functions';
import { Duration, Stack, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Function as SstFunction, type FunctionProps } from 'sst/constructs';
import { nodejsBundling } from './bundling.js';

/**
 * Props every Lambda function of the app gets (`app.setDefaultFunctionProps`).
 * Tracing is off because X-Ray would add `xray:Put*` on `*` to every role, outside the manifest's permissions.
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
 * Every function also gets its own log group and an alarm on its Errors metric.
 *
 * @example
 * const fn = functionFromManifest(stack, definition, { config, stage: app.stage, tableName: name }, { retryAttempts: 2 });
 */
export function functionFromManifest(
  scope: Construct,
  definition: FunctionDefinition,
  wiring: FunctionWiring,
  extra: Pick<FunctionProps, 'retryAttempts' | 'onFailure' | 'maxEventAge'> = {},
): SstFunction {
  const id = constructId(definition.name);
  const environment = functionEnvironment(wiring.config, wiring.tableName);
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH });
  const fn = new SstFunction(scope, id, {
    handler: definition.handler,
    description: definition.description,
    timeout: definition.timeoutSeconds,
    memorySize: definition.memoryMB,
    environment: Object.fromEntries(definition.environment.map((key) => [key, environment[key]])),
    permissions: policyStatements(scope, definition, wiring.tableName),
    logGroup,
    ...extra,
  });
  Tags.of(fn).add(functionTag, definition.name);
  new cloudwatch.Alarm(scope, `${id}Errors`, {
    alarmDescription: `${definition.name}: at least one invocation failed in 5 minutes`,
    metric: fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  return fn;
}

/** `ami-publisher` -> `AmiPublisher`: readable CloudFormation logical IDs. */
export function constructId(name: string): string {
  return name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

/** One IAM statement per manifest permission, resources rendered for the stack's partition, region and account. */
function policyStatements(scope: Construct, definition: FunctionDefinition, tableName: string): iam.PolicyStatement[] {
  return definition.permissions.map((permission) => {
    assertGrantable(definition.name, permission);
    return new iam.PolicyStatement({
      effect: iam.Effect.ALLOW,
      actions: permission.actions,
      resources: permission.resources.flatMap((resource) => renderResource(scope, definition.name, resource, tableName)),
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

function renderResource(scope: Construct, functionName: string, resource: ResourceScope, tableName: string): string[] {
  const { partition, region, account } = Stack.of(scope);
  switch (resource.kind) {
    case 'table': {
      const tableArn = `arn:${partition}:dynamodb:${region}:${account}:table/${tableName}`;
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
    case 'ssm-opsitems':
      return resource.regions.map((r) => `arn:${partition}:ssm:${r}:${account}:opsitem/*`);
    case 'arns':
      return resource.arns;
    case 'any':
      return ['*'];
  }
}
