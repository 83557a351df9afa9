import { escalationTopicName, eventBusName, manifest, notificationTopicName, scheduledEventInput, type FunctionDefinition } from '@opsauto/functions';
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { dependsOn, use, type Function as SstFunction, type StackContext } from 'sst/constructs';
import { useProject } from 'sst/project.js';
import config from '../opsauto.config.js';
import { constructId, functionFromManifest, type FunctionWiring } from './function-from-manifest.js';
import { alarmTopicAction, failedInvocationsAlarmName } from './observability.js';
import { buildRunbookRoles } from './runbook-roles.js';
import { Storage } from './storage.js';

/** Lambda's asynchronous retries after the first failed attempt (events and schedules are asynchronous invokes). */
const asyncRetryAttempts = 2;

/**
 * Every manifest function that is not purely an HTTP handler: those with schedule or event triggers, and those with
 * no trigger at all (invoked directly). Each function exists once in the app; the Api stack routes to these when
 * they also have HTTP triggers.
 */
export function Automation({ stack, app }: StackContext) {
  const { tableName } = use(Storage);
  dependsOn(Storage);
  const definitions = manifest(config).filter(builtByAutomation);
  const automation = buildAutomation(stack, definitions, { config, stage: app.stage, tableName });
  stack.addOutputs({
    FailedInvocationsQueueUrl: automation.failures.queueUrl,
    ...(automation.topics ? { NotificationTopicArn: automation.topics.notification.topicArn, EscalationTopicArn: automation.topics.escalation.topicArn } : {}),
  });
  return automation;
}

/** True when every trigger of a function is an HTTP route (the Api stack owns such functions). */
export function isHttpOnly(definition: FunctionDefinition): boolean {
  return definition.triggers.length > 0 && definition.triggers.every((trigger) => trigger.type === 'http');
}

/**
 * Detail types only the stack's own roles may put on opsauto's bus: each makes opsauto act on what the event says.
 * `Runbook Execution Dispatched` is not among them: it only names executions already in the table (the CLI, acting
 * as its operator, dispatches the ones it starts), and the worker runs an execution once however often it is named.
 */
export const GUARDED_DETAIL_TYPES = ['Runbook Execution Requested', 'Runbook Image Created'] as const;

/**
 * True when the function may put guarded events on opsauto's bus (its role is named in the bus policy): a PutEvents
 * permission on the bus that its IAM condition does not keep to unguarded detail types.
 */
export function publishesOnOpsautoBus(definition: FunctionDefinition): boolean {
  return definition.permissions.some((p) => {
    if (!p.actions.includes('events:PutEvents') || !p.resources.some((r) => r.kind === 'opsauto-bus')) return false;
    const types = p.conditions?.StringEquals?.['events:detail-type'];
    if (types === undefined) return true;
    return [types].flat().some((t) => (GUARDED_DETAIL_TYPES as readonly string[]).includes(t));
  });
}

/** True when the function may assume the runbook roles (the roles trust it). */
export function assumesRunbookRoles(definition: FunctionDefinition): boolean {
  return definition.permissions.some((p) => p.actions.includes('sts:AssumeRole') && p.resources.some((r) => r.kind === 'runbook-roles'));
}

/**
 * Functions this stack builds: all but the HTTP-only ones, and those too when they publish on opsauto's bus,
 * because the bus policy names their roles (the Api stack reusing them keeps the stacks free of a cycle).
 */
export function builtByAutomation(definition: FunctionDefinition): boolean {
  return !isHttpOnly(definition) || publishesOnOpsautoBus(definition);
}

/**
 * Functions, opsauto's event bus and its policy, EventBridge rules (on the default bus or opsauto's), EventBridge
 * Scheduler schedules, the runbook roles, one queue for failed asynchronous invocations, and alarms, for the given
 * manifest entries. Exported so that tests can build it from fixture entries.
 */
export function buildAutomation(scope: Construct, definitions: FunctionDefinition[], wiring: FunctionWiring) {
  const stack = Stack.of(scope);
  const failures = new sqs.Queue(scope, 'FailedInvocations', {
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const failuresAlarm = failures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }).createAlarm(scope, 'FailedInvocationsAlarm', {
    alarmName: failedInvocationsAlarmName(wiring.tableName),
    alarmDescription: 'An asynchronous invocation failed after its retries; see the FailedInvocations queue',
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  failuresAlarm.addAlarmAction(alarmTopicAction(scope, wiring.tableName));

  const usesBus = definitions.some((d) => publishesOnOpsautoBus(d) || d.triggers.some((t) => t.type === 'event' && t.bus === 'opsauto'));
  const bus = usesBus
    ? new events.EventBus(scope, 'Bus', { eventBusName: eventBusName(wiring.tableName), description: "opsauto's own events: runbook requests, dispatches, images" })
    : undefined;

  const topics = definitions.some(usesNotificationTopics) ? notificationTopics(scope, wiring.tableName) : undefined;

  const functions: Record<string, SstFunction | lambda.Function> = {};
  for (const definition of definitions) {
    const id = constructId(definition.name);
    // An HTTP-only function built here (see builtByAutomation) is invoked synchronously: no async retries.
    const asyncExtras = isHttpOnly(definition) ? {} : { retryAttempts: asyncRetryAttempts, onFailure: new destinations.SqsDestination(failures) };
    const fn = functionFromManifest(scope, definition, wiring, asyncExtras);
    functions[definition.name] = fn;

    let schedulerRole: iam.Role | undefined;
    for (const trigger of definition.triggers) {
      switch (trigger.type) {
        case 'event':
          new events.Rule(scope, `${id}${constructId(trigger.name)}Rule`, {
            description: `${definition.name}: ${trigger.name}`,
            // The manifest holds raw EventBridge JSON; CDK passes every key through as is (it only renames `detailType`).
            eventPattern: trigger.pattern as events.EventPattern,
            ...(trigger.bus === 'opsauto' ? { eventBus: bus } : {}),
            targets: [new targets.LambdaFunction(fn, { deadLetterQueue: failures })],
          });
          break;
        case 'schedule':
          schedulerRole ??= new iam.Role(scope, `${id}SchedulerRole`, {
            description: `EventBridge Scheduler invokes ${definition.name}`,
            assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
              conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
            }),
            inlinePolicies: {
              invoke: new iam.PolicyDocument({
                statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] })],
              }),
            },
          });
          new scheduler.CfnSchedule(scope, `${id}${constructId(trigger.name)}Schedule`, {
            description: `${definition.name}: ${trigger.name}`,
            scheduleExpression: trigger.expression,
            scheduleExpressionTimezone: trigger.timezone,
            flexibleTimeWindow: { mode: 'OFF' },
            state: 'ENABLED',
            target: { arn: fn.functionArn, roleArn: schedulerRole.roleArn, input: scheduledEventInput(stack.region, stack.account, trigger.name) },
          });
          break;
        case 'http':
          break;
      }
    }
  }
  if (bus) guardBus(bus, definitions.filter(publishesOnOpsautoBus).map((d) => functions[d.name].role!));
  const assumers = definitions.filter(assumesRunbookRoles).map((d) => functions[d.name].role!);
  const runbookRoles = assumers.length > 0 ? buildRunbookRoles(scope, wiring.config, wiring.tableName, assumers, useProject().paths.root) : {};
  return { functions, failures, bus, runbookRoles, topics };
}

/** True when a function publishes to, or is told about, the stage's notification topics. */
export function usesNotificationTopics(definition: FunctionDefinition): boolean {
  return (
    definition.environment.some((key) => key === 'NOTIFICATION_TOPIC_ARN' || key === 'ESCALATION_TOPIC_ARN') ||
    definition.permissions.some((p) => p.resources.some((r) => r.kind === 'notification-topics'))
  );
}

/**
 * The stage's topics for parameter notices, `<app>-<stage>-notifications` and `<app>-<stage>-escalations`, encrypted
 * at rest with the AWS managed key for SNS (`alias/aws/sns`), whose key policy lets SNS use it for any principal of
 * the account: publishers need no KMS permission. Subscriptions (e-mail, chat) are the operator's to add.
 */
function notificationTopics(scope: Construct, tableName: string): { notification: sns.Topic; escalation: sns.Topic } {
  const key = kms.Alias.fromAliasName(scope, 'SnsManagedKey', 'alias/aws/sns');
  const topic = (id: string, topicName: string, displayName: string) => new sns.Topic(scope, id, { topicName, displayName, masterKey: key, enforceSSL: true });
  return {
    notification: topic('NotificationTopic', notificationTopicName(tableName), 'opsauto parameter notices'),
    escalation: topic('EscalationTopic', escalationTopicName(tableName), 'opsauto parameter escalations'),
  };
}

/**
 * opsauto's bus admits this account only, and events that make opsauto act (GUARDED_DETAIL_TYPES) only from
 * `publishers`, the stack's roles: an explicit Deny, which no identity policy of the account can override.
 */
function guardBus(bus: events.EventBus, publishers: iam.IRole[]): void {
  const account = Stack.of(bus).account;
  bus.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'ThisAccountOnly',
      effect: iam.Effect.ALLOW,
      principals: [new iam.AccountPrincipal(account)],
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
    }),
  );
  bus.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OpsautoEventsFromOpsautoOnly',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
      conditions: {
        StringEquals: { 'events:detail-type': [...GUARDED_DETAIL_TYPES] },
        // Without publishers nobody may put them.
        ...(publishers.length > 0 ? { ArnNotEquals: { 'aws:PrincipalArn': publishers.map((role) => role.roleArn) } } : {}),
      },
    }),
  );
}
