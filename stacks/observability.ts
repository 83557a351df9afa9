import { tableName as stageTableName } from '@opsauto/aws';
import { functionPhysicalName, manifest, METRIC_NAMES, METRICS_NAMESPACE, type MetricName } from '@opsauto/functions';
import type { OpsautoConfig } from '@opsauto/core';
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { StackContext } from 'sst/constructs';
import config from '../opsauto.config.js';

// The stage's dashboard, its metric alarms and the topic every alarm of the stage notifies. Nothing here refers to
// another stack's resources: alarms and the topic are named (`<app>-<stage>-…`), so that no CloudFormation export
// ties the stacks together and the other stacks' alarms can name the topic before it exists.

/** The stage's alarm topic: `<app>-<stage>-alarms`. */
export function alarmTopicName(tableName: string): string {
  return functionPhysicalName(tableName, 'alarms');
}

/** A function's Errors alarm: `<app>-<stage>-<function>-errors`. */
export function errorsAlarmName(tableName: string, functionName: string): string {
  return functionPhysicalName(tableName, `${functionName}-errors`);
}

/** The failure queue's alarm: `<app>-<stage>-failed-invocations`. */
export function failedInvocationsAlarmName(tableName: string): string {
  return functionPhysicalName(tableName, 'failed-invocations');
}

/** The stage's dashboard: `<app>-<stage>-operations`. */
export function dashboardName(tableName: string): string {
  return functionPhysicalName(tableName, 'operations');
}

/** An alarm action that notifies the stage's alarm topic, by its ARN (no reference to the stack that creates it). */
export function alarmTopicAction(scope: Construct, tableName: string): cloudwatch.IAlarmAction {
  const { partition, region, account } = Stack.of(scope);
  const alarmActionArn = `arn:${partition}:sns:${region}:${account}:${alarmTopicName(tableName)}`;
  return { bind: () => ({ alarmActionArn }) };
}

/** One of opsauto's metrics for the stage (dimensions `service` = opsauto, `stage`). */
export function opsautoMetric(stage: string, metricName: MetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: 'opsauto', stage }, statistic: cloudwatch.Stats.SUM, ...options });
}

/** The alarms an operator must act on that opsauto's metrics raise (beside each function's Errors and the failure queue). */
export const METRIC_ALARMS = [
  {
    id: 'ExecutionsFailing',
    name: 'executions-failing',
    metric: METRIC_NAMES.executionsFailed,
    period: Duration.minutes(15),
    description: 'A runbook execution ended Failed, TimedOut or CompletedWithFailure in 15 minutes: `opsauto runbook list` shows which',
  },
  {
    id: 'ScanIncomplete',
    name: 'scan-incomplete',
    metric: METRIC_NAMES.scanIncomplete,
    period: Duration.hours(1),
    description: 'The stale-volume scan could not finish a region (an error, the OpsItem limit, throttling): its log names the region and the error',
  },
  {
    id: 'NotificationsFailing',
    name: 'notifications-failing',
    metric: METRIC_NAMES.notificationsFailed,
    period: Duration.minutes(15),
    description: 'A parameter notice or an approval request could not be sent to SNS in 15 minutes',
  },
] as const;

/**
 * The stage's observability: the alarm topic (with `observability.alarmEmails` subscribed), one alarm per
 * METRIC_ALARMS entry (Sum ≥ 1 in its period, missing data not breaching), and the dashboard: the state of every
 * alarm of the stage, then one graph per job from opsauto's metrics. Exported so that tests can build it.
 */
export function buildObservability(scope: Construct, cfg: OpsautoConfig, stage: string) {
  const tableName = stageTableName(cfg.app, stage);
  const topic = new sns.Topic(scope, 'AlarmTopic', {
    topicName: alarmTopicName(tableName),
    displayName: `opsauto ${stage} alarms`,
    // Not encrypted with a KMS key: CloudWatch could not publish to it without a key policy of its own; alarm
    // messages name the alarm and its metric, never a secret.
    enforceSSL: true,
  });
  for (const email of cfg.observability.alarmEmails) topic.addSubscription(new subscriptions.EmailSubscription(email));
  const action = alarmTopicAction(scope, tableName);

  const alarms: Record<string, cloudwatch.Alarm> = {};
  for (const a of METRIC_ALARMS) {
    const alarm = new cloudwatch.Alarm(scope, a.id, {
      alarmName: functionPhysicalName(tableName, a.name),
      alarmDescription: a.description,
      metric: opsautoMetric(stage, a.metric, { period: a.period }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(action);
    alarms[a.id] = alarm;
  }

  // Every alarm of the stage, by name: the functions' (Automation and Api stacks), the failure queue's, these.
  const named = [
    failedInvocationsAlarmName(tableName),
    ...manifest(cfg).map((d) => errorsAlarmName(tableName, d.name)),
  ].map((name) => cloudwatch.Alarm.fromAlarmName(scope, `Alarm-${name}`, name));
  const metric = (name: MetricName, options: cloudwatch.MetricOptions = {}) => opsautoMetric(stage, name, { period: Duration.hours(1), ...options });
  const graph = (title: string, left: cloudwatch.IMetric[]) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: dashboardName(tableName),
    defaultInterval: Duration.days(7),
    widgets: [
      [new cloudwatch.AlarmStatusWidget({ title: `opsauto ${stage}: alarms`, alarms: [...Object.values(alarms), ...named], width: 24, height: 6 })],
      [
        graph('Stale EBS volumes', [metric(METRIC_NAMES.volumesScanned), metric(METRIC_NAMES.volumesStale), metric(METRIC_NAMES.opsItemsFiled), metric(METRIC_NAMES.opsItemsResolved), metric(METRIC_NAMES.scanIncomplete)]),
        graph('AMI publishing', [metric(METRIC_NAMES.amisPublished), metric(METRIC_NAMES.amisRefused)]),
        graph('Runbook executions', [metric(METRIC_NAMES.executionsStarted), metric(METRIC_NAMES.executionsSucceeded), metric(METRIC_NAMES.executionsFailed)]),
      ],
      [
        graph('Runbook step duration (ms)', [metric(METRIC_NAMES.stepDuration, { statistic: cloudwatch.Stats.AVERAGE }), metric(METRIC_NAMES.stepDuration, { statistic: cloudwatch.Stats.p(90) })]),
        graph('Notifications', [metric(METRIC_NAMES.notificationsSent), metric(METRIC_NAMES.notificationsFailed)]),
        graph('Activations', [metric(METRIC_NAMES.activationsIssued), metric(METRIC_NAMES.activationsRefused)]),
      ],
      [graph('AWS throttling met', [metric(METRIC_NAMES.throttles)])],
    ],
  });
  return { topic, alarms, dashboard };
}

/** The SST stack: last, after Api, since its dashboard shows the alarms the other stacks create. */
export function Observability({ stack, app }: StackContext) {
  const { topic, dashboard } = buildObservability(stack, config, app.stage);
  stack.addOutputs({ AlarmTopicArn: topic.topicArn, DashboardName: dashboard.dashboardName });
  return { topic, dashboard };
}
