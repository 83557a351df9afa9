import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AwsClients, DynamoNoticeStore, ensureTable, tableName } from '@opsauto/aws';
import type { Localcloud } from '@opsauto/localcloud';
import config from '../../opsauto.config.js';
import { addNotificationsCommand } from '../../packages/cli/src/commands/params-notifications.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:opsauto-local-notifications';

let cloud: Localcloud;
let store: DynamoNoticeStore;

/** The CLI's global options, and a `params` command of its own (the real one lives in params.ts). */
function program(): Command {
  const p = new Command('opsauto').option('--stage <name>', '', 'local').option('--endpoint <url>').option('--json').exitOverride();
  addNotificationsCommand(p.command('params').exitOverride());
  return p;
}

async function run(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    await program().parseAsync(['--endpoint', cloud.url, ...args], { from: 'user' });
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

beforeAll(async () => {
  cloud = await startTestCloud();
  const table = tableName(config.app, 'local');
  await ensureTable(new DynamoDBClient(clientConfig(cloud, config.regions[0])), table);
  store = new DynamoNoticeStore(new AwsClients(config.regions[0], clientConfig(cloud, config.regions[0])), table);
  const claim = async (parameter: string, kind: 'ExpirationNotification' | 'NoChangeNotification', dueAt: string, sentAt?: string) => {
    const key = `${parameter}#${kind}#${dueAt}`;
    await store.claim({ key, parameter, kind, policy: kind === 'NoChangeNotification' ? 'notify after 30d without change' : 'notify 15d before expiry', dueAt, channel: TOPIC, status: 'pending', via: 'event' });
    if (sentAt) await store.markSent(key, { sentAt, messageId: 'm' });
  };
  await claim('/db/password', 'ExpirationNotification', '2027-02-14T00:00:00.000Z', '2027-02-14T00:01:00.000Z');
  await claim('/app/key', 'NoChangeNotification', '2027-02-20T00:00:00.000Z', '2027-02-20T00:00:30.000Z');
  await claim('/db/password', 'NoChangeNotification', '2027-01-01T00:00:00.000Z');
  await store.recordExpired({
    parameter: '/db/old',
    deletedAt: '2027-03-01T00:07:00.000Z',
    policy: 'expires 2027-03-01T00:00:00.000Z',
    lastVersion: { type: 'SecureString', tier: 'Advanced', version: 3, lastModifiedDate: '2026-12-01T00:00:00.000Z' },
  });
});
afterEach(() => vi.restoreAllMocks());
afterAll(async () => {
  await cloud.stop();
});

describe('opsauto params notifications', () => {
  it('lists the notices sent, newest due first, as a table', async () => {
    // Act
    const out = await run('params', 'notifications');
    // Assess
    const lines = out.split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['dueAt', 'parameter', 'kind', 'status', 'sentAt', 'via', 'channel', 'policy']);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['2027-02-20T00:00:00.000Z', '/app/key', 'NoChangeNotification', 'sent'],
      ['2027-02-14T00:00:00.000Z', '/db/password', 'ExpirationNotification', 'sent'],
      ['2027-01-01T00:00:00.000Z', '/db/password', 'NoChangeNotification', 'pending'],
    ]);
  });

  it("lists one parameter's notices, up to --limit, as JSON with --json", async () => {
    // Act
    const out = JSON.parse(await run('--json', 'params', 'notifications', '--parameter', '/db/password', '--limit', '1')) as { key: string }[];
    // Assess
    expect(out).toEqual([
      {
        key: '/db/password#ExpirationNotification#2027-02-14T00:00:00.000Z',
        parameter: '/db/password',
        kind: 'ExpirationNotification',
        policy: 'notify 15d before expiry',
        dueAt: '2027-02-14T00:00:00.000Z',
        channel: TOPIC,
        status: 'sent',
        sentAt: '2027-02-14T00:01:00.000Z',
        via: 'event',
        messageId: 'm',
      },
    ]);
  });

  it('lists what Parameter Store deleted with --expired, with the last version seen', async () => {
    // Act
    const out = await run('params', 'notifications', '--expired');
    // Assess
    expect(out.split('\n')[1]).toMatch(/^2027-03-01T00:07:00\.000Z\s+\/db\/old\s+expires 2027-03-01T00:00:00\.000Z\s+v3 SecureString Advanced, changed 2026-12-01T00:00:00\.000Z$/);
  });

  it('refuses a limit out of range and --expired with --parameter, before reading anything', async () => {
    await expect(run('params', 'notifications', '--limit', '0')).rejects.toThrow('--limit must be a whole number from 1 to 1000 (got 0)');
    await expect(run('params', 'notifications', '--expired', '--parameter', '/x')).rejects.toThrow('--expired lists every deleted parameter: use it without --parameter');
  });
});
