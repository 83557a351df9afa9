import * as z from 'zod/mini';
import '../zod-locale.js';

/**
 * Envelope fields are bounded before any handler writes anything: an event ID ends up in sort keys and log lines, so
 * one of 2,000 characters must be refused up front, not halfway through a run (EventBridge and Scheduler IDs are
 * UUID-like, well under 128 characters).
 */
const eventId = z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9._:<>-]+$/, 'must be an event ID (letters, digits, . _ : -)'));
const account = z.string().check(z.maxLength(64));
const eventTime = z.string().check(z.maxLength(64));
const eventRegion = z.string().check(z.minLength(1), z.maxLength(32));
const resources = z._default(z.array(z.string().check(z.maxLength(2048))).check(z.maxLength(100)), []);

/**
 * The EventBridge envelope. `time` is kept as a string: AWS's own documentation samples carry placeholders
 * such as `yyyy-mm-ddThh:mm:ssZ`, and no handler here depends on it.
 */
export function eventBridgeEvent<const T extends string, S extends z.ZodMiniType>(detailType: T, source: string, detail: S) {
  return z.object({
    version: z.string().check(z.maxLength(16)),
    id: eventId,
    'detail-type': z.literal(detailType),
    source: z.literal(source),
    account,
    time: eventTime,
    region: eventRegion,
    resources,
    detail,
  });
}

const amiId = z.string().check(z.maxLength(32), z.regex(/^ami-[0-9a-z]+$/, 'must be an AMI ID (ami-…)'));

/** `EC2 AMI State Change` (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitor-ami-events.html). */
export const amiStateChangeEvent = eventBridgeEvent(
  'EC2 AMI State Change',
  'aws.ec2',
  z.object({ ImageId: amiId, State: z.string().check(z.maxLength(64)), ErrorMessage: z.optional(z.string().check(z.maxLength(4096))), RequestId: z.optional(z.string().check(z.maxLength(128))) }),
);

/** `EC2 Image Builder Image State Change`: one AMI per distribution region in `output-resources.amis`. */
export const imageBuilderStateChangeEvent = eventBridgeEvent(
  'EC2 Image Builder Image State Change',
  'aws.imagebuilder',
  z.object({
    'image-build-version-arn': z.optional(z.string().check(z.maxLength(2048))),
    state: z.object({ status: z.string().check(z.maxLength(64)), reason: z.optional(z.string().check(z.maxLength(4096))) }),
    'output-resources': z._default(
      z.object({
        amis: z._default(
          z.array(z.object({ region: eventRegion, image: amiId, name: z.optional(z.string().check(z.maxLength(256))), accountId: z.optional(z.string().check(z.maxLength(64))) })).check(z.maxLength(100)),
          [],
        ),
      }),
      { amis: [] },
    ),
  }),
);

/** Emitted by the runbook engine when an image-creating runbook ends (source `opsauto.runbooks`). */
export const runbookImageCreatedEvent = eventBridgeEvent(
  'Runbook Image Created',
  'opsauto.runbooks',
  z.object({ ImageId: amiId, Region: z.optional(eventRegion), ExecutionId: z.optional(z.string().check(z.maxLength(64))) }),
);

/** Every event the AMI publisher consumes, told apart by `detail-type`. */
export const amiPublisherEvent = z.discriminatedUnion('detail-type', [amiStateChangeEvent, imageBuilderStateChangeEvent, runbookImageCreatedEvent]);
export type AmiPublisherEvent = z.infer<typeof amiPublisherEvent>;

/** The `Scheduled Event` a schedule sends (see scheduledEventInput in the manifest); `detail.trigger` names it. */
export const scheduledEvent = z.object({
  version: z.string().check(z.maxLength(16)),
  id: eventId,
  'detail-type': z.literal('Scheduled Event'),
  source: z.string().check(z.maxLength(256)),
  account,
  time: eventTime,
  region: eventRegion,
  resources,
  detail: z._default(z.object({ trigger: z.optional(z.string()) }), {}),
});

/** What starts a stale-volume scan: its schedule, or a person (`{"dryRun": true}` plans without changing anything). */
export const staleVolumeScanInput = z.union([scheduledEvent, z.strictObject({ dryRun: z.optional(z.boolean()) })]);
export type StaleVolumeScanInput = z.infer<typeof staleVolumeScanInput>;

/** How deep a runbook parameter value may nest: a MapList (a list of maps of lists) needs 3 levels. */
const MAX_PARAMETER_DEPTH = 8;
/** Characters of strings and keys in all of a start request's parameter values (the execution record holds them). */
const MAX_PARAMETER_CHARS = 64 * 1024;

/**
 * The nesting depth of a JSON value and the characters of its strings and keys, walked without recursion and
 * stopped as soon as a limit is passed (a 10,000-deep value must not overflow the stack).
 */
export function jsonExtent(value: unknown, limits: { depth: number; chars: number }): { depth: number; chars: number } {
  let depth = 0;
  let chars = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    depth = Math.max(depth, d);
    if (depth > limits.depth || chars > limits.chars) break;
    if (typeof v === 'string') chars += v.length;
    else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        chars += k.length;
        stack.push([child, d + 1]);
      }
    }
  }
  return { depth, chars };
}

const parameterValues = z.record(z.string().check(z.maxLength(128)), z.unknown()).check(
  z.refine((v) => jsonExtent(v, { depth: MAX_PARAMETER_DEPTH + 1, chars: MAX_PARAMETER_CHARS }).depth <= MAX_PARAMETER_DEPTH + 1, `must nest at most ${MAX_PARAMETER_DEPTH} levels`),
  z.refine((v) => jsonExtent(v, { depth: MAX_PARAMETER_DEPTH + 1, chars: MAX_PARAMETER_CHARS }).chars <= MAX_PARAMETER_CHARS, `must hold at most ${MAX_PARAMETER_CHARS} characters in all`),
);

const target = z.object({ Key: z.string().check(z.minLength(1)), Values: z.array(z.string()) });

/**
 * What a `Runbook Execution Requested` event asks for (StartAutomationExecution's fields, camelCase): any producer
 * on the bus can start a runbook this way. The event's ID is the idempotency key unless one is given.
 */
export const runbookStartDetail = z.object({
  documentName: z.string().check(z.minLength(1, 'is required'), z.maxLength(200), z.regex(/^[a-zA-Z0-9_.:/-]+$/, 'must be a document name or ARN')),
  documentVersion: z.optional(z.string().check(z.maxLength(64))),
  parameters: z.optional(parameterValues),
  targetParameterName: z.optional(z.string().check(z.maxLength(50))),
  targets: z.optional(z.array(target).check(z.maxLength(5))),
  maxConcurrency: z.optional(z.string().check(z.maxLength(7))),
  maxErrors: z.optional(z.string().check(z.maxLength(7))),
  idempotencyKey: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
});

/** Every event the runbook worker takes: a start request, a dispatch, a wake-up (Scheduler input), the tick. */
export const runbookWorkerEvent = z.union([
  eventBridgeEvent('Runbook Execution Requested', 'opsauto.runbooks', runbookStartDetail),
  eventBridgeEvent(
    'Runbook Execution Dispatched',
    'opsauto.runbooks',
    z.object({ executionIds: z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.minLength(1), z.maxLength(10)) }),
  ),
  z.object({ executionId: z.string().check(z.minLength(1), z.maxLength(64)), wakeAt: z.optional(z.string().check(z.maxLength(64))) }),
  scheduledEvent,
]);
export type RunbookWorkerEvent = z.infer<typeof runbookWorkerEvent>;

/** Any EventBridge event an automation's pattern matched (a Config compliance change, an RDS event, ...). */
export const anyEvent = z.object({
  version: z.string().check(z.maxLength(16)),
  id: eventId,
  'detail-type': z.string().check(z.minLength(1), z.maxLength(256)),
  source: z.string().check(z.minLength(1), z.maxLength(256)),
  account,
  time: eventTime,
  region: eventRegion,
  resources,
  detail: z._default(z.unknown(), {}),
});

/**
 * What the automation trigger takes: a schedule of an automation (`detail.trigger` names it), an event that matched
 * an automation's pattern, or a run by hand (`opsauto automations run <name>`; `requestId` makes it unique).
 */
export const automationTriggerEvent = z.union([
  scheduledEvent,
  z.strictObject({
    automation: z.string().check(z.minLength(1), z.maxLength(64)),
    requestId: z.string().check(z.regex(/^[\w.:-]{1,64}$/, 'must be 1 to 64 letters, digits or _ . : -')),
    by: z._default(z.string().check(z.minLength(1), z.maxLength(256)), 'operator'),
    dryRun: z._default(z.boolean(), false),
  }),
  anyEvent,
]);
export type AutomationTriggerEvent = z.infer<typeof automationTriggerEvent>;
