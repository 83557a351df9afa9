import { describe, expect, it } from 'vitest';
import {
  applyParameterPolicies,
  fixedClock,
  MAX_POLICIES,
  planPolicies,
  type ParameterPolicy,
  type ParameterPolicyStore,
  type PolicyParameter,
  type PolicyPlan,
  type PolicyTarget,
} from '@opsauto/core';
import { errorOf, validationErrorOf } from '../../helpers/errors.js';

const NOW = new Date('2026-12-01T00:00:00.000Z');
const EXPIRES = '2027-03-01T00:00:00.000Z';
const expiration = (at = EXPIRES): ParameterPolicy => ({ type: 'Expiration', expiresAt: at });
const before = (amount: number, unit: 'Days' | 'Hours' = 'Days'): ParameterPolicy => ({ type: 'ExpirationNotification', before: { amount, unit } });
const noChange = (amount: number, unit: 'Days' | 'Hours' = 'Days'): ParameterPolicy => ({ type: 'NoChangeNotification', after: { amount, unit } });
const standard = (policies: ParameterPolicy[] = []): PolicyTarget => ({ name: '/db/password', tier: 'Standard', policies });
const advanced = (policies: ParameterPolicy[] = []): PolicyTarget => ({ name: '/db/password', tier: 'Advanced', policies });

describe('planPolicies: the new set', () => {
  it('builds the set a standard parameter asks for and says it must be upgraded to the advanced tier', () => {
    // Act
    const plan = planPolicies(standard(), { expires: '2027-03-01', notifyBefore: ['15d', '1d'], noChangeAfter: '30d' }, NOW);
    // Assess
    expect(plan.policies).toEqual([expiration(), before(15), before(1), noChange(30)]);
    expect(plan).toMatchObject({ needsAdvanced: true, upgrade: true, tier: 'Advanced', unchanged: false, removed: [] });
    expect(plan.added).toEqual(['expires 2027-03-01T00:00:00.000Z', 'notify 15d before expiry', 'notify 1d before expiry', 'notify after 30d without change']);
  });

  it('does not ask an advanced parameter to be upgraded again', () => {
    const plan = planPolicies(advanced([expiration()]), { notifyBefore: ['7d'] }, NOW);
    expect(plan).toMatchObject({ needsAdvanced: true, upgrade: false, tier: 'Advanced' });
  });

  it('computes an expiry given as a span from now', () => {
    const plan = planPolicies(standard(), { expiresIn: '90d' }, NOW);
    expect(plan.policies).toEqual([expiration('2027-03-01T00:00:00.000Z')]);
    expect(planPolicies(standard(), { expiresIn: '12h' }, NOW).policies).toEqual([expiration('2026-12-01T12:00:00.000Z')]);
  });

  it('reads an ISO 8601 expiry with a time and offset as that instant', () => {
    expect(planPolicies(standard(), { expires: '2027-03-01T09:30:00+01:00' }, NOW).policies).toEqual([expiration('2027-03-01T08:30:00.000Z')]);
  });
});

describe('planPolicies: merging with the existing set', () => {
  it('replaces the old Expiration with the new one and keeps the other policies', () => {
    // Prepare
    const current = advanced([expiration(), before(30), noChange(60)]);
    // Act
    const plan = planPolicies(current, { expires: '2027-06-01', notifyBefore: ['15d'] }, NOW);
    // Assess
    expect(plan.policies).toEqual([before(30), noChange(60), expiration('2027-06-01T00:00:00.000Z'), before(15)]);
    expect(plan.removed).toEqual(['expires 2027-03-01T00:00:00.000Z']);
    expect(plan.added).toEqual(['expires 2027-06-01T00:00:00.000Z', 'notify 15d before expiry']);
  });

  it('adds a notification once: one the parameter has (in any unit) or one asked twice is not added again', () => {
    // Prepare
    const current = advanced([expiration(), before(1), noChange(30)]);
    // Act
    const plan = planPolicies(current, { notifyBefore: ['24h', '15d', '360h', '15d'], noChangeAfter: '720h' }, NOW);
    // Assess
    expect(plan.policies).toEqual([expiration(), before(1), noChange(30), before(15)]);
    expect(plan.added).toEqual(['notify 15d before expiry']);
  });

  it('says the set is unchanged when the request asks only for what the parameter has', () => {
    const plan = planPolicies(advanced([expiration(), before(15)]), { expires: '2027-03-01', notifyBefore: ['15d'] }, NOW);
    expect(plan).toMatchObject({ unchanged: true, added: [], removed: [] });
  });

  it('adds a second no-change notice beside an existing one of another span (replace changes it)', () => {
    expect(planPolicies(advanced([noChange(60)]), { noChangeAfter: '30d' }, NOW).policies).toEqual([noChange(60), noChange(30)]);
    expect(planPolicies(advanced([noChange(60)]), { noChangeAfter: '30d', replace: true }, NOW).policies).toEqual([noChange(30)]);
  });

  it('with replace, keeps only what is asked for and lists what it drops', () => {
    // Act
    const plan = planPolicies(advanced([expiration(), before(30), noChange(60)]), { expiresIn: '30d', replace: true }, NOW);
    // Assess
    expect(plan.policies).toEqual([expiration('2026-12-31T00:00:00.000Z')]);
    expect(plan.removed).toEqual(['expires 2027-03-01T00:00:00.000Z', 'notify 30d before expiry', 'notify after 60d without change']);
  });

  it('does not re-check a kept reminder that has already fired when only a no-change notice is added', () => {
    // Prepare: 10 days before the expiry, the 15-day reminder is behind us.
    const late = new Date('2027-02-19T00:00:00.000Z');
    // Act
    const plan = planPolicies(advanced([expiration(), before(15)]), { noChangeAfter: '30d' }, late);
    // Assess
    expect(plan.policies).toEqual([expiration(), before(15), noChange(30)]);
  });
});

describe('planPolicies: clearing', () => {
  it('removes every policy; an advanced parameter stays advanced, since it cannot go back', () => {
    const plan = planPolicies(advanced([expiration(), before(15)]), { clear: true }, NOW);
    expect(plan).toMatchObject({ policies: [], needsAdvanced: false, upgrade: false, tier: 'Advanced', unchanged: false });
    expect(plan.removed).toHaveLength(2);
  });

  it('is unchanged on a parameter without policies, which stays standard', () => {
    expect(planPolicies(standard(), { clear: true }, NOW)).toMatchObject({ policies: [], unchanged: true, tier: 'Standard', upgrade: false });
  });

  it('refuses clear with anything else, naming clear', () => {
    const err = validationErrorOf(() => planPolicies(advanced([expiration()]), { clear: true, notifyBefore: ['1d'] }, NOW));
    expect(err.field).toBe('clear');
    expect(err.message).toContain('notifyBefore');
  });
});

describe('planPolicies: validation at the edges', () => {
  it.each([
    ['an expiry now', { expires: NOW.toISOString() }, 'expires'],
    ['an expiry in the past', { expires: '2026-11-30' }, 'expires'],
    ['an expiry that is not a date', { expires: 'next march' }, 'expires'],
    ['a date without its day', { expires: '2027-03' }, 'expires'],
    ['a zero span', { expiresIn: '0d' }, 'expiresIn'],
    ['weeks', { expiresIn: '2w' }, 'expiresIn'],
    ['both kinds of expiry', { expires: '2027-03-01', expiresIn: '90d' }, 'expiresIn'],
    ['minutes before expiry', { expires: '2027-03-01', notifyBefore: ['30m'] }, 'notifyBefore'],
    ['a fractional span', { expires: '2027-03-01', notifyBefore: ['1.5d'] }, 'notifyBefore'],
    ['a no-change span in weeks', { noChangeAfter: '4w' }, 'noChangeAfter'],
    ['nothing at all', {}, 'policies'],
  ])('refuses %s, naming the field', (_what, request, field) => {
    const err = validationErrorOf(() => planPolicies(standard(), request, NOW));
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });

  it('accepts an expiry 1 ms in the future and refuses one at now', () => {
    expect(planPolicies(standard(), { expires: new Date(NOW.getTime() + 1).toISOString() }, NOW).policies).toHaveLength(1);
    expect(validationErrorOf(() => planPolicies(standard(), { expires: NOW.toISOString() }, NOW)).field).toBe('expires');
  });

  it('accepts a reminder due 1 h from now and refuses one due now (expiry - before must be after now)', () => {
    // Prepare: the expiry is exactly 15 days and 1 hour away.
    const expires = new Date(NOW.getTime() + 15 * 86_400_000 + 3_600_000).toISOString();
    // Act
    const ok = planPolicies(standard(), { expires, notifyBefore: ['360h', '15d'] }, NOW);
    const err = validationErrorOf(() => planPolicies(standard(), { expires, notifyBefore: ['361h'] }, NOW));
    // Assess
    expect(ok.policies).toEqual([expiration(expires), before(360, 'Hours')]);
    expect(err.field).toBe('notifyBefore');
    expect(err.message).toContain('not in the future');
  });

  it('checks kept reminders against a new expiry: a 30-day reminder cannot stay with an expiry 10 days away', () => {
    const err = validationErrorOf(() => planPolicies(advanced([expiration(), before(30)]), { expiresIn: '10d' }, NOW));
    expect(err.field).toBe('notifyBefore');
    expect(err.message).toContain('30d before the expiry');
  });

  it('refuses a reminder without an expiry, and accepts it when the parameter has one', () => {
    expect(validationErrorOf(() => planPolicies(standard(), { notifyBefore: ['15d'] }, NOW)).field).toBe('notifyBefore');
    expect(validationErrorOf(() => planPolicies(advanced([expiration()]), { notifyBefore: ['15d'], replace: true }, NOW)).field).toBe('notifyBefore');
    expect(planPolicies(advanced([expiration()]), { notifyBefore: ['15d'] }, NOW).policies).toEqual([expiration(), before(15)]);
  });

  it('refuses to keep an Expiration that has passed when asked only for something else', () => {
    const err = validationErrorOf(() => planPolicies(advanced([expiration('2026-11-01T00:00:00.000Z')]), { noChangeAfter: '30d' }, NOW));
    expect(err.field).toBe('expires');
    expect(err.message).toContain('has passed');
  });

  it(`allows ${MAX_POLICIES} policies and refuses ${MAX_POLICIES + 1}, counting the ones kept by the merge`, () => {
    // Prepare: an expiry and 8 reminders.
    const current = advanced([expiration(), ...[1, 2, 3, 4, 5, 6, 7, 8].map((d) => before(d))]);
    // Act
    const ten = planPolicies(current, { notifyBefore: ['9d'] }, NOW);
    const err = validationErrorOf(() => planPolicies(current, { notifyBefore: ['9d', '10d'] }, NOW));
    // Assess
    expect(ten.policies).toHaveLength(MAX_POLICIES);
    expect(err.field).toBe('policies');
    expect(err.message).toContain('would have 11');
    expect(planPolicies(current, { notifyBefore: ['9d', '10d'], replace: true, expires: '2027-03-01' }, NOW).policies).toHaveLength(3);
  });
});

/** Parameter Store in memory: what was written, and the version a write makes. */
class MemoryPolicyStore implements ParameterPolicyStore {
  writes: { name: string; policies: ParameterPolicy[]; tier: string }[] = [];
  constructor(private parameter?: PolicyParameter) {}
  read(name: string) {
    return Promise.resolve(this.parameter?.name === name ? this.parameter : undefined);
  }
  write(parameter: PolicyParameter, plan: PolicyPlan) {
    this.writes.push({ name: parameter.name, policies: plan.policies, tier: plan.tier });
    this.parameter = { ...parameter, version: parameter.version + 1, tier: plan.tier, policies: plan.policies };
    return Promise.resolve({ version: this.parameter.version, tier: plan.tier });
  }
}

const summary = (tier: string, policies: ParameterPolicy[] = []): PolicyParameter => ({
  name: '/db/password',
  type: 'SecureString',
  tier,
  version: 3,
  lastModifiedDate: '2026-11-01T00:00:00.000Z',
  policies,
  keyId: 'alias/app',
});

describe('applyParameterPolicies', () => {
  it('writes nothing and says what the upgrade means when a standard parameter would need the advanced tier', async () => {
    // Prepare
    const store = new MemoryPolicyStore(summary('Standard'));
    // Act
    const result = await applyParameterPolicies({ parameters: store, clock: fixedClock(NOW) }, '/db/password', { expiresIn: '90d' });
    // Assess
    expect(result.status).toBe('needs-advanced');
    expect(result.status === 'needs-advanced' && result.note).toMatch(/\$0\.05 per parameter per month \(prorated hourly\).*cannot go back to the standard tier/);
    expect(store.writes).toEqual([]);
  });

  it('writes the set with the advanced tier when the upgrade is allowed', async () => {
    const store = new MemoryPolicyStore(summary('Standard'));
    const result = await applyParameterPolicies({ parameters: store, clock: fixedClock(NOW) }, '/db/password', { expiresIn: '90d', notifyBefore: ['15d'] }, { allowAdvanced: true });
    expect(result).toMatchObject({ status: 'applied', version: 4, tier: 'Advanced' });
    expect(store.writes).toEqual([{ name: '/db/password', policies: [expiration(), before(15)], tier: 'Advanced' }]);
  });

  it('needs no permission to change the policies of an advanced parameter', async () => {
    const store = new MemoryPolicyStore(summary('Advanced', [expiration()]));
    const result = await applyParameterPolicies({ parameters: store, clock: fixedClock(NOW) }, '/db/password', { notifyBefore: ['15d'] });
    expect(result.status).toBe('applied');
    expect(store.writes).toHaveLength(1);
  });

  it('writes nothing when the set is unchanged (a write would make a new version for nothing)', async () => {
    const store = new MemoryPolicyStore(summary('Advanced', [expiration()]));
    const result = await applyParameterPolicies({ parameters: store, clock: fixedClock(NOW) }, '/db/password', { expires: EXPIRES });
    expect(result).toMatchObject({ status: 'unchanged', version: 3 });
    expect(store.writes).toEqual([]);
  });

  it('fails with NotFoundError for a parameter that does not exist, and validation errors before any write', async () => {
    const store = new MemoryPolicyStore(summary('Advanced'));
    expect(await errorOf(applyParameterPolicies({ parameters: store, clock: fixedClock(NOW) }, '/nope', { expiresIn: '1d' }))).toMatchObject({ name: 'NotFoundError', message: 'parameter /nope does not exist' });
    expect(await errorOf(applyParameterPolicies({ parameters: store, clock: fixedClock(NOW) }, '/db/password', { expires: '2020-01-01' }, { allowAdvanced: true }))).toMatchObject({ name: 'ValidationError' });
    expect(store.writes).toEqual([]);
  });
});
