import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AwsClients } from '@opsauto/aws';
import { defineConfig, fixedClock } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { addExpiringCommand } from '../../packages/cli/src/commands/params-expiring.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

let cloud: Localcloud;

beforeAll(async () => {
  cloud = await startTestCloud();
  cloud.seed({
    regions: {
      'us-east-1': {
        parameters: [
          {
            name: '/db/password',
            value: 'hunter2-secret',
            type: 'SecureString',
            tier: 'Advanced',
            tags: { team: 'payments' },
            policies: [
              { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: '2027-03-01T00:00:00.000Z' } },
              { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '5', Unit: 'Days' } },
            ],
          },
          { name: '/app/api-key', value: 'v', tags: { 'opsauto:expires-at': '2027-04-20', owner: 'alice' } },
          { name: '/app/plain', value: 'v' },
        ],
      },
    },
  });
});
afterAll(async () => {
  await cloud.stop();
});

const logs: string[] = [];
afterEach(() => {
  logs.length = 0;
  vi.restoreAllMocks();
});

/** A throwaway `opsauto params` tree with the command attached, acting on the test cloud at a fixed time. */
async function run(...args: string[]): Promise<string> {
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
  const program = new Command('opsauto').option('--stage <name>', '', 'local').option('--json').exitOverride();
  const params = program.command('params').exitOverride();
  const config = defineConfig({ parameterExpiry: { digestDays: 30 } });
  addExpiringCommand(params, () => Promise.resolve({ config, clients: new AwsClients('us-east-1', clientConfig(cloud)), clock: fixedClock('2027-02-20T00:00:00Z') })).exitOverride();
  await program.parseAsync(['node', 'opsauto', ...args]);
  return logs.join('\n');
}

describe('opsauto params expiring', () => {
  it('prints a table of what falls within the default span (digestDays), never a value', async () => {
    // Act
    const out = await run('params', 'expiring');

    // Assert
    expect(out.split('\n')).toEqual([
      expect.stringMatching(/^parameter\s+kind\s+due\s+expires\s+policy\s+owner$/),
      expect.stringMatching(/^\/db\/password\s+ExpirationNotification\s+2027-02-24 00:00Z\s+2027-03-01 00:00Z\s+notify 5d before expiry\s+payments$/),
      expect.stringMatching(/^\/db\/password\s+Expiration\s+2027-03-01 00:00Z\s+2027-03-01 00:00Z\s+expires 2027-03-01T00:00:00.000Z\s+payments$/),
    ]);
    expect(out).not.toContain('hunter2');
  });

  it('looks further with --within, tagged standard parameters included', async () => {
    // Act
    const out = await run('params', 'expiring', '--within', '60d');

    // Assert
    expect(out).toMatch(/\/app\/api-key\s+ExpirationNotification\s+2027-04-05 00:00Z\s+2027-04-20 00:00Z\s+tag opsauto:expires-at=2027-04-20, notify 15d before\s+alice/);
    expect(out).toMatch(/\/app\/api-key\s+Expiration\s+2027-04-20 00:00Z/);
    expect(out).not.toContain('/app/plain');
  });

  it('prints JSON rows with the global --json', async () => {
    // Act
    const out = await run('--json', 'params', 'expiring', '--within', '10d');

    // Assert
    expect(JSON.parse(out)).toEqual([
      { parameter: '/db/password', kind: 'ExpirationNotification', source: 'policy', dueAt: '2027-02-24T00:00:00.000Z', expiresAt: '2027-03-01T00:00:00.000Z', policy: 'notify 5d before expiry', owner: 'payments' },
      { parameter: '/db/password', kind: 'Expiration', source: 'policy', dueAt: '2027-03-01T00:00:00.000Z', expiresAt: '2027-03-01T00:00:00.000Z', policy: 'expires 2027-03-01T00:00:00.000Z', owner: 'payments' },
    ]);
  });

  it('says so when nothing falls within the span', async () => {
    expect(await run('params', 'expiring', '--within', '1d')).toBe('nothing expires or goes stale within 1d');
  });

  it('refuses a span AWS policies could not express, naming the option', async () => {
    await expect(run('params', 'expiring', '--within', '2w')).rejects.toThrow(/--within: "2w" is not a span such as 15d or 12h/);
  });
});
