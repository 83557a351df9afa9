import { describe, expect, it } from 'vitest';
import { validationErrorOf } from '../../helpers/errors.js';
import type { RateCounters } from '../../../packages/core/src/runbooks/execution.js';
import {
  canLaunchTarget,
  rampedConcurrencyLimit,
  rateControlledStatus,
  resolveRateControl,
  shouldStopLaunching,
} from '../../../packages/core/src/runbooks/rate-control.js';

// MaxConcurrency / MaxErrors: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartAutomationExecution.html
// Rate controls: https://docs.aws.amazon.com/systems-manager/latest/userguide/running-automations-scale-controls.html


const counters = (c: Partial<RateCounters>): RateCounters => ({ launched: 0, running: 0, succeeded: 0, failed: 0, ...c });

describe('resolveRateControl', () => {
  it('applies AWS default MaxConcurrency 10 and our MaxErrors default 0 when neither is given', () => {
    // Act
    const resolved = resolveRateControl({}, 40);
    // Assess
    expect(resolved).toEqual({ maxConcurrency: '10', maxErrors: '0', concurrencyLimit: 10, errorLimit: 0 });
  });

  it('takes counts as they are when the number of targets is larger', () => {
    // Act
    const resolved = resolveRateControl({ maxConcurrency: '3', maxErrors: '2' }, 100);
    // Assess
    expect(resolved).toMatchObject({ concurrencyLimit: 3, errorLimit: 2 });
  });

  it('accepts numbers as well as strings when the values come from YAML', () => {
    // Act
    const resolved = resolveRateControl({ maxConcurrency: 4, maxErrors: 0 }, 10);
    // Assess
    expect(resolved).toEqual({ maxConcurrency: '4', maxErrors: '0', concurrencyLimit: 4, errorLimit: 0 });
  });

  it('resolves both limits to 5 when given 10% of 50 targets, as in AWS example', () => {
    // Act
    const resolved = resolveRateControl({ maxConcurrency: '10%', maxErrors: '10%' }, 50);
    // Assess: AWS stops "when the sixth error is received", i.e. 5 failures are allowed
    expect(resolved).toMatchObject({ concurrencyLimit: 5, errorLimit: 5 });
  });

  it('resolves to every target when given 100%', () => {
    // Act
    const resolved = resolveRateControl({ maxConcurrency: '100%', maxErrors: '100%' }, 7);
    // Assess
    expect(resolved).toMatchObject({ concurrencyLimit: 7, errorLimit: 7 });
  });

  it('rounds a percentage down when it does not divide the targets evenly', () => {
    // Act
    const resolved = resolveRateControl({ maxConcurrency: '25%', maxErrors: '25%' }, 7);
    // Assess: 1.75 → 1
    expect(resolved).toMatchObject({ concurrencyLimit: 1, errorLimit: 1 });
  });

  it('keeps concurrency at 1 but lets the error limit be 0 when 1% of 3 targets rounds to 0', () => {
    // Act
    const resolved = resolveRateControl({ maxConcurrency: '1%', maxErrors: '1%' }, 3);
    // Assess
    expect(resolved).toMatchObject({ concurrencyLimit: 1, errorLimit: 0 });
  });

  it('resolves to no failures allowed when MaxErrors is 0 or 0%', () => {
    // Act
    const zero = resolveRateControl({ maxErrors: '0' }, 10);
    const zeroPercent = resolveRateControl({ maxErrors: '0%' }, 10);
    // Assess
    expect([zero.errorLimit, zeroPercent.errorLimit]).toEqual([0, 0]);
  });

  it('resolves percentages without failing when there are no targets', () => {
    // Act
    const resolved = resolveRateControl({ maxConcurrency: '50%', maxErrors: '50%' }, 0);
    // Assess
    expect(resolved).toMatchObject({ concurrencyLimit: 1, errorLimit: 0 });
  });

  it.each(['0', '0%', '01', '101%', '1.5', '-1', '10 %', '', 'ten', '%', '10000000'])('rejects MaxConcurrency %j naming the field when it breaks AWS pattern', (value) => {
    // Act
    const error = validationErrorOf(() => resolveRateControl({ maxConcurrency: value }, 10));
    // Assess
    expect(error.field).toBe('MaxConcurrency');
    expect(error.message).toContain(`MaxConcurrency ${JSON.stringify(value)}`);
  });

  it.each(['00', '05%', '101%', '-1', '1.5', '', 'all', '10000000'])('rejects MaxErrors %j naming the field when it breaks AWS pattern', (value) => {
    // Act
    const error = validationErrorOf(() => resolveRateControl({ maxErrors: value }, 10));
    // Assess
    expect(error.field).toBe('MaxErrors');
  });

  it('accepts 9999999 when it fills the 7-character limit', () => {
    // Act
    const resolved = resolveRateControl({ maxConcurrency: '9999999', maxErrors: '9999999' }, 1);
    // Assess
    expect(resolved.concurrencyLimit).toBe(9_999_999);
  });

  it('throws RangeError when the target count is not a whole number', () => {
    // Act / Assess
    expect(() => resolveRateControl({}, 2.5)).toThrow(RangeError);
  });
});

describe('shouldStopLaunching', () => {
  it('stops at the 3rd failure, not the 2nd, when MaxErrors is 2', () => {
    // Act
    const afterTwo = shouldStopLaunching({ failed: 2 }, 2);
    const afterThree = shouldStopLaunching({ failed: 3 }, 2);
    // Assess
    expect([afterTwo, afterThree]).toEqual([false, true]);
  });

  it('stops after the first failure when MaxErrors is 0', () => {
    // Act / Assess
    expect([shouldStopLaunching({ failed: 0 }, 0), shouldStopLaunching({ failed: 1 }, 0)]).toEqual([false, true]);
  });
});

describe('canLaunchTarget', () => {
  const limits = { concurrencyLimit: 2, errorLimit: 1 };

  it('allows a launch when a slot is free, targets remain and failures are within the limit', () => {
    // Act / Assess
    expect(canLaunchTarget(counters({ launched: 3, running: 1, succeeded: 1, failed: 1 }), 5, limits)).toBe(true);
  });

  it('refuses a launch when the concurrency limit is reached', () => {
    // Act / Assess
    expect(canLaunchTarget(counters({ launched: 2, running: 2 }), 5, limits)).toBe(false);
  });

  it('refuses a launch when every target has been launched', () => {
    // Act / Assess
    expect(canLaunchTarget(counters({ launched: 5, running: 0, succeeded: 5 }), 5, limits)).toBe(false);
  });

  it('refuses a launch when failures exceed MaxErrors', () => {
    // Act / Assess
    expect(canLaunchTarget(counters({ launched: 3, running: 0, succeeded: 1, failed: 2 }), 5, limits)).toBe(false);
  });
});

describe('rampedConcurrencyLimit', () => {
  it('starts with one child and doubles the window up to the limit when children finish', () => {
    // Act
    const windows = [0, 1, 3, 7, 20].map((finished) => rampedConcurrencyLimit({ succeeded: finished, failed: 0 }, 6));
    // Assess: 1 first, then 2 ("two more resources"), 4, 6 (the limit)
    expect(windows).toEqual([1, 2, 4, 6, 6]);
  });

  it('widens the window when children fail as when they succeed', () => {
    // Act / Assess
    expect(rampedConcurrencyLimit({ succeeded: 1, failed: 2 }, 10)).toBe(4);
  });
});

describe('rateControlledStatus', () => {
  it('is Success when every child succeeded', () => {
    // Act / Assess
    expect(rateControlledStatus(counters({ launched: 4, succeeded: 4 }), 4, 0)).toBe('Success');
  });

  it('is CompletedWithFailure when some children failed within MaxErrors and every target ran', () => {
    // Act / Assess
    expect(rateControlledStatus(counters({ launched: 4, succeeded: 2, failed: 2 }), 4, 2)).toBe('CompletedWithFailure');
  });

  it('is Failed when failures exceeded MaxErrors and no child runs', () => {
    // Act / Assess
    expect(rateControlledStatus(counters({ launched: 3, succeeded: 0, failed: 3 }), 10, 2)).toBe('Failed');
  });

  it('is InProgress while a child still runs even after MaxErrors was exceeded', () => {
    // Act / Assess
    expect(rateControlledStatus(counters({ launched: 4, running: 1, failed: 3 }), 10, 2)).toBe('InProgress');
  });

  it('is InProgress while targets remain that may start', () => {
    // Act / Assess
    expect(rateControlledStatus(counters({ launched: 2, succeeded: 2 }), 5, 0)).toBe('InProgress');
  });

  it('is Success when there are no targets', () => {
    // Act / Assess
    expect(rateControlledStatus(counters({}), 0, 0)).toBe('Success');
  });
});
