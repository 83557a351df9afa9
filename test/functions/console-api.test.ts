import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateImageCommand, CreateVolumeCommand, DeleteVolumeCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetOpsItemCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { defineConfig } from '@opsauto/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { cliAgainst } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { fakeContext } from '../helpers/lambda-context.js';
import { clientConfig } from '../helpers/localcloud.js';
import { DAILY_BACKGROUND } from '../helpers/stage.js';

// The console API through its real handler on a local stage (its HTTP API on loopback, no authorizer), with what
// the console shows seeded the way operators and the jobs make it: an execution waiting for approval, a stale
// volume, an AMI family, a parameter with an expiry policy, a token with an issuance. The JWT side (groups, the
// approver identity) through the same handler with the claims API Gateway's authorizer passes.

process.env.RUNBOOK_INLINE_WAIT_MS = '0';

const config = defineConfig({ regions: ['us-east-1'], staleVolumes: { thresholdDays: 2 }, ...DAILY_BACKGROUND });
const LOCAL_USER = 'arn:aws:iam::000000000000:user/';
const approveRunbook = (approvers: string[]) => `
schemaVersion: '0.3'
mainSteps:
  - name: askOps
    action: aws:approve
    inputs:
      Approvers: [${approvers.join(', ')}]
      Message: Go ahead?
  - name: done
    action: aws:sleep
    inputs: { Duration: PT0S }
`;

let stage: Stage;
let dir: string;
let waitingId: string;
let token: string;
const PARAM = '/console/db-password';
const { opsauto } = cliAgainst(() => stage.cloud.url);

type Handler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> & { items?: Record<string, unknown>[] } }> {
  const res = await fetch(`${stage.apiUrl}${path}`, init);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const post = (path: string, body: unknown) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

async function startRunbook(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  writeFileSync(file, text);
  const out = await opsauto('runbook', 'start', file);
  const id = /started execution (\S+)/.exec(out)?.[1];
  if (!id) throw new Error(`no execution ID in: ${out}`);
  await stage.cloud.settle();
  return id;
}

/** The handler as API Gateway invokes it in AWS: a JWT authorizer's claims, outside the local stage. */
async function asJwtUser(routeKey: string, claims: Record<string, string>, path: Record<string, string>, body?: unknown) {
  const { handler } = (await import('../../packages/functions/src/handlers/console-api.js')) as { handler: Handler };
  const event = fixture('apigw/powertools-ts__apigw-http_no-auth.json');
  event.routeKey = routeKey;
  event.requestContext.routeKey = routeKey;
  event.requestContext.authorizer = { jwt: { claims, scopes: null } };
  event.pathParameters = path;
  event.queryStringParameters = undefined;
  event.body = body === undefined ? undefined : JSON.stringify(body);
  const stageEnv = process.env.OPSAUTO_STAGE;
  delete process.env.OPSAUTO_STAGE;
  try {
    const res = await handler(event, fakeContext('console-api'));
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
  } finally {
    process.env.OPSAUTO_STAGE = stageEnv;
  }
}

beforeAll(async () => {
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  dir = mkdtempSync(join(tmpdir(), 'console-api-'));
  stage.cloud.seed({
    regions: {
      'us-east-1': {
        images: [{ name: 'base' }],
        instances: [{ image: 'base', tags: { Name: 'web-1' } }],
        volumes: [{ size: 100, type: 'gp3', tags: { Name: 'scratch' } }],
      },
    },
  });
  const ec2 = new EC2Client(clientConfig(stage.cloud));
  const web1 = (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-1'] }] }))).Reservations![0].Instances![0].InstanceId!;
  await ec2.send(new CreateImageCommand({ InstanceId: web1, Name: 'console-web-1', TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'opsauto:ami-family', Value: 'console-web' }] }] }));
  ec2.destroy();
  const ssm = new SSMClient(clientConfig(stage.cloud));
  const expires = new Date(stage.cloud.clock.nowMs() + 20 * 86_400_000).toISOString();
  await ssm.send(
    new PutParameterCommand({
      Name: PARAM,
      Value: 'not-for-the-console',
      Type: 'SecureString',
      Tier: 'Advanced',
      Policies: JSON.stringify([
        { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: expires } },
        { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '15', Unit: 'Days' } },
      ]),
    }),
  );
  ssm.destroy();
  // Three daily scans: the volume is stale (2 days) and filed.
  await stage.cloud.advance('3d');
  ({ token } = JSON.parse(await opsauto('--json', 'tokens', 'create', '--name', 'rack-9', '--max-uses', '3')) as { token: string });
  const activated = await fetch(`${stage.apiUrl}/activations`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ hostname: 'node-1' }) });
  expect(activated.status).toBe(200);
  waitingId = await startRunbook('approve.yaml', approveRunbook(['operator']));
}, 240_000);
afterAll(async () => {
  await stage?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('console API on the local stage', () => {
  it('GET /api/now lists the execution waiting for approval with its buttons, the failure queue and the automations', async () => {
    const before = stage.cloud.clock.nowMs();
    const { status, body } = await api('/api/now');

    expect(status).toBe(200);
    // The virtual time (days ahead of the real one here).
    expect(Date.parse(String(body.now))).toBeGreaterThanOrEqual(before);
    expect(Date.parse(String(body.now))).toBeLessThanOrEqual(stage.cloud.clock.nowMs());
    expect(body).toMatchObject({ stage: 'local', local: true, failures: { count: expect.any(Number), items: expect.any(Array) }, automations: expect.any(Array) });
    const waiting = body.waiting as Record<string, unknown>[];
    expect(waiting.find((e) => e.executionId === waitingId)).toMatchObject({ status: 'Waiting', waitingFor: 'approval', actions: ['approve', 'deny', 'cancel'], runbook: expect.any(String), startedAt: expect.any(String), targets: [] });
  });

  it('GET /api/executions filters by status and pages with nextToken', async () => {
    const other = await startRunbook('approve-2.yaml', approveRunbook(['operator']));

    const first = await api('/api/executions?status=Waiting&limit=1');
    const second = await api(`/api/executions?status=Waiting&limit=1&nextToken=${encodeURIComponent(String(first.body.nextToken))}`);

    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextToken).toEqual(expect.any(String));
    expect(second.body.items).toHaveLength(1);
    expect([first.body.items![0].executionId, second.body.items![0].executionId].sort()).toEqual([waitingId, other].sort());
    expect((await api('/api/executions?status=Success')).body.items!.map((e) => e.executionId)).not.toContain(waitingId);
  });

  it('GET /api/executions/{id} gives the step timeline with the approvers, and 404 NotFound for an unknown id', async () => {
    const { status, body } = await api(`/api/executions/${waitingId}`);
    const unknown = await api('/api/executions/no-such-execution');

    expect(status).toBe(200);
    const execution = body.execution as { steps: Record<string, unknown>[] };
    expect(execution).toMatchObject({ executionId: waitingId, status: 'Waiting', waitingFor: 'approval' });
    expect(execution.steps).toEqual([expect.objectContaining({ name: 'askOps', action: 'aws:approve', status: 'Waiting', attempts: 1, approvers: ['operator'], startedAt: expect.any(String) })]);
    expect(unknown).toEqual({ status: 404, body: { error: 'NotFound', message: 'no execution no-such-execution' } });
  });

  it('POST /api/executions/{id}/signal approves as the local operator and the execution moves on to Success; a second approve is a 409', async () => {
    const { status, body } = await post(`/api/executions/${waitingId}/signal`, { signal: 'approve', comment: 'from the console' });
    await stage.cloud.settle();
    const after = await api(`/api/executions/${waitingId}`);
    const again = await post(`/api/executions/${waitingId}/signal`, { signal: 'approve' });

    expect(status).toBe(202);
    expect(body).toEqual({ executionId: waitingId, signal: 'approve' });
    expect(after.body.execution).toMatchObject({ status: 'Success', actions: [] });
    expect((after.body.execution as { steps: unknown[] }).steps[0]).toMatchObject({ name: 'askOps', status: 'Success', outputs: { ApprovalStatus: 'Approved' } });
    expect(JSON.stringify(after.body)).toContain(`${LOCAL_USER}operator`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'Conflict', message: expect.stringContaining('has already ended') });
  });

  it('GET /api/findings lists the stale volume with its cost and OpsItem, the totals and a history point per scan day', async () => {
    const { status, body } = await api('/api/findings');

    expect(status).toBe(200);
    const volumes = body.volumes as Record<string, unknown>[];
    expect(volumes).toEqual([expect.objectContaining({ accountId: '000000000000', region: 'us-east-1', sizeGiB: 100, volumeType: 'gp3', state: 'available', daysUnattached: expect.any(Number), opsItemId: expect.stringMatching(/^oi-/), name: 'scratch' })]);
    expect(volumes[0].daysUnattached).toBeGreaterThanOrEqual(2);
    // gp3 in us-east-1: $0.08 per GiB-month.
    expect(volumes[0].monthlyCostUsd).toBe(8);
    expect(body.totals).toEqual({ monthlyWasteUsd: 8, remediatedMonthlySavingsUsd: 0, volumes: 1 });
    const history = body.history as { date: string; volumes: number; monthlyWasteUsd: number }[];
    expect(history.length).toBeGreaterThanOrEqual(3);
    expect(history.map((h) => h.date)).toEqual([...history.map((h) => h.date)].sort());
    expect(history.at(-1)).toMatchObject({ volumes: 1, monthlyWasteUsd: 8 });
  });

  it('GET /api/images shows the AMI family with its current image and history', async () => {
    const { status, body } = await api('/api/images');

    expect(status).toBe(200);
    const family = (body.families as { family: string; regions: Record<string, unknown>[] }[]).find((f) => f.family === 'console-web');
    expect(family?.regions).toEqual([
      expect.objectContaining({ region: 'us-east-1', parameter: expect.stringContaining('console-web'), current: { imageId: expect.stringMatching(/^ami-/), publishedAt: expect.any(String) }, warnings: [] }),
    ]);
    expect((family!.regions[0].history as unknown[]).length).toBeGreaterThanOrEqual(1);
  });

  it('GET /api/parameters?days=30 has the expiry and its reminder; days out of range is a 400 naming query.days', async () => {
    const { status, body } = await api('/api/parameters?days=30');
    const bad = await api('/api/parameters?days=0');

    expect(status).toBe(200);
    expect(body).toMatchObject({ from: expect.any(String), to: expect.any(String), notifications: expect.any(Array) });
    const kinds = (body.deadlines as { name: string; kind: string }[]).filter((d) => d.name === PARAM).map((d) => d.kind).sort();
    expect(kinds).toEqual(['expiry', 'reminder']);
    expect(JSON.stringify(body)).not.toContain('not-for-the-console');
    expect(bad).toMatchObject({ status: 400, body: { error: 'BadRequest', field: 'query.days', message: expect.stringContaining('query.days') } });
  });

  it('GET /api/activations lists the token and its issuance, never the secret, its hash or an activation code', async () => {
    const { status, body } = await api('/api/activations');

    expect(status).toBe(200);
    expect(body.tokens).toEqual([expect.objectContaining({ id: token.split('.')[0], name: 'rack-9', maxUses: 3, uses: 1, expiresAt: expect.any(String) })]);
    expect(body.issuances).toEqual([expect.objectContaining({ tokenId: token.split('.')[0], hostname: 'node-1', activationId: expect.any(String), issuedAt: expect.any(String) })]);
    expect(body).toMatchObject({ nodesRegistered: 0, failedBoots: [] });
    const text = JSON.stringify(body);
    expect(text).not.toContain(token.split('.')[1]);
    expect(text).not.toMatch(/secretHash|activationCode/);
  });

  it('answers 400 naming the field for bad query parameters and bodies', async () => {
    expect((await api('/api/executions?limit=0')).body).toMatchObject({ error: 'BadRequest', field: 'query.limit' });
    expect((await api('/api/executions?colour=red')).body).toMatchObject({ error: 'BadRequest', field: 'query.colour' });
    expect((await api('/api/executions?status=Sleeping')).body).toMatchObject({ error: 'BadRequest', field: 'query.status' });
    expect((await api('/api/executions?nextToken=garbage')).status).toBe(400);
    expect(await post(`/api/executions/${waitingId}/signal`, { signal: 'explode' })).toMatchObject({ status: 400, body: { field: 'body.signal' } });
    expect(await post(`/api/executions/${waitingId}/signal`, '{"signal":')).toMatchObject({ status: 400, body: { field: 'body' } });
    expect(await post('/api/executions/bad%20id/signal', { signal: 'cancel' })).toMatchObject({ status: 400, body: { field: 'path.id' } });
  });

  it('serves the local-only clock and fault routes', async () => {
    const clock = await api('/api/local/clock');
    const moved = await post('/api/local/clock', { advance: '1h' });
    const refused = await post('/api/local/clock', { advance: 'soon' });
    const faults = await api('/api/local/faults');

    expect(clock.body).toMatchObject({ now: expect.any(String), offsetMs: expect.any(Number) });
    expect(moved.status).toBe(200);
    expect(Date.parse(String(moved.body.now)) - Date.parse(String(clock.body.now))).toBeGreaterThanOrEqual(3_600_000);
    expect(moved.body.ran).toEqual(expect.any(Object));
    expect(refused).toMatchObject({ status: 400, body: { error: 'BadRequest', message: expect.stringContaining('body.advance') } });
    expect(faults.body).toEqual({ rules: [] });
  });

  it('pages the findings\' volumes, the parameters\' deadlines and the issuances with limit and nextToken; totals stay over every volume', async () => {
    // Prepare: a second stale volume, cheaper than the first (gp3 50 GiB: $4 a month).
    const ec2 = new EC2Client(clientConfig(stage.cloud));
    const { VolumeId } = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 50, VolumeType: 'gp3' }));
    ec2.destroy();
    await stage.cloud.advance('3d');

    const all = await api('/api/findings');
    const first = await api('/api/findings?limit=1');
    const second = await api(`/api/findings?limit=1&nextToken=${encodeURIComponent(String(first.body.volumesNextToken))}`);
    const garbage = await api('/api/findings?nextToken=garbage');
    const deadlines = await api('/api/parameters?days=30&limit=1');
    const nextDeadlines = await api(`/api/parameters?days=30&limit=1&nextToken=${encodeURIComponent(String(deadlines.body.deadlinesNextToken))}`);
    const issuances = await api('/api/activations?limit=1');
    const badLimit = await api('/api/activations?limit=101');

    const ids = (r: { body: Record<string, unknown> }) => (r.body.volumes as { volumeId: string; monthlyCostUsd: number }[]).map((v) => v.volumeId);
    expect(all.body.volumesNextToken).toBeUndefined();
    expect(ids(all)).toHaveLength(2);
    expect(ids(all)[1]).toBe(VolumeId);
    expect(ids(first)).toEqual([ids(all)[0]]);
    expect(first.body.volumesNextToken).toEqual(expect.any(String));
    expect(ids(second)).toEqual([VolumeId]);
    expect(second.body.volumesNextToken).toBeUndefined();
    expect(first.body.totals).toEqual({ monthlyWasteUsd: 12, remediatedMonthlySavingsUsd: 0, volumes: 2 });
    expect(second.body.totals).toEqual(first.body.totals);
    expect(second.body.history).toEqual(first.body.history);
    expect(garbage).toMatchObject({ status: 400, body: { error: 'BadRequest', field: 'query.nextToken', message: expect.stringContaining('query.nextToken') } });
    expect((await api('/api/findings?colour=red')).body).toMatchObject({ error: 'BadRequest', field: 'query.colour' });
    const kinds = [...(deadlines.body.deadlines as { kind: string }[]), ...(nextDeadlines.body.deadlines as { kind: string }[])].map((d) => d.kind).sort();
    expect(kinds).toEqual(['expiry', 'reminder']);
    expect(deadlines.body.deadlinesNextToken).toEqual(expect.any(String));
    expect(nextDeadlines.body.deadlinesNextToken).toBeUndefined();
    expect(issuances.body).toMatchObject({ issuances: [expect.objectContaining({ hostname: 'node-1' })], tokens: [expect.objectContaining({ name: 'rack-9' })] });
    expect(issuances.body.issuancesNextToken).toBeUndefined();
    expect(badLimit).toMatchObject({ status: 400, body: { field: 'query.limit' } });
  });

  it('GET /api/findings reports as saved the monthly cost of a filed stale volume deleted since, once a scan resolved its OpsItem', async () => {
    // Prepare: a second volume, stale and filed after three daily scans.
    const ec2 = new EC2Client(clientConfig(stage.cloud));
    const { VolumeId } = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 200, VolumeType: 'gp2', TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'Name', Value: 'old-logs' }] }] }));
    await stage.cloud.advance('3d');
    const before = (await api('/api/findings')).body as { volumes: { volumeId: string; opsItemId?: string; monthlyCostUsd: number }[]; totals: Record<string, number> };
    const filed = before.volumes.find((v) => v.volumeId === VolumeId);
    expect(filed).toMatchObject({ opsItemId: expect.stringMatching(/^oi-/), monthlyCostUsd: 20 }); // gp2: $0.10 per GiB-month
    expect(before.totals.remediatedMonthlySavingsUsd).toBe(0);

    // Act: the operator deletes it; the next daily scan resolves its item.
    await ec2.send(new DeleteVolumeCommand({ VolumeId }));
    ec2.destroy();
    await stage.cloud.advance('1d');
    const { body } = await api('/api/findings');

    // Assess: saved, no longer waste; the history's last day has the savings, the days before it none.
    const after = body as unknown as { volumes: { volumeId: string }[]; totals: Record<string, number>; history: { date: string; remediatedMonthlySavingsUsd: number }[] };
    expect(after.volumes.map((v) => v.volumeId)).not.toContain(VolumeId);
    expect(after.totals).toEqual({ monthlyWasteUsd: before.totals.monthlyWasteUsd - 20, remediatedMonthlySavingsUsd: 20, volumes: before.totals.volumes - 1 });
    expect(after.history.at(-1)?.remediatedMonthlySavingsUsd).toBe(20);
    expect(after.history.at(-2)?.remediatedMonthlySavingsUsd).toBe(0);
    const ssm = new SSMClient(clientConfig(stage.cloud));
    expect((await ssm.send(new GetOpsItemCommand({ OpsItemId: filed!.opsItemId }))).OpsItem?.Status).toBe('Resolved');
    ssm.destroy();
  });
});

describe('console API behind the JWT authorizer', () => {
  it('refuses a signal from a reader with 403 and takes one from an operator, who decides as the console role session', async () => {
    const id = await startRunbook('approve-console.yaml', approveRunbook(['opsauto-local-console']));

    const reader = await asJwtUser('POST /api/executions/{id}/signal', { 'cognito:username': 'rita', 'cognito:groups': '[readers]' }, { id }, { signal: 'approve' });
    const readerView = await asJwtUser('GET /api/executions/{id}', { 'cognito:username': 'rita', 'cognito:groups': '[readers]' }, { id });
    // The local stage's operator is not one of this step's approvers: refused, and kept as a refusal.
    const notListed = await post(`/api/executions/${id}/signal`, { signal: 'approve' });
    const operator = await asJwtUser('POST /api/executions/{id}/signal', { 'cognito:username': 'carol', 'cognito:groups': '[operators]' }, { id }, { signal: 'approve' });
    await stage.cloud.settle();
    const after = await api(`/api/executions/${id}`);

    expect(reader).toMatchObject({ status: 403, body: { error: 'Forbidden', message: expect.stringContaining('rita') } });
    expect(readerView.body.execution).toMatchObject({ waitingFor: 'approval', actions: [] });
    expect(notListed).toMatchObject({ status: 403, body: { error: 'Forbidden', message: expect.stringContaining(`${LOCAL_USER}operator is not an approver`) } });
    expect(await opsauto('runbook', 'refusals')).toContain(`${LOCAL_USER}operator`);
    expect(operator).toEqual({ status: 202, body: { executionId: id, signal: 'approve' } });
    expect(after.body.execution).toMatchObject({ status: 'Success' });
    expect(JSON.stringify(after.body)).toContain('arn:aws:sts::000000000000:assumed-role/opsauto-local-console/carol');
  });
});
