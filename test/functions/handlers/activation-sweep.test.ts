import { CreateActivationCommand, DeleteActivationCommand, DescribeActivationsCommand, DescribeInstanceInformationCommand, ListTagsForResourceCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { activationRequest, InMemoryIssuanceStore, InMemoryTokenStore, newToken, type EnrollmentToken, type Issuance } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import type { ActivationSweepWiringFactory } from '../../../packages/functions/src/activation-sweep-wiring.js';
import { logger } from '../../../packages/functions/src/logger.js';
import { configureAgent } from '../../../packages/localcloud/src/services/ssm.js';
import { fixture } from '../../helpers/fixtures.js';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { functionEnvironment } from '../../helpers/table.js';

type Handler = (event: unknown, context: unknown) => Promise<any>;
type Factory = (wiring: ActivationSweepWiringFactory) => Handler;

const HOUR = 3_600_000;
let cloud: Localcloud;
let ssm: SSMClient;
let sweepHandler: Factory;

/** The token of these servers; its secret is what must never reach a log. */
const issued = newToken();
const token: EnrollmentToken = {
  id: issued.id,
  name: 'rack-7',
  secretHash: issued.secretHash,
  iamRole: 'opsauto-test-hybrid-node',
  namePrefix: 'rack7-',
  tags: { env: 'onprem', 'Patch Group': 'dc1' },
  maxUses: 10,
  uses: 0,
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'cli',
  expiresAt: '2099-01-01T00:00:00.000Z',
};

/**
 * The stores in memory and DeleteActivation through the SDK on localcloud, as the deployed wiring does with the
 * table and the issuer; `failDelete` makes DeleteActivation of that activation fail.
 */
function memoryWiring(tokens: InMemoryTokenStore, issuances: InMemoryIssuanceStore, failDelete?: string): ActivationSweepWiringFactory {
  return () => ({
    tokens,
    issuances,
    activations: {
      delete: async (id: string) => {
        if (id === failDelete) throw new Error('InternalServerError: SSM is unavailable');
        await ssm.send(new DeleteActivationCommand({ ActivationId: id }));
      },
    },
  });
}

const codes: string[] = [];

/**
 * What the issuer does for a booting server: CreateActivation from `activationRequest`, and the issuance recorded.
 * Without `withTags` the activation carries no tags (a node inherits its activation's), so that every tag the node
 * ends up with is the sweep's.
 */
async function issue(issuances: InMemoryIssuanceStore, hostname: string, sourceIp: string, withTags = false): Promise<{ activationId: string; activationCode: string }> {
  const now = new Date(cloud.clock.nowMs());
  const request = activationRequest(token, hostname, now, HOUR);
  const out = await ssm.send(
    new CreateActivationCommand({
      IamRole: request.iamRole,
      RegistrationLimit: request.registrationLimit,
      ExpirationDate: new Date(request.expirationDate),
      DefaultInstanceName: request.defaultInstanceName,
      Description: request.description,
      ...(withTags ? { Tags: Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    }),
  );
  const issuance: Issuance = {
    activationId: out.ActivationId!,
    tokenId: token.id,
    tokenName: token.name,
    hostname,
    instanceName: hostname,
    region: 'us-east-1',
    expiresAt: request.expirationDate,
    issuedAt: now.toISOString(),
    sourceIp,
    userAgent: 'opsauto-register-node/1',
  };
  await issuances.record(issuance);
  codes.push(out.ActivationCode!);
  return { activationId: out.ActivationId!, activationCode: out.ActivationCode! };
}

/** The server's agent registering with what it was given. */
async function register(activation: { activationId: string; activationCode: string }, hostname: string): Promise<string> {
  const res = await fetch(`${cloud.url}/_localcloud/ssm/register`, { method: 'POST', body: JSON.stringify({ ...activation, hostname }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { instanceId: string }).instanceId;
}

const scheduled = () => ({ ...fixture('events/awsdocs-eventbridge__scheduled-event.json'), id: `sweep-${cloud.clock.nowMs()}`, time: new Date(cloud.clock.nowMs()).toISOString() });
const activationIds = async () => ((await ssm.send(new DescribeActivationsCommand({}))).ActivationList ?? []).map((a) => a.ActivationId);
const tagsOf = async (nodeId: string) =>
  Object.fromEntries(((await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: nodeId }))).TagList ?? []).map((t) => [t.Key, t.Value]));
const config = (activations: Record<string, unknown>) => (process.env.OPSAUTO_CONFIG = JSON.stringify({ regions: ['us-east-1'], activations }));

/** Every line the function logs, as the arguments it passed (message and fields). */
function captureLogs() {
  const lines: { level: string; args: unknown[] }[] = [];
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => void lines.push({ level, args }));
  }
  return lines;
}

beforeAll(async () => {
  cloud = await startTestCloud();
  ssm = new SSMClient(clientConfig(cloud));
  await functionEnvironment(cloud);
  ({ activationSweepHandler: sweepHandler } = (await import('../../../packages/functions/src/handlers/activation-sweep.js')) as { activationSweepHandler: Factory });
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  ssm.destroy();
  await cloud.stop();
});

describe('activation-sweep handler', () => {
  it('tags a node that registered, deletes used and expired activations, reports a failed boot once and a stale node, and never logs a secret', async () => {
    // Prepare
    const tokens = new InMemoryTokenStore();
    await tokens.create(token);
    const issuances = new InMemoryIssuanceStore();
    const handler = sweepHandler(memoryWiring(tokens, issuances));
    const logs = captureLogs();
    config({});
    const booted = await issue(issuances, 'rack7-db-01', '10.0.4.1');
    const failed = await issue(issuances, 'rack7-db-02', '10.0.4.2', true);
    const nodeId = await register(booted, 'rack7-db-01');
    expect(await tagsOf(nodeId)).toEqual({});

    // Act: the node registered; the other activation is still usable.
    const first = await handler(scheduled(), fakeContext('activation-sweep'));

    // Assess
    expect(first.summary).toMatchObject({ open: 2, registered: 1, deleted: 1, unregisteredCount: 0, staleCount: 0, failed: 0 });
    expect(await tagsOf(nodeId)).toEqual({ env: 'onprem', 'Patch Group': 'dc1', 'opsauto:hostname': 'rack7-db-01', 'opsauto:token': 'rack-7' });
    expect(await activationIds()).toEqual([failed.activationId]);
    expect((await issuances.list()).find((i) => i.activationId === booted.activationId)).toMatchObject({ managedNodeId: nodeId, deletedAt: expect.any(String) as string });

    // Act: the second activation's life ends with no node; two runs.
    await cloud.advance('2h');
    const second = await handler(scheduled(), fakeContext('activation-sweep'));
    const third = await handler(scheduled(), fakeContext('activation-sweep'));

    // Assess
    expect(second.summary).toMatchObject({ open: 1, registered: 0, deleted: 1, unregisteredCount: 1 });
    expect(third.summary).toMatchObject({ open: 0, deleted: 0, unregisteredCount: 0 });
    expect(await activationIds()).toEqual([]);
    const boots = logs.filter((l) => l.level === 'warn' && String(l.args[0]).startsWith('activation expired with no node registered'));
    expect(boots).toHaveLength(1);
    expect(boots[0].args[1]).toMatchObject({ activationId: failed.activationId, hostname: 'rack7-db-02', sourceIp: '10.0.4.2', tokenId: token.id, tokenName: 'rack-7' });

    // Act: the registered node's agent stops pinging; 31 days later the sweep reports it and, so configured, deregisters it.
    configureAgent(cloud.store, '000000000000', 'us-east-1', nodeId, { status: 'offline' }, cloud.clock.nowMs());
    await cloud.advance('31d');
    const reported = await handler(scheduled(), fakeContext('activation-sweep'));
    config({ deregisterStaleNodes: true, staleNodeDays: 30 });
    const deregistered = await handler(scheduled(), fakeContext('activation-sweep'));

    // Assess
    expect(reported.summary).toMatchObject({ staleCount: 1, deregistered: 0, staleNodes: [{ nodeId, name: 'rack7-db-01', deregistered: false }] });
    expect(deregistered.summary).toMatchObject({ staleCount: 1, deregistered: 1 });
    const left = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [nodeId] }] }));
    expect(left.InstanceInformationList).toEqual([]);
    const stale = logs.filter((l) => l.level === 'warn' && String(l.args[0]).startsWith('managed node not seen'));
    expect(stale.map((l) => l.args[0])).toEqual(['managed node not seen for staleNodeDays', 'managed node not seen for staleNodeDays: deregistered']);
    expect(logs.filter((l) => l.args[0] === 'activation sweep')).toHaveLength(5);
    const logged = JSON.stringify(logs);
    expect(logged).toContain(nodeId);
    for (const secret of [...codes, issued.token, issued.token.split('.')[1], token.secretHash]) expect(logged).not.toContain(secret);
  });

  it('fails the invocation naming the activation whose deletion failed, after handling the others', async () => {
    // Prepare
    const tokens = new InMemoryTokenStore();
    await tokens.create(token);
    const issuances = new InMemoryIssuanceStore();
    config({});
    const broken = await issue(issuances, 'rack7-web-01', '10.0.5.1');
    const fine = await issue(issuances, 'rack7-web-02', '10.0.5.2');
    await register(broken, 'rack7-web-01');
    await register(fine, 'rack7-web-02');
    const handler = sweepHandler(memoryWiring(tokens, issuances, broken.activationId));
    captureLogs();

    // Act
    const run = handler(scheduled(), fakeContext('activation-sweep'));

    // Assess
    await expect(run).rejects.toThrow(`activation sweep: 1 activations or nodes failed (the others were handled): ${broken.activationId}: Error: InternalServerError: SSM is unavailable`);
    expect(await activationIds()).toEqual([broken.activationId]);
    expect((await issuances.listOpen()).map((i) => [i.activationId, i.managedNodeId !== undefined])).toEqual([[broken.activationId, true]]);
  });

  it('runs when invoked by hand with {} and refuses any other input naming it', async () => {
    // Prepare
    const tokens = new InMemoryTokenStore();
    const handler = sweepHandler(memoryWiring(tokens, new InMemoryIssuanceStore()));
    config({});
    captureLogs();

    // Act
    const out = await handler({}, fakeContext('activation-sweep'));

    // Assess
    expect(out.summary).toMatchObject({ open: 0, registered: 0, deleted: 0, failed: 0 });
    await expect(handler({ dryRun: true }, fakeContext('activation-sweep'))).rejects.toThrow(/invalid event/);
  });
});
