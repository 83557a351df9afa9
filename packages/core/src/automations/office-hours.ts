import * as z from 'zod/mini';
import '../zod-locale.js';
import { crossedBoundary, isInPeriod, localDate, periodSchema, type Period } from './period.js';

/** The tag EC2 Auto Scaling puts on the instances of a group. */
export const AUTO_SCALING_GROUP_TAG = 'aws:autoscaling:groupName';

/**
 * A resource the office-hours check may start or stop, as read from EC2 DescribeInstances, RDS DescribeDBInstances
 * or DescribeDBClusters. `state` is the service's own string (EC2 `State.Name`, RDS `DBInstanceStatus` / cluster
 * `Status`).
 */
export interface ScheduledResource {
  kind: 'ec2-instance' | 'rds-instance' | 'rds-cluster';
  id: string;
  state: string;
  tags: Record<string, string>;
  /** EC2: `HibernationOptions.Configured`. */
  hibernationConfigured?: boolean;
  /** An RDS instance of an Aurora cluster: it is started and stopped with its cluster. */
  memberOfCluster?: boolean;
  /**
   * Why the last start of this stopped resource failed (EC2's StateReason after a start it accepted but could not
   * carry out, such as a volume's missing KMS key; or the failed execution that tried to start it).
   */
  startFailure?: string;
}

/**
 * EC2 StateReason codes of a stopped instance whose start failed (EC2 API reference, StateReason): the instance
 * went from pending back to stopped. `Client.UserInitiatedShutdown` and the like are ordinary stops.
 */
export const EC2_START_FAILURE_CODES: ReadonlySet<string> = new Set([
  'Client.InvalidKMSKey.InvalidState',
  'Client.InternalError',
  'Client.InvalidSnapshot.NotFound',
  'Client.VolumeLimitExceeded',
  'Server.InsufficientInstanceCapacity',
  'Server.InternalError',
]);

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A real calendar date YYYY-MM-DD (2026-02-30 and 2026-13-01 are not). */
function isDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const t = Date.parse(`${s}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === s;
}
const date = z.string().check(z.refine(isDate, 'must be a date YYYY-MM-DD'));

/** A config override: these resources are kept running on the days from..to (inclusive, in the period's time zone). */
export const officeHoursOverrideSchema = z
  .object({ ids: z.array(z.string().check(z.minLength(1))).check(z.minLength(1, 'must name at least one resource')), from: date, to: date })
  .check(z.refine((o) => !isDate(o.from) || !isDate(o.to) || o.from <= o.to, { message: 'must not be before from', path: ['to'] }));

/** Office-hours options in the config, with their defaults. */
export const officeHoursOptionsSchema = z.object({
  period: periodSchema,
  /** Act at every check on any resource whose state differs from the desired one (drift), not only at a start or stop. */
  enforce: z._default(z.boolean(), true),
  /** Hibernate, rather than stop, EC2 instances configured for hibernation. */
  hibernate: z._default(z.boolean(), false),
  /** A resource whose tag holds a date (YYYY-MM-DD) or range (YYYY-MM-DD..YYYY-MM-DD) containing today is kept running. */
  overrideTag: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'opsauto:keep-running'),
  overrides: z._default(z.array(officeHoursOverrideSchema), []),
});

export type OfficeHoursOptionsInput = z.input<typeof officeHoursOptionsSchema>;

export interface OfficeHoursOptions {
  period: Period;
  enforce: boolean;
  hibernate: boolean;
  overrideTag: string;
  overrides: { ids: string[]; from: string; to: string }[];
}

export interface OfficeHoursCheck {
  now: Date;
  /** When the previous check ran; without it (first check) every resource is acted on. */
  previousCheck?: Date;
  /** Acted on whatever `enforce` says: an RDS instance AWS started after 7 days stopped (RDS-EVENT-0154). */
  forceIds?: string[];
}

export interface OfficeHoursSkip {
  id: string;
  kind: ScheduledResource['kind'];
  reason: string;
  /** The resource was in a transitional state: check it again next time (pass its id in `forceIds` if not enforcing). */
  retry?: true;
  /** An operator has to act (a start failed, the resource is broken): report it on an OpsItem. */
  report?: true;
}

export interface OfficeHoursPlan {
  start: ScheduledResource[];
  stop: { resource: ScheduledResource; hibernate: boolean }[];
  skipped: OfficeHoursSkip[];
  /** What the period asks for now. */
  desired: 'running' | 'stopped';
}

const RUNNING = new Set(['running', 'available']);
const STOPPED = new Set(['stopped']);
/** States a resource does not come back from by starting or stopping it (gone, going, or broken). */
const CANNOT = new Set([
  'shutting-down',
  'terminated',
  'deleting',
  'deleted',
  'delete-precheck',
  'failed',
  'restore-error',
  'storage-full',
  'inaccessible-encryption-credentials',
  'incompatible-network',
  'incompatible-option-group',
  'incompatible-parameters',
  'incompatible-restore',
  'insufficient-capacity',
  'cloning-failed',
  'migration-failed',
]);
/** Of those, the states an operator can get a resource out of (a key, storage, capacity, a parameter group). */
const BROKEN = new Set([...CANNOT].filter((s) => !['shutting-down', 'terminated', 'deleting', 'deleted', 'delete-precheck'].includes(s)));

type Condition = 'running' | 'stopped' | 'transition' | 'cannot';

/** Running, stopped, in transition (pending, stopping, starting, modifying, backing-up, … or any state we do not know), or unusable. */
function conditionOf(state: string): Condition {
  const s = state.toLowerCase();
  if (RUNNING.has(s)) return 'running';
  if (STOPPED.has(s)) return 'stopped';
  if (CANNOT.has(s)) return 'cannot';
  return 'transition';
}

type Override = { active: true; source: string } | { active: false } | { invalid: string };

/** The override that keeps the resource running today, from its tag or the config. */
function overrideOf(resource: ScheduledResource, options: OfficeHoursOptions, today: string): Override {
  for (const o of options.overrides) {
    if (o.ids.includes(resource.id) && o.from <= today && today <= o.to) return { active: true, source: `config override ${o.from}..${o.to}` };
  }
  const value = resource.tags[options.overrideTag];
  if (value === undefined) return { active: false };
  const [from = '', to = from, ...rest] = value.trim().split('..');
  if (rest.length > 0 || !isDate(from) || !isDate(to) || to < from) return { invalid: value };
  return from <= today && today <= to ? { active: true, source: `tag ${options.overrideTag}=${value}` } : { active: false };
}

/**
 * What one office-hours check does: which resources to start, which to stop (or hibernate), which are left alone
 * and why. Pure: the caller lists the tagged resources, passes the time, and starts the runbooks.
 *
 * Rules:
 * - Desired state: running inside the period, stopped outside (`desired`).
 * - Which resources are acted on: with `enforce`, every resource at every check (drift: an instance started by hand
 *   outside hours is stopped, one stopped by hand inside hours started again); without it, only when a start or stop
 *   of the period lies in (previousCheck, now], or on the first check (no previousCheck). Resources in `forceIds`
 *   are acted on in every case (RDS-EVENT-0154: AWS started an instance after 7 days stopped). A resource not acted
 *   on produces no entry at all.
 * - Idempotent: a running resource when running is desired, or a stopped one when stopped is desired, is left as is
 *   (no entry).
 * - Overrides: a resource whose `overrideTag` holds a date or date range (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, in
 *   the period's time zone) containing today, or that a config override names for today, is never stopped (skipped,
 *   reason naming the override). It does not start a stopped resource: that happens at a start as usual. A tag
 *   value that is not a date or range leaves the resource running too (skipped, reason naming the value): the
 *   operator meant to keep it.
 * - Left alone, with a reason in `skipped`: EC2 instances in an Auto Scaling group (tag aws:autoscaling:groupName:
 *   the group would replace a stopped instance); RDS instances of an Aurora cluster (their cluster is acted on);
 *   resources in a transitional state (EC2 pending/stopping, RDS starting/stopping/modifying/backing-up/rebooting/…,
 *   any state not known here), marked `retry`; resources that cannot be started or stopped (terminated,
 *   shutting-down, deleting, failed, storage-full, …); those an operator can repair (failed, storage-full,
 *   inaccessible-encryption-credentials, …) are marked `report` when running is desired.
 * - Start failures: a stopped resource whose last start failed (`startFailure`: a missing KMS key, no capacity) is
 *   started again only at a start of the period (one attempt a day, not one every check); in between it is skipped
 *   and marked `report`.
 * - Hibernate: an EC2 instance is hibernated rather than stopped only when `options.hibernate` and the instance is
 *   configured for hibernation.
 *
 * @example
 * planOfficeHours(resources, { period, enforce: true, hibernate: false, overrideTag: 'opsauto:keep-running', overrides: [] }, { now })
 * // { start: [], stop: [{ resource: i-0abc, hibernate: false }], skipped: [...], desired: 'stopped' }
 */
export function planOfficeHours(resources: readonly ScheduledResource[], options: OfficeHoursOptions, check: OfficeHoursCheck): OfficeHoursPlan {
  const { now, previousCheck } = check;
  const inside = isInPeriod(options.period, now);
  const desired = inside ? 'running' : 'stopped';
  const atBoundary = previousCheck === undefined || crossedBoundary(options.period, previousCheck, now);
  const forced = new Set(check.forceIds ?? []);
  const today = localDate(now, options.period.timezone);
  const plan: OfficeHoursPlan = { start: [], stop: [], skipped: [], desired };
  const skip = (r: ScheduledResource, reason: string, flag?: { retry: true } | { report: true }) => plan.skipped.push({ id: r.id, kind: r.kind, reason, ...flag });

  for (const r of resources) {
    if (!(options.enforce || atBoundary || forced.has(r.id))) continue;
    const group = r.kind === 'ec2-instance' ? r.tags[AUTO_SCALING_GROUP_TAG] : undefined;
    if (group !== undefined) {
      skip(r, `in Auto Scaling group ${group}: left alone (the group would replace a stopped instance; schedule the group instead)`);
      continue;
    }
    if (r.kind === 'rds-instance' && r.memberOfCluster) {
      skip(r, 'member of an Aurora cluster: started and stopped with its cluster');
      continue;
    }
    const condition = conditionOf(r.state);
    if (condition === 'transition') {
      skip(r, `in transition (${r.state}): retried at the next check`, { retry: true });
      continue;
    }
    if (condition === 'cannot') {
      if (BROKEN.has(r.state.toLowerCase()) && desired === 'running') skip(r, `${r.state}: cannot be started until an operator repairs it`, { report: true });
      else skip(r, `${r.state}: cannot be started or stopped`);
      continue;
    }
    if (condition === desired) continue;
    if (desired === 'running') {
      if (r.startFailure !== undefined && !atBoundary) {
        skip(r, `its last start failed (${r.startFailure}): not started again before the next start of the period, unless started by hand`, { report: true });
        continue;
      }
      plan.start.push(r);
      continue;
    }
    const override = overrideOf(r, options, today);
    if ('invalid' in override) {
      skip(r, `tag ${options.overrideTag}=${JSON.stringify(override.invalid)} is not a date YYYY-MM-DD or range YYYY-MM-DD..YYYY-MM-DD: left running`);
    } else if (override.active) {
      skip(r, `kept running by ${override.source}`);
    } else {
      plan.stop.push({ resource: r, hibernate: options.hibernate && r.kind === 'ec2-instance' && r.hibernationConfigured === true });
    }
  }
  return plan;
}
