import type { Localcloud } from '@opsauto/localcloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAgainst } from '../helpers/cli.js';
import { startTestCloud } from '../helpers/localcloud.js';

// The built CLI's control commands against a localcloud: mistakes are caught with a sentence, and nothing changes.

let cloud: Localcloud;
const { opsauto, opsautoFails } = cliAgainst(() => cloud.url);

beforeAll(async () => {
  cloud = await startTestCloud();
  cloud.lambda.register({ name: 'scan', handler: () => Promise.resolve({ ok: true }) });
  cloud.lambda.register({ name: 'publish', handler: () => Promise.resolve({ ok: true }) });
});
afterAll(async () => {
  await cloud.stop();
});

describe('opsauto clock, faults and invoke', () => {
  it('refuses a negative advance, saying durations are positive, and leaves the clock', async () => {
    const before = cloud.clock.offset;
    const { code, stderr } = await opsautoFails('clock', 'advance', '-1d');
    expect(code).toBe(1);
    expect(stderr).toContain('clock advance: durations are positive (46d, 2h, 90s), not -1d');
    expect(cloud.clock.offset).toBe(before);
  });

  it('asks for --backwards before setting the clock to the past, and moves it back with it', async () => {
    const past = new Date(cloud.clock.nowMs() - 86_400_000).toISOString();
    const { code, stderr } = await opsautoFails('clock', 'set', past);
    expect(code).toBe(1);
    expect(stderr).toContain(`clock set: ${past} is before the virtual time`);
    expect(stderr).toContain('--backwards');
    await opsauto('clock', 'set', past, '--backwards');
    expect(cloud.clock.nowMs()).toBeLessThan(Date.parse(past) + 60_000);
  });

  it('refuses a fault rule for a service localcloud does not serve, or one that injects nothing, and keeps the rules', async () => {
    const unknown = await opsautoFails('faults', 'set', '--service', 'nope', '--error-rate', '0.1');
    const empty = await opsautoFails('faults', 'set', '--service', 'ssm');
    expect(unknown.stderr).toMatch(/service nope is not one localcloud serves \(.*ssm.*dynamodb\)/);
    expect(empty.stderr).toContain('injects nothing');
    expect([unknown.code, empty.code]).toEqual([1, 1]);
    expect(cloud.faults.list()).toEqual([]);
  });

  it('names the functions there are when asked to invoke one that is not', async () => {
    const { code, stderr } = await opsautoFails('invoke', 'nope');
    expect(code).toBe(1);
    expect(stderr).toContain('no function named nope (functions: scan, publish)');
  });
});
