import { describe, expect, it } from 'vitest';
import { officeHoursOptionsSchema, planOfficeHours, type OfficeHoursOptions, type ScheduledResource } from '@opsauto/core';

const period = { days: 'MON-FRI', start: '09:00', stop: '17:00', timezone: 'Asia/Seoul' };
const options = (over: Partial<OfficeHoursOptions> = {}): OfficeHoursOptions => ({
  period,
  enforce: true,
  hibernate: false,
  overrideTag: 'opsauto:keep-running',
  overrides: [],
  ...over,
});
const ec2 = (id: string, state: string, over: Partial<ScheduledResource> = {}): ScheduledResource => ({
  kind: 'ec2-instance',
  id,
  state,
  tags: { 'opsauto:schedule': 'qa-office-hours' },
  ...over,
});
const rds = (id: string, state: string, over: Partial<ScheduledResource> = {}): ScheduledResource => ({ ...ec2(id, state), kind: 'rds-instance', ...over });

// Monday 2026-03-02 in Seoul (UTC+9).
const INSIDE = new Date('2026-03-02T01:00:00Z'); // 10:00 KST
const OUTSIDE = new Date('2026-03-02T11:00:00Z'); // 20:00 KST
const BEFORE_STOP = new Date('2026-03-02T07:58:00Z'); // 16:58
const AFTER_STOP = new Date('2026-03-02T08:03:00Z'); // 17:03
const BEFORE_START = new Date('2026-03-02T23:58:00Z'); // Tue 08:58
const AFTER_START = new Date('2026-03-03T00:03:00Z'); // Tue 09:03

const ids = (list: ScheduledResource[]) => list.map((r) => r.id);
const stopped = (plan: ReturnType<typeof planOfficeHours>) => plan.stop.map((s) => s.resource.id);

describe('planOfficeHours: desired state and idempotence', () => {
  it('wants running inside the period and stopped outside it', () => {
    expect(planOfficeHours([], options(), { now: INSIDE }).desired).toBe('running');
    expect(planOfficeHours([], options(), { now: OUTSIDE }).desired).toBe('stopped');
  });

  it('stops running EC2 instances, RDS instances (available) and Aurora clusters at the stop', () => {
    const resources = [ec2('i-1', 'running'), rds('db-1', 'available'), { ...rds('cl-1', 'available'), kind: 'rds-cluster' as const }];
    const plan = planOfficeHours(resources, options({ enforce: false }), { now: AFTER_STOP, previousCheck: BEFORE_STOP });
    expect(stopped(plan)).toEqual(['i-1', 'db-1', 'cl-1']);
    expect(plan.start).toEqual([]);
    expect(plan.skipped).toEqual([]);
  });

  it('starts stopped resources at the start', () => {
    const plan = planOfficeHours([ec2('i-1', 'stopped'), rds('db-1', 'stopped')], options({ enforce: false }), { now: AFTER_START, previousCheck: BEFORE_START });
    expect(ids(plan.start)).toEqual(['i-1', 'db-1']);
    expect(plan.stop).toEqual([]);
  });

  it('does nothing to a resource already in the desired state: running inside, stopped outside', () => {
    const inside = planOfficeHours([ec2('i-1', 'running'), rds('db-1', 'available')], options(), { now: INSIDE });
    const outside = planOfficeHours([ec2('i-1', 'stopped'), rds('db-1', 'stopped')], options(), { now: OUTSIDE });
    for (const plan of [inside, outside]) expect({ start: plan.start, stop: plan.stop, skipped: plan.skipped }).toEqual({ start: [], stop: [], skipped: [] });
  });
});

describe('planOfficeHours: enforce, boundaries and forced resources', () => {
  it('enforce=true catches drift at every check: started by hand at night is stopped, stopped by hand in the day is started', () => {
    expect(stopped(planOfficeHours([ec2('i-1', 'running')], options(), { now: OUTSIDE, previousCheck: new Date(OUTSIDE.getTime() - 300_000) }))).toEqual(['i-1']);
    expect(ids(planOfficeHours([ec2('i-1', 'stopped')], options(), { now: INSIDE, previousCheck: new Date(INSIDE.getTime() - 300_000) }).start)).toEqual(['i-1']);
  });

  it('enforce=false leaves drift alone between boundaries (no entry at all)', () => {
    const plan = planOfficeHours([ec2('i-1', 'running'), ec2('i-asg', 'running', { tags: { 'aws:autoscaling:groupName': 'web' } })], options({ enforce: false }), {
      now: OUTSIDE,
      previousCheck: new Date(OUTSIDE.getTime() - 300_000),
    });
    expect(plan).toEqual({ start: [], stop: [], skipped: [], desired: 'stopped' });
  });

  it('enforce=false acts on the first check (no previous check)', () => {
    expect(stopped(planOfficeHours([ec2('i-1', 'running')], options({ enforce: false }), { now: OUTSIDE }))).toEqual(['i-1']);
  });

  it('forceIds are acted on without enforce or boundary (RDS-EVENT-0154: AWS restarted a stopped instance after 7 days)', () => {
    const plan = planOfficeHours([rds('db-1', 'available'), rds('db-2', 'available')], options({ enforce: false }), {
      now: OUTSIDE,
      previousCheck: new Date(OUTSIDE.getTime() - 300_000),
      forceIds: ['db-1'],
    });
    expect(stopped(plan)).toEqual(['db-1']);
  });

  it('a forced RDS instance still starting (as at RDS-EVENT-0154) is skipped for retry, and stopped once available', () => {
    const first = planOfficeHours([rds('db-1', 'starting')], options({ enforce: false }), { now: OUTSIDE, previousCheck: BEFORE_STOP, forceIds: ['db-1'] });
    expect(first.skipped).toEqual([{ id: 'db-1', kind: 'rds-instance', reason: 'in transition (starting): retried at the next check', retry: true }]);
    const retryIds = first.skipped.filter((s) => s.retry).map((s) => s.id);
    const next = planOfficeHours([rds('db-1', 'available')], options({ enforce: false }), { now: new Date(OUTSIDE.getTime() + 300_000), previousCheck: OUTSIDE, forceIds: retryIds });
    expect(stopped(next)).toEqual(['db-1']);
  });
});

describe('planOfficeHours: resources left alone', () => {
  it('skips EC2 instances in an Auto Scaling group, naming the group', () => {
    const plan = planOfficeHours([ec2('i-1', 'running', { tags: { 'aws:autoscaling:groupName': 'qa-web' } })], options(), { now: OUTSIDE });
    expect(plan.stop).toEqual([]);
    expect(plan.skipped).toEqual([{ id: 'i-1', kind: 'ec2-instance', reason: expect.stringMatching(/^in Auto Scaling group qa-web: left alone/) }]);
  });

  it('skips RDS instances of an Aurora cluster; the cluster itself is stopped', () => {
    const plan = planOfficeHours([rds('db-member', 'available', { memberOfCluster: true }), { ...rds('cl-1', 'available'), kind: 'rds-cluster' }], options(), { now: OUTSIDE });
    expect(stopped(plan)).toEqual(['cl-1']);
    expect(plan.skipped).toEqual([{ id: 'db-member', kind: 'rds-instance', reason: 'member of an Aurora cluster: started and stopped with its cluster' }]);
  });

  it('skips transitional states with a retry mark: EC2 pending/stopping, RDS starting/stopping/modifying/backing-up/rebooting, unknown states', () => {
    const resources = [
      ec2('i-pending', 'pending'),
      ec2('i-stopping', 'stopping'),
      ...['starting', 'stopping', 'modifying', 'backing-up', 'rebooting', 'configuring-log-exports'].map((s) => rds(`db-${s}`, s)),
    ];
    const plan = planOfficeHours(resources, options(), { now: OUTSIDE });
    expect(plan.stop).toEqual([]);
    expect(plan.skipped.map((s) => [s.id, s.reason, s.retry])).toEqual(resources.map((r) => [r.id, `in transition (${r.state}): retried at the next check`, true]));
  });

  it('skips resources that are gone or going (terminated, shutting-down, deleting), without retry', () => {
    const resources = [ec2('i-t', 'terminated'), ec2('i-s', 'shutting-down'), rds('db-d', 'deleting')];
    const plan = planOfficeHours(resources, options(), { now: INSIDE });
    expect(plan.start).toEqual([]);
    expect(plan.skipped).toEqual(resources.map((r) => ({ id: r.id, kind: r.kind, reason: `${r.state}: cannot be started or stopped` })));
  });

  it('reports, when running is wanted, resources an operator must repair (failed, storage-full, inaccessible-encryption-credentials); outside hours they are only skipped', () => {
    const resources = [rds('db-f', 'failed'), rds('db-s', 'storage-full'), rds('db-k', 'inaccessible-encryption-credentials')];
    expect(planOfficeHours(resources, options(), { now: INSIDE }).skipped).toEqual(
      resources.map((r) => ({ id: r.id, kind: r.kind, reason: `${r.state}: cannot be started until an operator repairs it`, report: true })),
    );
    expect(planOfficeHours(resources, options(), { now: OUTSIDE }).skipped.every((s) => !s.report)).toBe(true);
  });
});

describe('planOfficeHours: start failures', () => {
  const failing = ec2('i-kms', 'stopped', { startFailure: 'Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state' });

  it('does not start again, between starts of the period, a resource whose last start failed: skipped and reported, naming why', () => {
    const plan = planOfficeHours([failing, ec2('i-ok', 'stopped')], options(), { now: INSIDE, previousCheck: new Date(INSIDE.getTime() - 300_000) });
    expect(ids(plan.start)).toEqual(['i-ok']);
    expect(plan.skipped).toEqual([{ id: 'i-kms', kind: 'ec2-instance', reason: expect.stringContaining('its last start failed (Client.InvalidKMSKey.InvalidState'), report: true }]);
  });

  it('tries it again at the next start of the period (once a day, in case an operator repaired it), and on the first check', () => {
    expect(ids(planOfficeHours([failing], options(), { now: AFTER_START, previousCheck: BEFORE_START }).start)).toEqual(['i-kms']);
    expect(ids(planOfficeHours([failing], options(), { now: INSIDE }).start)).toEqual(['i-kms']);
  });
});

describe('planOfficeHours: hibernate', () => {
  const resources = [ec2('i-hib', 'running', { hibernationConfigured: true }), ec2('i-plain', 'running'), rds('db-1', 'available', { hibernationConfigured: true })];

  it('hibernates only EC2 instances configured for it, and only when the option is on', () => {
    const on = planOfficeHours(resources, options({ hibernate: true }), { now: OUTSIDE });
    expect(on.stop.map((s) => [s.resource.id, s.hibernate])).toEqual([
      ['i-hib', true],
      ['i-plain', false],
      ['db-1', false],
    ]);
    const off = planOfficeHours(resources, options({ hibernate: false }), { now: OUTSIDE });
    expect(off.stop.every((s) => !s.hibernate)).toBe(true);
  });
});

describe('planOfficeHours: overrides', () => {
  const tagged = (value: string) => ec2('i-1', 'running', { tags: { 'opsauto:keep-running': value } });

  it('a tag with a date range containing today keeps a running resource running (skipped, naming the tag)', () => {
    const plan = planOfficeHours([tagged('2026-03-01..2026-03-05')], options(), { now: OUTSIDE });
    expect(plan.stop).toEqual([]);
    expect(plan.skipped).toEqual([{ id: 'i-1', kind: 'ec2-instance', reason: 'kept running by tag opsauto:keep-running=2026-03-01..2026-03-05' }]);
  });

  it('a single-date tag covers that day in the period time zone (Seoul Tuesday 01:00 is still Monday in UTC)', () => {
    const tuesdayNightKst = new Date('2026-03-02T16:00:00Z'); // Tue 2026-03-03 01:00 KST
    expect(planOfficeHours([tagged('2026-03-03')], options(), { now: tuesdayNightKst }).stop).toEqual([]);
    expect(stopped(planOfficeHours([tagged('2026-03-02')], options(), { now: tuesdayNightKst }))).toEqual(['i-1']);
  });

  it('an override tag for other days does not keep it: stopped as usual', () => {
    expect(stopped(planOfficeHours([tagged('2026-02-01..2026-02-28')], options(), { now: OUTSIDE }))).toEqual(['i-1']);
  });

  it('a config override naming the id for today keeps it running; one for other ids or days does not', () => {
    const plan = planOfficeHours([ec2('i-1', 'running'), ec2('i-2', 'running'), ec2('i-3', 'running')], options({
      overrides: [
        { ids: ['i-1'], from: '2026-03-02', to: '2026-03-02' },
        { ids: ['i-3'], from: '2026-03-03', to: '2026-03-10' },
      ],
    }), { now: OUTSIDE });
    expect(stopped(plan)).toEqual(['i-2', 'i-3']);
    expect(plan.skipped).toEqual([{ id: 'i-1', kind: 'ec2-instance', reason: 'kept running by config override 2026-03-02..2026-03-02' }]);
  });

  it('an override does not start a stopped resource outside the period; it is started at the next start', () => {
    const resource = ec2('i-1', 'stopped', { tags: { 'opsauto:keep-running': '2026-03-02..2026-03-03' } });
    expect(planOfficeHours([resource], options(), { now: OUTSIDE })).toEqual({ start: [], stop: [], skipped: [], desired: 'stopped' });
    expect(ids(planOfficeHours([resource], options({ enforce: false }), { now: AFTER_START, previousCheck: BEFORE_START }).start)).toEqual(['i-1']);
  });

  it('an override tag that is not a date leaves the resource running and says why', () => {
    for (const value of ['next week', '2026-03-05..2026-03-01', '2026-02-30', '2026-13-01', '2026-03-01..2026-03-02..2026-03-03']) {
      const plan = planOfficeHours([tagged(value)], options(), { now: OUTSIDE });
      expect(plan.stop, value).toEqual([]);
      expect(plan.skipped[0]?.reason, value).toMatch(/^tag opsauto:keep-running=".*" is not a date YYYY-MM-DD or range YYYY-MM-DD\.\.YYYY-MM-DD: left running$/);
    }
  });

  it('uses the configured override tag', () => {
    const resource = ec2('i-1', 'running', { tags: { 'team:keep': '2026-03-02' } });
    expect(planOfficeHours([resource], options({ overrideTag: 'team:keep' }), { now: OUTSIDE }).stop).toEqual([]);
    expect(stopped(planOfficeHours([resource], options(), { now: OUTSIDE }))).toEqual(['i-1']);
  });
});

describe('officeHoursOptionsSchema', () => {
  it('fills in the defaults: enforce, no hibernation, opsauto:keep-running, no overrides', () => {
    expect(officeHoursOptionsSchema.parse({ period })).toEqual({ period, enforce: true, hibernate: false, overrideTag: 'opsauto:keep-running', overrides: [] });
  });

  it('names bad override dates and ranges', () => {
    const result = officeHoursOptionsSchema.safeParse({ period, overrides: [{ ids: [], from: '2026-13-01', to: '2026-01-01' }, { ids: ['i-1'], from: '2026-03-05', to: '2026-03-01' }] });
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'overrides.0.ids: must name at least one resource',
      'overrides.0.from: must be a date YYYY-MM-DD',
      'overrides.1.to: must not be before from',
    ]);
  });
});
