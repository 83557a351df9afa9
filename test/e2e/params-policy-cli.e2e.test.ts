import { AddTagsToResourceCommand, DescribeParametersCommand, GetParameterCommand, ListTagsForResourceCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineConfig, type Deadline } from '@opsauto/core';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { cliAgainst } from '../helpers/cli.js';
import { clientConfig } from '../helpers/localcloud.js';

// `opsauto params policy set | show | clear`, the built CLI against a local stage started in-process, on the
// virtual clock (which runs on with real time between calls: due times from a fixed expiry are exact, times from
// "now" are checked against what Parameter Store recorded). The SecureString's value must appear in no output.

const SECRET = 'pA55-w0rd-of-the-payments-db';
const KEY = 'arn:aws:kms:us-east-1:000000000000:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const NAME = '/payments/db/password';
const AT = '2026-12-01T00:00:00.000Z';

let stage: Stage;
let ssm: SSMClient;
/** The built CLI; `printed` keeps everything it printed in this file, to check the secret never appears. */
const { opsauto, opsautoJson, opsautoFails, printed } = cliAgainst(() => stage.cloud.url);
const metadata = async (name: string) => (await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [name] }] }))).Parameters![0];

beforeAll(async () => {
  stage = await startStage({ config: defineConfig({ regions: ['us-east-1'] }), port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  await stage.cloud.clock.set(new Date(AT));
  ssm = new SSMClient(clientConfig(stage.cloud));
  await ssm.send(new PutParameterCommand({ Name: NAME, Value: SECRET, Type: 'SecureString', KeyId: KEY, Description: 'payments DB', Tags: [{ Key: 'team', Value: 'payments' }] }));
}, 120_000);
afterAll(async () => {
  await stage?.stop();
});

describe('opsauto params policy', () => {
  it('refuses to upgrade a standard parameter without --allow-advanced: says what it costs, exits 1, changes nothing', async () => {
    // Act
    const { code, stderr } = await opsautoFails('params', 'policy', 'set', NAME, '--expires', '2027-03-01', '--notify-before', '15d');
    // Assess
    expect(code).toBe(1);
    expect(stderr).toContain(`${NAME} is a standard-tier parameter`);
    expect(stderr).toContain('$0.05 per parameter per month (prorated hourly)');
    expect(stderr).toContain('cannot go back to the standard tier');
    expect(stderr).toContain('--allow-advanced');
    expect(await metadata(NAME)).toMatchObject({ Tier: 'Standard', Version: 1, Policies: [] });
  });

  it('refuses bad input before any call, naming the flag', async () => {
    const past = await opsautoFails('params', 'policy', 'set', NAME, '--expires', '2026-11-01', '--allow-advanced');
    const unit = await opsautoFails('params', 'policy', 'set', NAME, '--expires-in', '90d', '--notify-before', '2w', '--allow-advanced');
    const late = await opsautoFails('params', 'policy', 'set', NAME, '--expires-in', '10d', '--notify-before', '10d', '--allow-advanced');
    expect(past.stderr).toMatch(/^opsauto: --expires: the expiry 2026-11-01T00:00:00.000Z is not in the future/);
    expect(unit.stderr).toMatch(/^opsauto: --notify-before: "2w" is not a span such as 15d or 12h/);
    expect(late.stderr).toMatch(/^opsauto: --notify-before: a reminder 10d before the expiry .* is not in the future/);
    expect(await metadata(NAME)).toMatchObject({ Tier: 'Standard', Version: 1 });
  });

  it('sets policies with --allow-advanced: upgraded, value, key, description and tags kept, due dates shown', async () => {
    // Act
    const out = await opsauto('params', 'policy', 'set', NAME, '--expires', '2027-03-01', '--notify-before', '15d', '--notify-before', '1d', '--no-change-after', '30d', '--allow-advanced');
    // Assess
    expect(out).toContain(`${NAME}: policies set as version 2 (upgraded to the advanced tier)`);
    expect(out).toMatch(/notify 15d before expiry\s+ExpirationNotification\s+policy\s+2027-02-14T00:00:00.000Z\s+in 75d 0h/);
    const changed = Date.parse((await metadata(NAME)).LastModifiedDate!.toISOString());
    expect(out).toMatch(new RegExp(`notify after 30d without change\\s+NoChangeNotification\\s+policy\\s+${new Date(changed + 30 * 86_400_000).toISOString()}\\s+in 30d 0h`));
    expect(out).toMatch(/expires 2027-03-01T00:00:00.000Z\s+Expiration\s+policy\s+2027-03-01T00:00:00.000Z\s+in 90d 0h/);
    expect(await metadata(NAME)).toMatchObject({ Tier: 'Advanced', Version: 2, Type: 'SecureString', KeyId: KEY, Description: 'payments DB' });
    expect(await metadata(NAME).then((m) => m.Policies!.map((p) => p.PolicyType))).toEqual(['Expiration', 'ExpirationNotification', 'ExpirationNotification', 'NoChangeNotification']);
    expect((await ssm.send(new GetParameterCommand({ Name: NAME, WithDecryption: true }))).Parameter!.Value).toBe(SECRET);
    expect((await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: NAME }))).TagList).toEqual([{ Key: 'team', Value: 'payments' }]);
  });

  it('merges a later set with the existing policies, and writes nothing when nothing changes', async () => {
    // Act
    const merged = await opsautoJson<{ status: string; version: number; added: string[]; removed: string[]; policies: { text: string }[] }>('params', 'policy', 'set', NAME, '--expires', '2027-04-01');
    const again = await opsauto('params', 'policy', 'set', NAME, '--notify-before', '15d');
    // Assess
    expect(merged).toMatchObject({ status: 'applied', version: 3, added: ['expires 2027-04-01T00:00:00.000Z'], removed: ['expires 2027-03-01T00:00:00.000Z'] });
    expect(merged.policies.map((p) => p.text)).toEqual(['notify 15d before expiry', 'notify 1d before expiry', 'notify after 30d without change', 'expires 2027-04-01T00:00:00.000Z']);
    expect(again).toContain('already has these policies: nothing written');
    expect(await metadata(NAME)).toMatchObject({ Version: 3 });
  });

  it("shows each policy with its due date, as JSON too, counted from the stage's virtual clock", async () => {
    // Act
    const text = await opsauto('params', 'policy', 'show', NAME);
    const json = await opsautoJson<{ parameter: Record<string, unknown>; tags: Record<string, string>; deadlines: Deadline[] }>('params', 'policy', 'show', NAME);
    // Assess
    expect(text).toContain(`${NAME}: SecureString, Advanced tier, version 3`);
    expect(text).toMatch(/notify 15d before expiry\s+ExpirationNotification\s+policy\s+2027-03-17T00:00:00.000Z\s+in 106d 0h/);
    expect(json.parameter).toMatchObject({ name: NAME, type: 'SecureString', tier: 'Advanced', version: 3, description: 'payments DB' });
    expect(json.tags).toEqual({ team: 'payments' });
    const changed = (await metadata(NAME)).LastModifiedDate!.getTime();
    expect(json.deadlines.map((d) => [d.kind, d.dueAt])).toEqual([
      ['NoChangeNotification', new Date(changed + 30 * 86_400_000).toISOString()],
      ['ExpirationNotification', '2027-03-17T00:00:00.000Z'],
      ['ExpirationNotification', '2027-03-31T00:00:00.000Z'],
      ['Expiration', '2027-04-01T00:00:00.000Z'],
    ]);
  });

  it("shows a standard parameter's expiry tag with the configured reminders", async () => {
    // Prepare
    await ssm.send(new PutParameterCommand({ Name: '/payments/api/key', Value: 'k', Type: 'String' }));
    await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/payments/api/key', Tags: [{ Key: 'opsauto:expires-at', Value: '2027-06-01' }] }));
    // Act
    const json = await opsautoJson<{ deadlines: Deadline[] }>('params', 'policy', 'show', '/payments/api/key');
    // Assess
    expect(json.deadlines.map((d) => [d.source, d.kind, d.dueAt])).toEqual([
      ['tag', 'ExpirationNotification', '2027-05-17T00:00:00.000Z'],
      ['tag', 'ExpirationNotification', '2027-05-31T00:00:00.000Z'],
      ['tag', 'Expiration', '2027-06-01T00:00:00.000Z'],
    ]);
  });

  it('replaces the whole set with --replace, then clears it; the parameter stays advanced', async () => {
    // Act
    const replaced = await opsautoJson<{ version: number; policies: { text: string }[] }>('params', 'policy', 'set', NAME, '--no-change-after', '60d', '--replace');
    const cleared = await opsauto('params', 'policy', 'clear', NAME);
    const clearedAgain = await opsauto('params', 'policy', 'clear', NAME);
    // Assess
    expect(replaced.policies.map((p) => p.text)).toEqual(['notify after 60d without change']);
    expect(cleared).toContain(`${NAME}: policies cleared as version 5 (notify after 60d without change); it stays Advanced`);
    expect(clearedAgain).toContain('has no policies: nothing written');
    expect(await metadata(NAME)).toMatchObject({ Tier: 'Advanced', Version: 5, Policies: [], KeyId: KEY });
    expect((await ssm.send(new GetParameterCommand({ Name: NAME, WithDecryption: true }))).Parameter!.Value).toBe(SECRET);
  });

  it('fails clearly for a parameter that does not exist', async () => {
    const { code, stderr } = await opsautoFails('params', 'policy', 'show', '/no/such');
    expect(code).toBe(1);
    expect(stderr).toContain('parameter /no/such does not exist');
  });

  it('never printed the SecureString value', () => {
    expect(printed.length).toBeGreaterThan(20);
    expect(printed.join('\n')).not.toContain(SECRET);
  });
});
