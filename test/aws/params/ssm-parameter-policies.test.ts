import { DescribeParametersCommand, GetParameterCommand, GetParameterHistoryCommand, ListTagsForResourceCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, SsmParameterPolicies } from '@opsauto/aws';
import { applyParameterPolicies, fixedClock, planPolicies, type Clock } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { errorOf } from '../../helpers/errors.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

// SsmParameterPolicies through the real SDK client against localcloud: a policy write re-puts the parameter as it
// is, so these tests read back everything a careless PutParameter would lose (value, type, key, description,
// pattern, tags) and check the tier upgrade and the refusal that comes before it.

const SECRET = 's3cr3t-Value-that-must-not-leak';
const KEY = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555';

let cloud: Localcloud;
let ssm: SSMClient;
let store: SsmParameterPolicies;
let clock: Clock;

const metadata = async (name: string) => (await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [name] }] }))).Parameters![0];
const tags = async (name: string) => (await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }))).TagList;
const policyTexts = async (name: string) => (await metadata(name)).Policies!.map((p) => JSON.parse(p.PolicyText!) as unknown);

beforeAll(async () => {
  cloud = await startTestCloud();
  ssm = new SSMClient(clientConfig(cloud));
  store = new SsmParameterPolicies(new AwsClients('us-east-1', clientConfig(cloud)));
  // The policies' times are computed from this instant (localcloud's clock follows real time unless moved).
  clock = fixedClock(cloud.clock.now());
});
afterAll(async () => {
  await cloud.stop();
});

describe('SsmParameterPolicies', () => {
  it('reads the metadata a write must keep, never the value', async () => {
    // Prepare
    await ssm.send(new PutParameterCommand({ Name: '/read/secure', Value: SECRET, Type: 'SecureString', KeyId: KEY, Description: 'db password', AllowedPattern: '^\\S+$' }));
    // Act
    const read = await store.read('/read/secure');
    // Assess
    expect(read).toMatchObject({ name: '/read/secure', type: 'SecureString', tier: 'Standard', version: 1, keyId: KEY, description: 'db password', allowedPattern: '^\\S+$', dataType: 'text', policies: [] });
    expect(JSON.stringify(read)).not.toContain(SECRET);
    expect(await store.read('/read/missing')).toBeUndefined();
  });

  it('sets policies on a standard SecureString: value, type, key, description, pattern and tags unchanged, tier upgraded to Advanced', async () => {
    // Prepare
    const name = '/app/db/password';
    await ssm.send(new PutParameterCommand({ Name: name, Value: SECRET, Type: 'SecureString', KeyId: KEY, Description: 'db password', AllowedPattern: '^\\S+$', Tags: [{ Key: 'team', Value: 'payments' }] }));
    const before = await metadata(name);
    // Act
    const result = await applyParameterPolicies({ parameters: store, clock }, name, { expiresIn: '90d', notifyBefore: ['15d'], noChangeAfter: '30d' }, { allowAdvanced: true });
    // Assess
    expect(result).toMatchObject({ status: 'applied', version: 2, tier: 'Advanced' });
    expect(JSON.stringify(result)).not.toContain(SECRET);
    const after = await metadata(name);
    expect(after).toMatchObject({ Type: 'SecureString', KeyId: KEY, Description: 'db password', AllowedPattern: '^\\S+$', DataType: 'text', Tier: 'Advanced', Version: 2 });
    expect(before).toMatchObject({ Tier: 'Standard', KeyId: KEY });
    expect((await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter!.Value).toBe(SECRET);
    expect(await tags(name)).toEqual([{ Key: 'team', Value: 'payments' }]);
    const expiresAt = new Date(clock.now().getTime() + 90 * 86_400_000).toISOString();
    expect(await policyTexts(name)).toEqual([
      { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: expiresAt } },
      { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '15', Unit: 'Days' } },
      { Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: '30', Unit: 'Days' } },
    ]);
  });

  it('merges a later request with the policies AWS reports, and keeps the parameter advanced', async () => {
    // Prepare
    const name = '/app/api/token';
    await ssm.send(new PutParameterCommand({ Name: name, Value: SECRET, Type: 'SecureString', Tier: 'Advanced', Policies: '[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2099-01-01T00:00:00.000Z"}}]' }));
    const defaultKey = (await metadata(name)).KeyId;
    // Act
    const result = await applyParameterPolicies({ parameters: store, clock }, name, { notifyBefore: ['7d', '24h'] });
    // Assess
    expect(result).toMatchObject({ status: 'applied', version: 2, tier: 'Advanced' });
    expect(await policyTexts(name)).toEqual([
      { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: '2099-01-01T00:00:00.000Z' } },
      { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '7', Unit: 'Days' } },
      { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '24', Unit: 'Hours' } },
    ]);
    expect(await metadata(name)).toMatchObject({ KeyId: defaultKey, Tier: 'Advanced' });
  });

  it('leaves a standard parameter untouched when the upgrade is not allowed', async () => {
    // Prepare
    const name = '/app/standard';
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'plain', Type: 'String' }));
    // Act
    const result = await applyParameterPolicies({ parameters: store, clock }, name, { expiresIn: '30d' });
    // Assess
    expect(result.status).toBe('needs-advanced');
    expect(await metadata(name)).toMatchObject({ Tier: 'Standard', Version: 1, Policies: [] });
  });

  it('clears every policy with Policies [] and the parameter stays advanced, its value and tags kept', async () => {
    // Prepare
    const name = '/app/clear-me';
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'a,b,c', Type: 'StringList', Tags: [{ Key: 'owner', Value: 'ops' }] }));
    await applyParameterPolicies({ parameters: store, clock }, name, { expiresIn: '10d', notifyBefore: ['1d'] }, { allowAdvanced: true });
    // Act
    const result = await applyParameterPolicies({ parameters: store, clock }, name, { clear: true });
    // Assess
    expect(result).toMatchObject({ status: 'applied', version: 3, tier: 'Advanced' });
    expect(await metadata(name)).toMatchObject({ Type: 'StringList', Tier: 'Advanced', Policies: [] });
    expect((await ssm.send(new GetParameterCommand({ Name: name }))).Parameter!.Value).toBe('a,b,c');
    expect(await tags(name)).toEqual([{ Key: 'owner', Value: 'ops' }]);
  });

  it('writes nothing when the parameter changed after it was read', async () => {
    // Prepare: read, then someone else writes a new value.
    const name = '/app/racing';
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'first', Type: 'String', Tier: 'Advanced' }));
    const read = (await store.read(name))!;
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'second', Type: 'String', Overwrite: true }));
    // Act
    const err = await errorOf(store.write(read, planPolicies(read, { expiresIn: '30d' }, clock.now())));
    // Assess
    expect(err.name).toBe('ConcurrentUpdateError');
    expect(err.message).toContain('nothing was written');
    const history = (await ssm.send(new GetParameterHistoryCommand({ Name: name }))).Parameters!;
    expect(history.map((v) => [v.Version, v.Value, v.Policies])).toEqual([
      [1, 'first', []],
      [2, 'second', []],
    ]);
  });

  it('passes the service error on without the value in it', async () => {
    // Prepare: a value that no longer matches the parameter's allowed pattern cannot be written back.
    const name = '/app/pattern';
    await ssm.send(new PutParameterCommand({ Name: name, Value: SECRET, Type: 'SecureString', Tier: 'Advanced' }));
    const read = { ...(await store.read(name))!, allowedPattern: `^(?!${SECRET}$).*$` };
    // Act
    const err = await errorOf(store.write(read, planPolicies(read, { expiresIn: '30d' }, clock.now())));
    // Assess
    expect(err.name).toBe('ParameterPatternMismatchException');
    expect(err.message).not.toContain(SECRET);
    expect(err.message).toContain('***');
  });
});
