import { DeleteParameterCommand, DescribeParametersCommand, GetParameterCommand, PutParameterCommand, SSMClient, type PutParameterCommandInput } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusEvent, Localcloud } from '@opsauto/localcloud';
import { ssm as ssmService } from '../../packages/localcloud/src/services/ssm.js';
import { fixture } from '../helpers/fixtures.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const DAY = 86_400_000;

type PolicyDetail = Record<'policy-type' | 'parameter-name' | 'parameter-type' | 'policy-content' | 'action-status' | 'action-reason', string>;
const policyEvents = (cloud: Localcloud) =>
  cloud.bus.recent.filter((e) => e['detail-type'] === 'Parameter Store Policy Action') as (BusEvent & { detail: PolicyDetail; matchedRules: string[] })[];

const policy = (Type: string, Attributes: Record<string, string>) => ({ Type, Version: '1.0', Attributes });

describe('localcloud SSM parameter policies on the virtual clock', () => {
  let cloud: Localcloud;
  let ssm: SSMClient;
  const put = (input: PutParameterCommandInput) => ssm.send(new PutParameterCommand(input));
  const putWithPolicies = (Name: string, policies: object[], extra: Partial<PutParameterCommandInput> = {}) =>
    put({ Name, Value: 'secret', Type: 'SecureString', Tier: 'Advanced', Policies: JSON.stringify(policies), ...extra });
  const statuses = async (Name: string) => {
    const { Parameters } = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [Name] }] }));
    return (Parameters?.[0]?.Policies ?? []).map((p) => [p.PolicyType, p.PolicyStatus]);
  };
  const isoIn = (ms: number) => new Date(cloud.clock.nowMs() + ms).toISOString();

  beforeEach(async () => {
    cloud = await startTestCloud();
    ssm = new SSMClient(clientConfig(cloud));
  });
  afterEach(async () => {
    ssm.destroy();
    await cloud.stop();
  });

  it('emits one NoChangeNotification when the parameter has not changed for the period, shaped like the published sample', async () => {
    // Prepare: a rule with the pattern a notifier would use, to show the event matches it.
    cloud.bus.putRule({ name: 'stale-secrets', pattern: { source: ['aws.ssm'], 'detail-type': ['Parameter Store Policy Action'], detail: { 'parameter-name': ['/db/password'] } }, targets: [] });
    const noChange = policy('NoChangeNotification', { After: '30', Unit: 'Days' });
    await putWithPolicies('/db/password', [noChange]);

    // Act + Assess: nothing before 30 days, one event after, none again later.
    await cloud.advance('29d');
    expect(policyEvents(cloud)).toEqual([]);
    expect(await statuses('/db/password')).toEqual([['NoChangeNotification', 'Pending']]);
    await cloud.advance('2d');
    const events = policyEvents(cloud);
    expect(events).toHaveLength(1);
    const sample = fixture('events/community-copy__parameter-store-policy-action_NoChangeNotification.json');
    expect(Object.keys(events[0].detail).sort()).toEqual(Object.keys(sample.detail as object).sort());
    expect(events[0]).toMatchObject({
      source: 'aws.ssm',
      account: ACCOUNT,
      region: REGION,
      resources: [`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/db/password`],
      detail: { 'policy-type': 'NoChangeNotification', 'parameter-name': '/db/password', 'parameter-type': 'SecureString', 'action-status': 'Success' },
      matchedRules: ['stale-secrets'],
    });
    expect(JSON.parse(events[0].detail['policy-content'])).toEqual(noChange);
    expect(events[0].detail['action-reason']).toMatch(/^The parameter has not been changed for 30 days\. This notification was generated based on the policy created at \d{4}-/);
    expect(await statuses('/db/password')).toEqual([['NoChangeNotification', 'Finished']]);
    await cloud.advance('60d');
    expect(policyEvents(cloud)).toHaveLength(1);
  });

  it('starts the NoChangeNotification period again when a new version keeps the policies', async () => {
    await putWithPolicies('/api/key', [policy('NoChangeNotification', { After: '10', Unit: 'Days' })]);
    await cloud.advance('8d');
    await put({ Name: '/api/key', Value: 'rotated', Overwrite: true });
    expect(await statuses('/api/key')).toEqual([['NoChangeNotification', 'Pending']]);

    await cloud.advance('9d'); // 17 days after creation, 9 after the change
    expect(policyEvents(cloud)).toEqual([]);
    await cloud.advance('2d');
    expect(policyEvents(cloud).map((e) => e.detail['policy-type'])).toEqual(['NoChangeNotification']);
  });

  it('notifies before the expiration and deletes the parameter at the Expiration timestamp', async () => {
    const expiresAt = isoIn(10 * DAY);
    await putWithPolicies('/tls/cert', [
      policy('Expiration', { Timestamp: expiresAt }),
      policy('ExpirationNotification', { Before: '5', Unit: 'Days' }),
      policy('ExpirationNotification', { Before: '12', Unit: 'Hours' }),
    ]);

    await cloud.advance('4d');
    expect(policyEvents(cloud)).toEqual([]);
    await cloud.advance('2d');
    expect(policyEvents(cloud).map((e) => [e.detail['policy-type'], e.detail['action-reason'].split('.')[0]])).toEqual([
      ['ExpirationNotification', 'The parameter will expire in 5 days'],
    ]);
    await cloud.advance('3d'); // day 9: 12 hours before is day 9.5
    expect(policyEvents(cloud)).toHaveLength(1);
    await cloud.advance('13h');
    expect(policyEvents(cloud)).toHaveLength(2);
    expect((await ssm.send(new GetParameterCommand({ Name: '/tls/cert' }))).Parameter?.Value).toBe('secret');
    expect(await statuses('/tls/cert')).toEqual([
      ['Expiration', 'Pending'],
      ['ExpirationNotification', 'Finished'],
      ['ExpirationNotification', 'Finished'],
    ]);

    await cloud.advance('1d');
    const last = policyEvents(cloud).at(-1)!;
    expect(last.detail).toMatchObject({ 'policy-type': 'Expiration', 'parameter-name': '/tls/cert' });
    expect(last.time).toBe(expiresAt.replace(/\.\d{3}Z$/, 'Z'));
    expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/tls/cert' })))).name).toBe('ParameterNotFound');
  });

  it('does not fire the timers of policies replaced by a later PutParameter', async () => {
    await putWithPolicies('/short', [policy('Expiration', { Timestamp: isoIn(5 * DAY) })]);
    await putWithPolicies('/short', [policy('Expiration', { Timestamp: isoIn(20 * DAY) })], { Overwrite: true });

    await cloud.advance('6d');
    expect(policyEvents(cloud)).toEqual([]);
    expect((await ssm.send(new GetParameterCommand({ Name: '/short' }))).Parameter?.Version).toBe(2);
    await cloud.advance('15d');
    expect(policyEvents(cloud).map((e) => e.detail['policy-type'])).toEqual(['Expiration']);
  });

  it('keeps the expiration when a new version has no Policies, and removes every policy with [{}]', async () => {
    await putWithPolicies('/keep', [policy('Expiration', { Timestamp: isoIn(3 * DAY) })]);
    await put({ Name: '/keep', Value: 'v2', Overwrite: true });
    await putWithPolicies('/drop', [policy('NoChangeNotification', { After: '1', Unit: 'Days' })]);
    await put({ Name: '/drop', Value: 'v2', Overwrite: true, Policies: '[{}]' });
    expect(await statuses('/drop')).toEqual([]);

    await cloud.advance('4d');
    expect(policyEvents(cloud).map((e) => [e.detail['parameter-name'], e.detail['policy-type']])).toEqual([['/keep', 'Expiration']]);
  });

  it('acts at the next settle on a policy that was already due when it was applied', async () => {
    await putWithPolicies('/late', [policy('Expiration', { Timestamp: isoIn(2 * 3_600_000) }), policy('ExpirationNotification', { Before: '1', Unit: 'Days' })]);
    await cloud.settle();
    expect(policyEvents(cloud).map((e) => e.detail['policy-type'])).toEqual(['ExpirationNotification']);
  });

  it('fires a seeded policy once even when the service is started again (start is idempotent)', async () => {
    cloud.seed({
      regions: {
        [REGION]: {
          parameters: [
            { name: '/seeded', value: 'x', tier: 'Advanced', lastModifiedDate: new Date(cloud.clock.nowMs() - 40 * DAY).toISOString(), policies: [policy('NoChangeNotification', { After: '30', Unit: 'Days' })] },
          ],
        },
      },
    });
    const pending = cloud.clock.pendingTimers;
    ssmService.start!({ clock: cloud.clock, store: cloud.store, bus: cloud.bus });
    ssmService.start!({ clock: cloud.clock, store: cloud.store, bus: cloud.bus });
    expect(cloud.clock.pendingTimers).toBe(pending);
    await cloud.settle();
    await cloud.advance('1d');
    expect(policyEvents(cloud).map((e) => e.detail['parameter-name'])).toEqual(['/seeded']);
  });

  it('leaves a deleted parameter alone when its policy comes due', async () => {
    await putWithPolicies('/gone', [policy('NoChangeNotification', { After: '1', Unit: 'Hours' })]);
    await ssm.send(new DeleteParameterCommand({ Name: '/gone' }));
    await cloud.advance('2h');
    expect(policyEvents(cloud)).toEqual([]);
  });

  it('rejects a second Expiration policy and accepts several ExpirationNotification policies', async () => {
    const timestamp = isoIn(DAY);
    const two = [policy('Expiration', { Timestamp: timestamp }), policy('Expiration', { Timestamp: timestamp })];
    expect((await errorOf(putWithPolicies('/two', two))).name).toBe('IncompatiblePolicyException');
    const notes = [policy('Expiration', { Timestamp: timestamp }), policy('ExpirationNotification', { Before: '2', Unit: 'Hours' }), policy('ExpirationNotification', { Before: '1', Unit: 'Hours' })];
    expect((await putWithPolicies('/two', notes)).Tier).toBe('Advanced');
    expect((await errorOf(putWithPolicies('/bad', [policy('NoChangeNotification', { After: 'soon', Unit: 'Days' })]))).name).toBe('InvalidPolicyAttributeException');
  });
});
