import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AwsClients, DynamoIssuanceStore, DynamoTokenStore, ensureTable, tableName } from '@opsauto/aws';
import { parseToken, secretMatches, type Issuance } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import config from '../../opsauto.config.js';
import { tokensCommands } from '../../packages/cli/src/commands/tokens.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const TABLE = tableName(config.app, 'local');
const ROLE = `${config.app}-local-hybrid-node`;

let cloud: Localcloud;
let clients: AwsClients;
let tokens: DynamoTokenStore;

function program(): Command {
  const p = new Command('opsauto').option('--stage <name>', '', 'local').option('--endpoint <url>').option('--json').exitOverride();
  tokensCommands(p);
  for (const c of p.commands) c.exitOverride();
  return p;
}

/** Runs the CLI; what it printed on stdout and stderr. */
async function run(...args: string[]): Promise<{ out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  try {
    await program().parseAsync(['--endpoint', cloud.url, ...args], { from: 'user' });
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
  return { out: out.join('\n'), err: err.join('\n') };
}

/** Every item of the stage table, as stored. */
async function tableItems(): Promise<Record<string, unknown>[]> {
  return (await clients.dynamo().send(new ScanCommand({ TableName: TABLE }))).Items ?? [];
}

beforeAll(async () => {
  cloud = await startTestCloud();
  await ensureTable(new DynamoDBClient(clientConfig(cloud, config.regions[0])), TABLE);
  clients = new AwsClients(config.regions[0], clientConfig(cloud, config.regions[0]));
  tokens = new DynamoTokenStore(clients, TABLE);
});
afterEach(() => vi.restoreAllMocks());
afterAll(async () => {
  await cloud.stop();
});

describe('opsauto tokens create', () => {
  it('prints the token once with a warning, and stores only the hash of its secret, with the stage defaults', async () => {
    // Act
    const { out, err } = await run('tokens', 'create', '--name', 'rack-7');
    // Assess
    const lines = out.split('\n');
    expect(lines).toHaveLength(2);
    const parsed = parseToken(lines[1]);
    expect(parsed).toBeDefined();
    expect(lines[0]).toMatch(new RegExp(`^token ${parsed!.id} \\(rack-7\\) created: role ${ROLE}, 10 uses, expires \\S+Z$`));
    expect(err).toMatch(/shown once and cannot be shown again/);
    const stored = await tokens.get(parsed!.id);
    expect(stored).toMatchObject({ name: 'rack-7', iamRole: ROLE, maxUses: 10, uses: 0, tags: {}, createdBy: 'cli' });
    expect(Date.parse(stored!.expiresAt) - Date.parse(stored!.createdAt)).toBe(7 * 86_400_000);
    expect(secretMatches(parsed!.secret, stored!.secretHash)).toBe(true);
    expect(JSON.stringify(await tableItems())).not.toContain(parsed!.secret);
  });

  it('takes the scope flags and prints { id, token, … } once as JSON, without the hash', async () => {
    // Act
    const { out } = await run('--json', 'tokens', 'create', '--name', 'rack-8', '--max-uses', '50', '--expires-in', '12h', '--name-prefix', 'Rack8-', '--tag', 'env=onprem', '--tag', 'Patch Group=qa');
    // Assess
    const printed = JSON.parse(out) as Record<string, unknown>;
    expect(printed).toMatchObject({ name: 'rack-8', iamRole: ROLE, maxUses: 50, uses: 0, namePrefix: 'rack8-', tags: { env: 'onprem', 'Patch Group': 'qa' } });
    expect(printed).not.toHaveProperty('secretHash');
    expect(parseToken(printed.token as string)?.id).toBe(printed.id);
    expect(out.split(printed.token as string)).toHaveLength(2);
    expect(Date.parse(printed.expiresAt as string) - Date.parse(printed.createdAt as string)).toBe(12 * 3_600_000);
  });

  it.each([
    [['--role', 'AdminRole'], "--role: AdminRole is not the stage's hybrid-node role"],
    [['--max-uses', '0'], '--max-uses: must be a whole number from 1 to 100000 (got 0)'],
    [['--max-uses', '100001'], '--max-uses: must be a whole number from 1 to 100000'],
    [['--expires-in', '2w'], '--expires-in: "2w" is not a span such as 7d or 12h'],
    [['--expires-in', '400d'], '--expires-in: 400d is longer than a token may live (365d)'],
    [['--name-prefix', 'rack_7'], '--name-prefix: "rack_7" must be the start of a hostname'],
    [['--tag', 'aws:owner=me'], '--tag: key "aws:owner" must be 1-128'],
    [['--tag', 'env'], '--tag: "env" is not key=value'],
    [['--tag', 'opsauto:token=x'], '--tag: opsauto:token is set by opsauto'],
  ])('refuses %j naming the flag, before writing anything', async (flags, message) => {
    // Prepare
    const before = (await tableItems()).length;
    // Act / Assess
    await expect(run('tokens', 'create', '--name', 'refused', ...flags)).rejects.toThrow(message);
    expect((await tableItems()).length).toBe(before);
  });

  it('refuses a name that is too long or has characters a tag cannot hold', async () => {
    await expect(run('tokens', 'create', '--name', 'x'.repeat(65))).rejects.toThrow('--name: must be 1-64 letters');
    await expect(run('tokens', 'create', '--name', 'rack;7')).rejects.toThrow('--name: must be 1-64 letters');
  });
});

describe('opsauto tokens list and revoke', () => {
  it('lists tokens with their scope, uses and status, never a hash; revokes once; refuses unknown ids', async () => {
    // Prepare
    const { out } = await run('--json', 'tokens', 'create', '--name', 'lister', '--max-uses', '1', '--name-prefix', 'lst-');
    const { id } = JSON.parse(out) as { id: string };
    const stored = (await tokens.get(id))!;
    const now = new Date(Date.parse(stored.createdAt) + 1000).toISOString();
    await tokens.consumeUse(id, now);
    // Act
    const listed = (await run('tokens', 'list')).out;
    // Assess
    const header = listed.split('\n')[0].split(/\s+/);
    expect(header).toEqual(['id', 'name', 'role', 'prefix', 'uses', 'expires', 'status', 'revoked']);
    const row = listed.split('\n').find((l) => l.startsWith(id))!;
    expect(row.split(/\s+/)).toEqual([id, 'lister', ROLE, 'lst-', '1/1', stored.expiresAt, 'exhausted']);
    expect(listed).not.toContain(stored.secretHash);
    expect((await run('--json', 'tokens', 'list')).out).not.toContain(stored.secretHash);

    // Act: revoke, twice
    const revoked = (await run('tokens', 'revoke', id)).out;
    const again = (await run('tokens', 'revoke', id)).out;
    // Assess
    expect(revoked).toMatch(new RegExp(`^token ${id} \\(lister\\) revoked at \\S+Z: servers using it now get 403$`));
    expect(again).toMatch(/was already revoked at \S+Z by cli: nothing changed$/);
    expect((await tokens.get(id))?.revokedAt).toBeDefined();
    const json = JSON.parse((await run('--json', 'tokens', 'list')).out) as { id: string; status: string; revokedBy?: string }[];
    expect(json.find((t) => t.id === id)).toMatchObject({ status: 'revoked', revokedBy: 'cli' });
    expect(JSON.stringify(json)).not.toContain('secretHash');
  });

  it('refuses to revoke a token that does not exist, or what is not a token id', async () => {
    await expect(run('tokens', 'revoke', 'tok_zzzzzzzzzzzzzzzz')).rejects.toThrow('no token tok_zzzzzzzzzzzzzzzz on stage local');
    await expect(run('tokens', 'revoke', 'rack-7')).rejects.toThrow('the token to revoke must be a token id');
  });
});

describe('opsauto activations list', () => {
  const issuance = (n: number, tokenId: string, over: Partial<Issuance> = {}): Issuance => ({
    activationId: `22222222-2222-4222-8222-00000000000${n}`,
    tokenId,
    tokenName: 'rack-9',
    hostname: `rack9-db-0${n}`,
    instanceName: `rack9-db-0${n}`,
    region: 'us-east-1',
    expiresAt: `2027-01-02T0${n}:00:00.000Z`,
    issuedAt: `2027-01-01T0${n}:00:00.000Z`,
    sourceIp: `203.0.113.${n}`,
    userAgent: 'curl/8.5.0',
    ...over,
  });

  it('lists what was issued, newest first, of every token or of one, up to --limit, and never a code', async () => {
    // Prepare
    const issuances = new DynamoIssuanceStore(clients, TABLE);
    await issuances.record(issuance(1, 'tok_aaaaaaaaaaaaaaaa'));
    await issuances.record(issuance(2, 'tok_bbbbbbbbbbbbbbbb'));
    await issuances.record(issuance(3, 'tok_aaaaaaaaaaaaaaaa'));
    await issuances.update(issuance(1, '').activationId, { managedNodeId: 'mi-0123456789abcdef0', registeredAt: '2027-01-01T01:05:00.000Z', deletedAt: '2027-01-01T02:00:00.000Z' });
    // Act
    const all = (await run('activations', 'list')).out.split('\n');
    const one = (await run('activations', 'list', '--token', 'tok_aaaaaaaaaaaaaaaa', '--limit', '1')).out.split('\n');
    const json = JSON.parse((await run('--json', 'activations', 'list', '--token', 'tok_aaaaaaaaaaaaaaaa')).out) as Issuance[];
    // Assess
    expect(all[0].split(/\s+/)).toEqual(['issued', 'hostname', 'sourceIp', 'activationId', 'token', 'expires', 'node', 'deleted']);
    expect(all.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['rack9-db-03', 'rack9-db-02', 'rack9-db-01']);
    expect(all[3]).toMatch(/rack9-db-01\s+203\.0\.113\.1\s+22222222-2222-4222-8222-000000000001\s+rack-9 \(tok_aaaaaaaaaaaaaaaa\)\s+2027-01-02T01:00:00\.000Z\s+mi-0123456789abcdef0\s+2027-01-01T02:00:00\.000Z$/);
    expect(one.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['rack9-db-03']);
    expect(json.map((i) => i.hostname)).toEqual(['rack9-db-03', 'rack9-db-01']);
    expect(JSON.stringify(json)).not.toMatch(/code/i);
  });

  it('refuses a limit out of range and a --token that is not a token id, before reading anything', async () => {
    await expect(run('activations', 'list', '--limit', '0')).rejects.toThrow('--limit must be a whole number from 1 to 1000 (got 0)');
    await expect(run('activations', 'list', '--token', 'rack-9')).rejects.toThrow('--token must be a token id');
  });
});
