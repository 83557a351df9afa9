import { AUTO_SCALING_GROUP_TAG } from './office-hours.js';
import { isInPeriod, type Period } from './period.js';

/** An EC2 instance as DescribeInstances gives it: `state` is `State.Name`. */
export interface ResizableInstance {
  id: string;
  type: string;
  state: string;
  tags: Record<string, string>;
}

export interface NightResizeOptions {
  /** The night, e.g. 22:00-07:00 every day. */
  window: Period;
  /** Tag holding the type for the night, e.g. opsauto:night-type=t3.micro. Default opsauto:night-type. */
  nightTypeTag?: string;
  /** Tag holding the type to come back to, written when the instance goes to its night type. Default opsauto:day-type. */
  dayTypeTag?: string;
}

export interface NightResizePlan {
  /** `recordDayType`: write it to the day-type tag, so the instance comes back to it in the morning. */
  resize: { id: string; from: string; to: string; recordDayType?: string }[];
  skipped: { id: string; reason: string; retry?: true }[];
}

/** An EC2 instance type: family.size, e.g. t3.micro, m7i-flex.large, c6gn.16xlarge, u-6tb1.metal. */
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/** Whether `type` has the shape of an EC2 instance type (family.size); whether it exists is EC2's to say. */
export const isInstanceType = (type: string) => INSTANCE_TYPE.test(type);

/**
 * The processor architecture of an instance type, from its family's name: Graviton families carry a `g` after the
 * generation digit (t4g, m7g, c6gn, r7gd, x2gd, im4gn, g5g) and `a1` is the first Arm family; every other family is
 * x86_64 (g4dn, m7i-flex, mac1 and the like). An AMI boots on one architecture only, so a resize across them would
 * leave the instance unable to start.
 */
export function architectureOf(type: string): 'arm64' | 'x86_64' {
  const family = type.split('.')[0] ?? '';
  if (family === 'a1') return 'arm64';
  const suffix = /^[a-z]+\d+([a-z]*)/.exec(family)?.[1] ?? '';
  return suffix.includes('g') ? 'arm64' : 'x86_64';
}

/**
 * What one night-resize check does. Inside the window, an instance tagged with a night type it does not have goes
 * to it, recording its current type as the day type; outside the window, an instance with a day-type tag whose type
 * differs goes back to it. Without a day-type tag there is nothing to come back to (nothing done). Idempotent: an
 * instance already at the wanted type is left as is.
 *
 * Left alone, with a reason: instances in an Auto Scaling group (the group's launch template decides the type);
 * instances in a transitional state (pending, stopping: retried at the next check, `retry`); terminated or
 * shutting-down instances; a night or day type that is not family.size; a type of another processor architecture
 * (t3 to t4g: the instance's AMI would not boot).
 *
 * @example
 * planNightResize([{ id: 'i-0abc', type: 'm5.large', state: 'running', tags: { 'opsauto:night-type': 't3.micro' } }],
 *   { window: { days: '*', start: '22:00', stop: '07:00', timezone: 'Asia/Seoul' }, nightTypeTag: 'opsauto:night-type', dayTypeTag: 'opsauto:day-type' },
 *   new Date('2026-03-02T14:00:00Z')) // 23:00 KST: { resize: [{ id: 'i-0abc', from: 'm5.large', to: 't3.micro', recordDayType: 'm5.large' }], skipped: [] }
 */
export function planNightResize(instances: readonly ResizableInstance[], options: NightResizeOptions, now: Date): NightResizePlan {
  const night = isInPeriod(options.window, now);
  const plan: NightResizePlan = { resize: [], skipped: [] };
  for (const instance of instances) {
    const tag = night ? (options.nightTypeTag ?? 'opsauto:night-type') : (options.dayTypeTag ?? 'opsauto:day-type');
    const wanted = instance.tags[tag];
    if (wanted === undefined) continue;
    const skip = (reason: string, retry?: true) => plan.skipped.push({ id: instance.id, reason, ...(retry ? { retry } : {}) });
    if (!isInstanceType(wanted)) {
      skip(`tag ${tag}=${JSON.stringify(wanted)} is not an instance type (family.size, such as t3.micro)`);
      continue;
    }
    if (wanted === instance.type) continue;
    if (isInstanceType(instance.type) && architectureOf(wanted) !== architectureOf(instance.type)) {
      skip(`tag ${tag}=${wanted} is ${architectureOf(wanted)} but ${instance.type} is ${architectureOf(instance.type)}: its image would not boot; name a type of the same architecture`);
      continue;
    }
    const group = instance.tags[AUTO_SCALING_GROUP_TAG];
    if (group !== undefined) {
      skip(`in Auto Scaling group ${group}: left alone (its launch template decides the type)`);
      continue;
    }
    if (instance.state === 'shutting-down' || instance.state === 'terminated') {
      skip(`${instance.state}: cannot be resized`);
      continue;
    }
    if (instance.state !== 'running' && instance.state !== 'stopped') {
      skip(`in transition (${instance.state}): retried at the next check`, true);
      continue;
    }
    plan.resize.push({ id: instance.id, from: instance.type, to: wanted, ...(night ? { recordDayType: instance.type } : {}) });
  }
  return plan;
}
