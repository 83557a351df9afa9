import { describe, expect, it } from 'vitest';
import { architectureOf, isInstanceType, planNightResize, type NightResizeOptions, type ResizableInstance } from '@opsauto/core';

const options: NightResizeOptions = {
  window: { days: '*', start: '22:00', stop: '07:00', timezone: 'Asia/Seoul' },
  nightTypeTag: 'opsauto:night-type',
  dayTypeTag: 'opsauto:day-type',
};
const instance = (id: string, type: string, tags: Record<string, string>, state = 'running'): ResizableInstance => ({ id, type, state, tags });

const NIGHT = new Date('2026-03-02T14:00:00Z'); // Mon 23:00 KST
const LAST_NIGHT_MINUTE = new Date('2026-03-02T21:59:00Z'); // Tue 06:59 KST
const MORNING = new Date('2026-03-02T22:00:00Z'); // Tue 07:00 KST
const DAY = new Date('2026-03-03T03:00:00Z'); // Tue 12:00 KST

describe('planNightResize inside the window', () => {
  it('sends an instance to its night type and records its current type as the day type', () => {
    const plan = planNightResize([instance('i-1', 'm5.large', { 'opsauto:night-type': 't3.micro' })], options, NIGHT);
    expect(plan).toEqual({ resize: [{ id: 'i-1', from: 'm5.large', to: 't3.micro', recordDayType: 'm5.large' }], skipped: [] });
  });

  it('is still night at 06:59 KST the next morning (the window crosses midnight)', () => {
    expect(planNightResize([instance('i-1', 'm5.large', { 'opsauto:night-type': 't3.micro' })], options, LAST_NIGHT_MINUTE).resize).toHaveLength(1);
  });

  it('resizes stopped instances too (the runbook stops and starts as needed)', () => {
    expect(planNightResize([instance('i-1', 'm5.large', { 'opsauto:night-type': 't3.micro' }, 'stopped')], options, NIGHT).resize).toHaveLength(1);
  });

  it('does nothing to an instance already at its night type, or without a night-type tag', () => {
    const plan = planNightResize(
      [instance('i-1', 't3.micro', { 'opsauto:night-type': 't3.micro', 'opsauto:day-type': 'm5.large' }), instance('i-2', 'm5.large', { 'opsauto:day-type': 'm5.xlarge' })],
      options,
      NIGHT,
    );
    expect(plan).toEqual({ resize: [], skipped: [] });
  });

  it('skips a night type that is not family.size, naming the tag and value', () => {
    const plan = planNightResize(
      [instance('i-1', 'm5.large', { 'opsauto:night-type': 'micro' }), instance('i-2', 'm5.large', { 'opsauto:night-type': 'T3.MICRO' })],
      options,
      NIGHT,
    );
    expect(plan.resize).toEqual([]);
    expect(plan.skipped).toEqual([
      { id: 'i-1', reason: 'tag opsauto:night-type="micro" is not an instance type (family.size, such as t3.micro)' },
      { id: 'i-2', reason: 'tag opsauto:night-type="T3.MICRO" is not an instance type (family.size, such as t3.micro)' },
    ]);
  });
});

describe('planNightResize outside the window', () => {
  it('sends an instance back to its day type at 07:00 KST, without recording anything', () => {
    const plan = planNightResize([instance('i-1', 't3.micro', { 'opsauto:night-type': 't3.micro', 'opsauto:day-type': 'm5.large' })], options, MORNING);
    expect(plan).toEqual({ resize: [{ id: 'i-1', from: 't3.micro', to: 'm5.large' }], skipped: [] });
  });

  it('does nothing without a day-type tag, or when the instance is already at its day type', () => {
    const plan = planNightResize(
      [instance('i-1', 't3.micro', { 'opsauto:night-type': 't3.micro' }), instance('i-2', 'm5.large', { 'opsauto:night-type': 't3.micro', 'opsauto:day-type': 'm5.large' })],
      options,
      DAY,
    );
    expect(plan).toEqual({ resize: [], skipped: [] });
  });

  it('skips a day type that is not family.size', () => {
    expect(planNightResize([instance('i-1', 't3.micro', { 'opsauto:day-type': 'large' })], options, DAY).skipped).toEqual([
      { id: 'i-1', reason: 'tag opsauto:day-type="large" is not an instance type (family.size, such as t3.micro)' },
    ]);
  });

  it('uses the default tag names when none are given', () => {
    const plan = planNightResize([instance('i-1', 't3.micro', { 'opsauto:day-type': 'm5.large' })], { window: options.window }, DAY);
    expect(plan.resize).toEqual([{ id: 'i-1', from: 't3.micro', to: 'm5.large' }]);
  });
});

describe('planNightResize: instances left alone', () => {
  it('skips Auto Scaling group members, naming the group', () => {
    const plan = planNightResize([instance('i-1', 'm5.large', { 'opsauto:night-type': 't3.micro', 'aws:autoscaling:groupName': 'qa-web' })], options, NIGHT);
    expect(plan).toEqual({ resize: [], skipped: [{ id: 'i-1', reason: 'in Auto Scaling group qa-web: left alone (its launch template decides the type)' }] });
  });

  it('skips pending and stopping instances with a retry mark', () => {
    const plan = planNightResize(
      [instance('i-1', 'm5.large', { 'opsauto:night-type': 't3.micro' }, 'pending'), instance('i-2', 'm5.large', { 'opsauto:night-type': 't3.micro' }, 'stopping')],
      options,
      NIGHT,
    );
    expect(plan.resize).toEqual([]);
    expect(plan.skipped).toEqual([
      { id: 'i-1', reason: 'in transition (pending): retried at the next check', retry: true },
      { id: 'i-2', reason: 'in transition (stopping): retried at the next check', retry: true },
    ]);
  });

  it('skips terminated and shutting-down instances without retry', () => {
    const plan = planNightResize(
      [instance('i-1', 'm5.large', { 'opsauto:night-type': 't3.micro' }, 'terminated'), instance('i-2', 'm5.large', { 'opsauto:night-type': 't3.micro' }, 'shutting-down')],
      options,
      NIGHT,
    );
    expect(plan.skipped).toEqual([
      { id: 'i-1', reason: 'terminated: cannot be resized' },
      { id: 'i-2', reason: 'shutting-down: cannot be resized' },
    ]);
  });
});

describe('isInstanceType', () => {
  it('accepts family.size names and refuses the rest', () => {
    for (const t of ['t3.micro', 'm7i-flex.large', 'c6gn.16xlarge', 'u-6tb1.metal', 'mac2-m2pro.metal']) expect(isInstanceType(t), t).toBe(true);
    for (const t of ['t3', '.micro', 't3.', 't3.micro.x', 'T3.micro', 't3 micro', '']) expect(isInstanceType(t), t).toBe(false);
  });
});

describe('architectureOf and resizes across architectures', () => {
  it('reads Graviton families as arm64 and the rest as x86_64', () => {
    const arm = ['t4g.nano', 'm7g.large', 'c6gn.16xlarge', 'r7gd.xlarge', 'x2gd.metal', 'im4gn.large', 'g5g.xlarge', 'a1.medium'];
    const x86 = ['t3.micro', 'g4dn.xlarge', 'm7i-flex.large', 'mac1.metal', 'c5n.large', 'u-6tb1.metal', 'p4d.24xlarge'];
    expect(arm.map(architectureOf)).toEqual(arm.map(() => 'arm64'));
    expect(x86.map(architectureOf)).toEqual(x86.map(() => 'x86_64'));
  });

  it('skips a night type of another architecture (t3 to t4g), naming both, and resizes within one', () => {
    const plan = planNightResize(
      [
        { id: 'i-x86', type: 't3.large', state: 'running', tags: { 'opsauto:night-type': 't4g.small' } },
        { id: 'i-arm', type: 'm7g.large', state: 'running', tags: { 'opsauto:night-type': 't4g.small' } },
      ],
      { window: { days: '*', start: '22:00', stop: '07:00', timezone: 'Asia/Seoul' } },
      new Date('2026-03-02T14:00:00Z'),
    );
    expect(plan.resize.map((r) => r.id)).toEqual(['i-arm']);
    expect(plan.skipped).toEqual([{ id: 'i-x86', reason: expect.stringContaining('t4g.small is arm64 but t3.large is x86_64') }]);
  });
});
