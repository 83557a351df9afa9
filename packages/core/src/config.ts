import * as z from 'zod/mini';
import './zod-locale.js';
import { automationsSchema } from './automations/automation.js';

const regionName = z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region name such as eu-west-1'));

export const amiFamilyPatternSchema = z.object({
  family: z.string().check(z.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, 'family names are letters, digits, _ . - (max 64)')),
  /** A glob over image names: `*` matches any run of characters, everything else is literal. */
  namePattern: z.string().check(z.minLength(1), z.maxLength(128)),
});

const days = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));

export const staleVolumesSchema = z.object({
  /** A volume is stale once it has been unattached for this many days. */
  thresholdDays: z._default(days(1, 3650), 45),
  /** Volumes carrying this tag (any value) are never filed. */
  excludeTag: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'opsauto:keep'),
  /** When the daily scan runs (EventBridge Scheduler expression) and in which time zone. */
  schedule: z._default(z.string().check(z.regex(/^(cron|rate)\(.+\)$/, 'must be cron(...) or rate(...)')), 'cron(0 6 * * ? *)'),
  timezone: z._default(z.string().check(z.minLength(1)), 'UTC'),
  /** Regions to scan; default: every configured region. */
  regions: z.optional(z.array(regionName).check(z.minLength(1))),
  /** Other accounts to scan, through a role the scanner assumes; the backend's own account is always scanned. */
  accounts: z._default(
    z.array(
      z.object({
        accountId: z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account ID')),
        roleArn: z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')),
      }),
    ),
    [],
  ),
  /** Regions scanned at the same time. */
  maxConcurrentRegions: z._default(z.int().check(z.gte(1), z.lte(16)), 4),
  /** Runbooks attached to each OpsItem (`/aws/automations`). */
  runbooks: z.prefault(
    z.object({
      snapshotThenDelete: z._default(z.string().check(z.minLength(1)), 'opsauto-SnapshotThenDeleteVolume'),
      delete: z._default(z.string().check(z.minLength(1)), 'opsauto-DeleteVolume'),
    }),
    {},
  ),
});

const span = z.string().check(z.regex(/^\d{1,6}[dh]$/, 'must be a span such as 15d or 12h'));

/** Parameter-expiry notifications (docs/params.md). */
export const parameterExpirySchema = z.object({
  /**
   * Where notices go when no route matches: an SNS topic ARN. Default: the stage's own topic
   * `<app>-<stage>-notifications`, which the stacks create (env NOTIFICATION_TOPIC_ARN).
   */
  defaultTopic: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'must be an SNS topic ARN'))),
  /** Escalations go here. Default: the stage's `<app>-<stage>-escalations` topic (env ESCALATION_TOPIC_ARN). */
  escalationTopic: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'must be an SNS topic ARN'))),
  /** Routes by tag, first match wins: `{ match: { tag: 'team', value: 'payments' }, topic: 'arn:aws:sns:…' }`. */
  routes: z._default(
    z.array(
      z.object({
        match: z.object({ tag: z.string().check(z.minLength(1), z.maxLength(128)), value: z.string().check(z.maxLength(256)) }),
        topic: z.string().check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'must be an SNS topic ARN')),
      }),
    ),
    [],
  ),
  /** A tag whose value is a topic ARN sends that parameter's notices there (before routes). */
  topicTag: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'opsauto:notify-topic'),
  /** Tags naming who owns a parameter, in order: the first present names the owner in messages and digests. */
  ownerTags: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(128))).check(z.minLength(1)), ['owner', 'team']),
  /** Tag holding a standard-tier parameter's expiry (YYYY-MM-DD or ISO 8601): reminders without the advanced tier. */
  expiryTag: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'opsauto:expires-at'),
  /** Reminders before a tagged expiry. */
  tagReminders: z._default(z.array(span), ['15d', '1d']),
  /** An expiry this close whose parameter has not changed since the first notice is escalated. */
  escalateWithin: z._default(span, '3d'),
  /** Days the digest looks ahead. */
  digestDays: z._default(days(1, 365), 30),
  /** When the daily sweep runs (EventBridge Scheduler expression) and in which time zone. */
  schedule: z._default(z.string().check(z.regex(/^(cron|rate)\(.+\)$/, 'must be cron(...) or rate(...)')), 'cron(0 7 * * ? *)'),
  timezone: z._default(z.string().check(z.minLength(1)), 'UTC'),
  /** Parameter paths in scope (IAM is scoped to them): `/` is every parameter. */
  paths: z._default(z.array(z.string().check(z.regex(/^\/[a-zA-Z0-9_.\-/]*$/, 'must be a parameter path such as /app/'))).check(z.minLength(1)), ['/']),
});

/** Hybrid activations for on-premises servers (docs/activations.md). */
export const activationsSchema = z.object({
  /**
   * IAM service roles (names) tokens may name besides the stage's own `<app>-<stage>-hybrid-node` role: the issuer
   * may pass only these to SSM (iam:PassRole), and `opsauto tokens create --role` refuses any other.
   */
  iamRoles: z._default(z.array(z.string().check(z.regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name'))), []),
  /** How long an activation issued to a booting server stays usable (CreateActivation's expiry; AWS allows 30 days). */
  lifetime: z._default(span, '1h'),
  /** Defaults of `opsauto tokens create`. */
  tokenMaxUses: z._default(z.int().check(z.gte(1), z.lte(100_000)), 10),
  tokenExpiresIn: z._default(span, '7d'),
  /** HTTP API throttling of the activation routes (API Gateway stage route settings): requests per second and burst. */
  throttle: z.prefault(z.object({ rateLimit: z._default(z.number().check(z.gt(0)), 20), burstLimit: z._default(z.int().check(z.gte(1)), 50) }), {}),
  /** The clean-up sweep: when it runs, and after how many days without a ping a registered node is reported. */
  sweepSchedule: z._default(z.string().check(z.regex(/^(cron|rate)\(.+\)$/, 'must be cron(...) or rate(...)')), 'rate(1 hour)'),
  staleNodeDays: z._default(days(1, 365), 30),
  /** Deregister nodes not seen for staleNodeDays (default: only report them). */
  deregisterStaleNodes: z._default(z.boolean(), false),
});

const runbooksSchema = z.object({
  /**
   * How often the worker looks for executions that are due but were not woken (a lost wake-up, a worker that died):
   * an EventBridge Scheduler expression, in UTC.
   */
  tickSchedule: z._default(z.string().check(z.regex(/^(rate|cron)\(.+\)$/, 'must be rate(...) or cron(...)')), 'rate(5 minutes)'),
  /**
   * Roles runbooks may name as `assumeRole` (typically one per member account): the worker may assume only these.
   * Otherwise an execution runs as the role of the automation that started it (`runbookRoleName` in the manifest).
   */
  assumeRoles: z._default(z.array(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN'))), []),
  /**
   * Runbooks that may be started by name (CLI, HTTP API, events on opsauto's bus); any other name is refused and the
   * refusal recorded. A document the CLI is given as a file is the operator's own and is not checked.
   */
  allowedRunbooks: z._default(z.array(z.string().check(z.regex(/^[a-zA-Z0-9_.:/-]{3,128}$/, 'must be an SSM document name'))), [
    'opsauto-DeleteVolume',
    'opsauto-SnapshotThenDeleteVolume',
    'AWS-StopEC2Instance',
    'AWS-StartEC2Instance',
    'AWS-RestartEC2Instance',
    'AWS-CreateImage',
    'AWS-DeleteImage',
    'AWS-StopRdsInstance',
    'AWS-EnableS3BucketKeys',
  ]),
  /** Step transitions one worker invocation makes before handing the execution to a fresh one. */
  maxStepTransitionsPerTurn: z._default(z.int().check(z.gte(10), z.lte(10_000)), 500),
  /** Step transitions one execution may make; the next ends it Failed (against documents that loop for ever). */
  maxStepTransitionsPerExecution: z._default(z.int().check(z.gte(10), z.lte(100_000)), 2_000),
  /**
   * Days an ended execution (with its signals and counters) and a refused start are kept before DynamoDB's TTL deletes
   * them; a running execution never expires. Listings look back this far.
   */
  executionTtlDays: z._default(days(1, 3650), 90),
});

/** Metrics are always on (EMF, no IAM); these are the optional parts (README, "Metrics and alarms"). */
const observabilitySchema = z.object({
  /**
   * X-Ray tracing of every Node.js function: Lambda tracing Active (which adds xray:PutTraceSegments and
   * xray:PutTelemetryRecords on `*` to each role) and Powertools Tracer around each handler. Off by default.
   */
  tracing: z._default(z.boolean(), false),
  /** Addresses subscribed (by email, each confirms once) to the stage's alarm topic, which every alarm notifies. */
  alarmEmails: z._default(z.array(z.string().check(z.regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an email address'))).check(z.maxLength(10)), []),
});

export const configSchema = z.object({
  /** Prefix of every resource name; one deployment per app name and stage. */
  app: z._default(z.string().check(z.regex(/^[a-z][a-z0-9-]{1,30}$/, 'must be lowercase letters, digits and -, 2 to 31 long')), 'opsauto'),
  /** Regions the jobs work in; the first is where the backend itself is deployed. */
  regions: z._default(z.array(regionName).check(z.minLength(1, 'must name at least one region')), ['us-east-1']),
  logLevel: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
  amiPublisher: z.prefault(
    z.object({
      /** Parameter that holds a family's current AMI; `{family}` is replaced. Must start with `/`. */
      parameterPath: z._default(
        z.string().check(
          z.regex(/^\/[a-zA-Z0-9_.\-/{}]+$/, 'must be an absolute parameter path such as /opsauto/ami/{family}/latest'),
          z.refine((p) => p.includes('{family}'), 'must contain {family}'),
        ),
        '/opsauto/ami/{family}/latest',
      ),
      /** Tag whose value names an image's family. */
      familyTag: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'opsauto:ami-family'),
      /** Extra rules for images without the tag: first match wins. */
      namePatterns: z._default(z.array(amiFamilyPatternSchema), []),
      /**
       * Accounts (12-digit IDs) whose images may be published besides the backend's own account, e.g. a build
       * account that shares its AMIs. Empty: only the account's own images. Anyone else's image is never published.
       */
      trustedOwners: z._default(z.array(z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account ID'))), []),
    }),
    {},
  ),
  staleVolumes: z.prefault(staleVolumesSchema, {}),
  runbooks: z.prefault(runbooksSchema, {}),
  parameterExpiry: z.prefault(parameterExpirySchema, {}),
  activations: z.prefault(activationsSchema, {}),
  observability: z.prefault(observabilitySchema, {}),
  /** What starts runbooks on a schedule, an event, a Config rule or a maintenance window (automations/automation.ts). */
  automations: z._default(automationsSchema, []),
});

export type OpsautoConfigInput = z.input<typeof configSchema>;
export type OpsautoConfig = z.output<typeof configSchema>;

/**
 * Validates the operator's settings and fills in defaults. Throws one error listing every problem.
 *
 * @example
 * export default defineConfig({ regions: ['eu-west-1'], amiPublisher: { namePatterns: [{ family: 'web', namePattern: 'web-*' }] } });
 */
export function defineConfig(input: OpsautoConfigInput): OpsautoConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
    throw new ConfigError(`invalid opsauto config:\n${problems}`);
  }
  return result.data;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The literal prefix of the AMI parameter path, for IAM scoping: `/opsauto/ami/{family}/latest` -> `/opsauto/ami/`. */
export function amiParameterPrefix(config: OpsautoConfig): string {
  const path = config.amiPublisher.parameterPath;
  return path.slice(0, path.indexOf('{family}'));
}
