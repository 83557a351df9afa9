import * as z from 'zod/mini';
import '../zod-locale.js';
import { InvalidScheduleExpressionError, isTimeZone, parseScheduleExpression } from '../schedule-expression.js';
import { officeHoursOptionsSchema } from './office-hours.js';
import { periodEdges, periodSchema, type Period } from './period.js';

// Automations: what starts runbooks, when, with which parameters and as which role. Declared in opsauto.config.ts;
// the stacks turn each trigger into an EventBridge Scheduler schedule or an EventBridge rule, the local stage into the
// same on localcloud (both through the manifest, see packages/functions/src/manifest.ts), and the automation trigger
// function turns each firing into one runbook execution.

/** Automation names: part of a role name (`<app>-<stage>-runbook-<name>`) and of schedule names. */
const NAME = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;

const scheduleExpression = z.string().check(
  z.superRefine((expression, ctx) => {
    try {
      parseScheduleExpression(expression, 'UTC');
      if (expression.trim().startsWith('at(')) ctx.addIssue({ code: 'custom', message: 'must be cron(...) or rate(...): an at() schedule fires once', input: expression });
    } catch (e) {
      if (!(e instanceof InvalidScheduleExpressionError)) throw e;
      ctx.addIssue({ code: 'custom', message: e.message, input: expression });
    }
  }),
);

const timeZone = z.string().check(z.refine(isTimeZone, 'must be an IANA time zone name such as Asia/Seoul or UTC (checked against the time zone database)'));

/** `2h`, `90m`: a duration in whole minutes or hours. */
const DURATION = /^([1-9][0-9]{0,3})(m|h)$/;

/** Minutes in a duration such as `2h` or `30m`. */
export function durationMinutes(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * (match[2] === 'h' ? 60 : 1);
}

const duration = z.string().check(z.regex(DURATION, 'must be a duration in minutes or hours, such as 30m or 2h'));

/**
 * What fires an automation: exactly one of these.
 * - `schedule`: an EventBridge Scheduler cron() or rate() expression, evaluated in `timezone` (IANA; default UTC),
 *   across daylight-saving changes as Scheduler does.
 * - `event`: an EventBridge event pattern on the default bus.
 * - `configRules`: AWS Config's `Config Rules Compliance Change` turning NON_COMPLIANT for one of the named rules.
 * - `maintenanceWindow`: a schedule with a duration; no new target is launched once the cutoff is reached (the
 *   window's end minus `cutoff`), as Systems Manager maintenance windows do.
 * - `opsItems`: an OpsItem of `source` (default opsauto's) moved to one of `status` (default InProgress): a request
 *   to remediate it. Parameters read the item as `{{ event.opsItem.resourceId }}` (its first `/aws/resources` ARN's
 *   last segment) and `{{ event.opsItem.id }}`; the item gets the execution, and is resolved when it succeeds.
 */
export const automationTriggerSchema = z.union([
  z.strictObject({ schedule: scheduleExpression, timezone: z._default(timeZone, 'UTC') }),
  z.strictObject({ event: z.record(z.string(), z.unknown()) }),
  z.strictObject({ configRules: z.array(z.string().check(z.regex(/^[\w-]{1,128}$/, 'must be a Config rule name'))).check(z.minLength(1)) }),
  z.strictObject({
    maintenanceWindow: z.strictObject({ schedule: scheduleExpression, timezone: z._default(timeZone, 'UTC'), duration, cutoff: z._default(duration, '1h') }),
  }),
  z.strictObject({
    opsItems: z.strictObject({
      source: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'opsauto'),
      // InProgress only: settling an item sets it Resolved or Open, which must not ask for a remediation again.
      status: z._default(z.array(z.enum(['InProgress'])).check(z.minLength(1)), ['InProgress']),
    }),
  }),
]);
export type AutomationTrigger = z.output<typeof automationTriggerSchema>;

const parameterValue = z.union([z.string(), z.array(z.string()), z.number(), z.boolean()]);

/**
 * Targets of a rate-controlled run: the runbook runs once per target, its `parameter` set to the target's ID.
 * `tags`: EC2 instances carrying every key with one of its values; `tagKeys`: instances carrying one of these keys;
 * `values`: these values. `managedNodes`: tags match the managed nodes registered with Systems Manager instead (EC2
 * instances with an agent and hybrid `mi-` nodes), as Run Command and patching target them.
 */
const targetsSchema = z.strictObject({
  parameter: z.string().check(z.regex(/^[a-zA-Z0-9_]{1,50}$/, 'must name a parameter of the runbook')),
  tags: z.optional(z.record(z.string().check(z.minLength(1), z.maxLength(128)), z.union([z.string(), z.array(z.string()).check(z.minLength(1))]))),
  tagKeys: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(128))).check(z.minLength(1))),
  values: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1), z.maxLength(50))),
  managedNodes: z._default(z.boolean(), false),
});

export const automationSchema = z
  .strictObject({
    /** Lowercase letters, digits and -: names its role, its schedules and its executions' `triggeredBy`. */
    name: z.string().check(z.regex(NAME, 'must be 3 to 40 lowercase letters, digits and -, starting with a letter')),
    description: z.optional(z.string().check(z.maxLength(500))),
    /** A runbook in `runbooks/`, an AWS-owned document opsauto knows, or an account document (give its version). */
    runbook: z.optional(z.string().check(z.regex(/^[a-zA-Z0-9_.-]{3,128}$/, 'must be an Automation document name'))),
    /**
     * Office hours instead of one runbook: at each firing, resources tagged `tag=value` (value: the automation's name)
     * are started or stopped to match the period (AWS-StartEC2Instance, AWS-StopEC2Instance, AWS-StartRdsInstance,
     * AWS-StopRdsInstance, AWS-StartStopAuroraCluster, opsauto-HibernateInstance). See docs/office-hours.md.
     */
    officeHours: z.optional(
      z.extend(officeHoursOptionsSchema, {
        tag: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'opsauto:schedule'),
        value: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
        resources: z._default(z.array(z.enum(['ec2', 'rds'])).check(z.minLength(1)), ['ec2', 'rds']),
      }),
    ),
    /**
     * Night-time resize instead of one runbook: inside `window` an instance tagged `nightTypeTag=<type>` goes to that
     * type (its type recorded in `dayTypeTag`), outside it back to its day type (opsauto-ResizeInstance).
     */
    nightResize: z.optional(
      z.strictObject({
        window: periodSchema,
        nightTypeTag: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'opsauto:night-type'),
        dayTypeTag: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'opsauto:day-type'),
      }),
    ),
    version: z.optional(z.string().check(z.regex(/^(\$DEFAULT|\$LATEST|[0-9]{1,8})$/, 'must be $DEFAULT, $LATEST or a version number'))),
    /** Runbook parameters; a string may take values from the trigger's event: `{{ event.detail.resourceId }}`. */
    parameters: z._default(z.record(z.string(), parameterValue), {}),
    targets: z.optional(targetsSchema),
    maxConcurrency: z.optional(z.string()),
    maxErrors: z.optional(z.string()),
    /** The role executions run as; default: a role the stacks derive from the runbook's steps. */
    role: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN'))),
    /** Whether the trigger starts runs (false: declared, deployed disabled, runnable by hand). */
    enabled: z._default(z.boolean(), true),
    trigger: automationTriggerSchema,
  })
  .check(
    z.superRefine((a, ctx) => {
      const kinds = (['runbook', 'officeHours', 'nightResize'] as const).filter((k) => a[k] !== undefined);
      if (kinds.length !== 1) ctx.addIssue({ code: 'custom', path: kinds.length ? [kinds[1]] : ['runbook'], message: 'give exactly one of runbook, officeHours or nightResize', input: a });
      if (kinds[0] !== 'runbook' && kinds.length === 1) {
        for (const field of ['parameters', 'targets', 'version'] as const) {
          const value = a[field];
          if (value !== undefined && !(field === 'parameters' && Object.keys(value).length === 0)) {
            ctx.addIssue({ code: 'custom', path: [field], message: `does not apply to ${kinds[0]} (its runbooks and targets follow from its tags)`, input: value });
          }
        }
        const period = a.officeHours?.period ?? a.nightResize?.window;
        const missed = period ? missedEdge(period, a.trigger) : undefined;
        if (missed) ctx.addIssue({ code: 'custom', path: ['trigger'], message: missed, input: a.trigger });
      }
      if (a.targets) {
        const kinds = [a.targets.tags || a.targets.tagKeys ? 'tags' : undefined, a.targets.values ? 'values' : undefined].filter(Boolean);
        if (kinds.length !== 1) ctx.addIssue({ code: 'custom', path: ['targets'], message: 'give tags and/or tagKeys, or values (one kind)', input: a.targets });
        if (a.targets.managedNodes && a.targets.values) ctx.addIssue({ code: 'custom', path: ['targets', 'managedNodes'], message: 'applies to tags and tagKeys, not values', input: a.targets });
        if (a.targets.parameter in a.parameters) ctx.addIssue({ code: 'custom', path: ['parameters', a.targets.parameter], message: 'is the target parameter: its values come from targets', input: a.parameters });
      } else if (!a.officeHours && (a.maxConcurrency !== undefined || a.maxErrors !== undefined)) {
        // Office hours rate-control their RDS starts and stops (one target per DB instance); a runbook needs targets.
        ctx.addIssue({ code: 'custom', path: [a.maxConcurrency !== undefined ? 'maxConcurrency' : 'maxErrors'], message: 'applies only with targets', input: a });
      }
      if ('maintenanceWindow' in a.trigger) {
        const { duration: d, cutoff } = a.trigger.maintenanceWindow;
        if (durationMinutes(cutoff) >= durationMinutes(d)) ctx.addIssue({ code: 'custom', path: ['trigger', 'maintenanceWindow', 'cutoff'], message: `must be shorter than the duration (${d})`, input: cutoff });
      }
    }),
  );

export type AutomationInput = z.input<typeof automationSchema>;
export type Automation = z.output<typeof automationSchema>;

export const automationsSchema = z.array(automationSchema).check(
  z.superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((a, i) => {
      if (a.name === 'cli') ctx.addIssue({ code: 'custom', path: [i, 'name'], message: '"cli" is the name of the role of runbooks started by hand', input: a.name });
      if (seen.has(a.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${a.name} is declared twice`, input: a.name });
      seen.add(a.name);
    });
  }),
);

/** The EventBridge pattern of an event-driven trigger (rules on the default bus); undefined for schedules. */
export function triggerPattern(trigger: AutomationTrigger): Record<string, unknown> | undefined {
  if ('event' in trigger) return trigger.event;
  if ('opsItems' in trigger) {
    // An operator asking for the remediation: the OpsItem moved to InProgress (OpsCenter's own `OpsItem Update`).
    return { source: ['aws.ssm'], 'detail-type': ['OpsItem Update'], detail: { source: [trigger.opsItems.source], status: trigger.opsItems.status } };
  }
  if ('configRules' in trigger) {
    // https://docs.aws.amazon.com/config/latest/developerguide/monitor-config-with-cloudwatchevents.html
    return {
      source: ['aws.config'],
      'detail-type': ['Config Rules Compliance Change'],
      detail: { messageType: ['ComplianceChangeNotification'], configRuleName: trigger.configRules, newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } },
    };
  }
  return undefined;
}

/** The schedule of a timed trigger (a schedule, a maintenance window's start); undefined for event-driven ones. */
export function triggerSchedule(trigger: AutomationTrigger): { expression: string; timezone: string } | undefined {
  if ('schedule' in trigger) return { expression: trigger.schedule, timezone: trigger.timezone };
  if ('maintenanceWindow' in trigger) return { expression: trigger.maintenanceWindow.schedule, timezone: trigger.maintenanceWindow.timezone };
  return undefined;
}

/**
 * The moment a maintenance window stops launching new targets: its start (the scheduled time) plus its duration minus
 * its cutoff. Undefined for other triggers.
 */
export function launchDeadline(trigger: AutomationTrigger, scheduledTime: Date): Date | undefined {
  if (!('maintenanceWindow' in trigger)) return undefined;
  const { duration: d, cutoff } = trigger.maintenanceWindow;
  return new Date(scheduledTime.getTime() + (durationMinutes(d) - durationMinutes(cutoff)) * 60_000);
}

/**
 * Why a period's starts and stops would be missed by the trigger (it must fire at each of them, in the period's time
 * zone, within the next 8 days); undefined when every one is hit.
 */
function missedEdge(period: Period, trigger: AutomationTrigger): string | undefined {
  const schedule = triggerSchedule(trigger);
  if (!schedule) return 'must be a schedule that checks the period (such as cron(0/5 * * * ? *))';
  let edges: ReturnType<typeof periodEdges>;
  let check;
  try {
    edges = periodEdges(period);
    check = parseScheduleExpression(schedule.expression, schedule.timezone);
  } catch {
    return undefined; // the period or the expression is reported on its own
  }
  const from = new Date(Date.UTC(2027, 0, 4));
  for (const edge of [edges.start, edges.stop]) {
    const times = parseScheduleExpression(edge, edges.timezone);
    for (let at = times.nextAfter(from), n = 0; at && n < 8; at = times.nextAfter(at), n++) {
      if (check.nextAfter(new Date(at.getTime() - 1))?.getTime() !== at.getTime()) {
        return `${schedule.expression} (${schedule.timezone}) does not fire at ${edge === edges.start ? 'the start' : 'the stop'} of the period (${edge} in ${edges.timezone}): check at least at its start and stop times`;
      }
    }
  }
  return undefined;
}

/** The runbooks an automation may start: its own, or those its office hours or night resize use. */
export function automationRunbooks(automation: Automation): string[] {
  if (automation.runbook) return [automation.runbook];
  if (automation.nightResize) return ['opsauto-ResizeInstance'];
  const resources = automation.officeHours?.resources ?? [];
  return [
    ...(resources.includes('ec2') ? ['AWS-StartEC2Instance', 'AWS-StopEC2Instance', 'opsauto-HibernateInstance'] : []),
    ...(resources.includes('rds') ? ['AWS-StartRdsInstance', 'AWS-StopRdsInstance', 'AWS-StartStopAuroraCluster'] : []),
  ];
}

/** RDS telling that AWS started a stopped DB instance (after 7 days) or Aurora cluster again. */
export const RDS_STARTED_BY_AWS_PATTERN = {
  source: ['aws.rds'],
  'detail-type': ['RDS DB Instance Event', 'RDS DB Cluster Event'],
  detail: { EventID: ['RDS-EVENT-0154', 'RDS-EVENT-0153'] },
};

/**
 * Every EventBridge pattern that fires an automation: its trigger's, and for office hours over RDS, RDS's own start
 * of a stopped instance or cluster (which is stopped again at once, outside its hours).
 */
export function automationPatterns(automation: Automation): Record<string, unknown>[] {
  const own = triggerPattern(automation.trigger);
  return [...(own ? [own] : []), ...(automation.officeHours?.resources.includes('rds') ? [RDS_STARTED_BY_AWS_PATTERN] : [])];
}
