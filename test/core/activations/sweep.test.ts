import { describe, expect, it } from 'vitest';
import {
  fixedClock,
  InMemoryIssuanceStore,
  InMemoryTokenStore,
  sweepActivations,
  type ActivationSweepDeps,
  type EnrollmentToken,
  type Issuance,
  type ManagedNode,
  type ManagedNodeDirectory,
  type SweepReport,
} from '@opsauto/core';

const NOW = new Date('2027-01-10T00:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

const token: EnrollmentToken = {
  id: 'tok_aaaaaaaaaaaaaaaa',
  name: 'rack-7',
  secretHash: 'ab'.repeat(32),
  iamRole: 'SSMServiceRole',
  tags: { env: 'onprem', team: 'dc' },
  maxUses: 10,
  uses: 3,
  createdAt: '2027-01-01T00:00:00.000Z',
  createdBy: 'cli',
  expiresAt: '2027-02-01T00:00:00.000Z',
};

const issuance = (activationId: string, over: Partial<Issuance> = {}): Issuance => ({
  activationId,
  tokenId: token.id,
  tokenName: token.name,
  hostname: `rack7-${activationId}`,
  instanceName: `rack7-${activationId}`,
  region: 'us-east-1',
  expiresAt: iso(HOUR),
  issuedAt: iso(-HOUR),
  sourceIp: '10.0.4.9',
  userAgent: 'curl/8.5.0',
  ...over,
});

/** The directory's contract over a map of nodes, recording what it was asked to do; `failTag` makes tagging a node fail. */
class MemoryNodes implements ManagedNodeDirectory {
  readonly nodes = new Map<string, ManagedNode & { tags: Record<string, string> }>();
  readonly queries: string[][] = [];
  readonly deregistered: string[] = [];
  failTag?: string;

  add(node: ManagedNode, tags: Record<string, string> = {}): void {
    this.nodes.set(node.id, { ...node, tags });
  }
  nodesOfActivations(activationIds: readonly string[]): Promise<ManagedNode[]> {
    this.queries.push([...activationIds]);
    return Promise.resolve([...this.nodes.values()].filter((n) => n.activationId !== undefined && activationIds.includes(n.activationId)));
  }
  async *nodesTagged(tagKey: string): AsyncIterable<ManagedNode[]> {
    const all = [...this.nodes.values()].filter((n) => tagKey in n.tags);
    for (let i = 0; i < all.length; i += 2) yield await Promise.resolve(all.slice(i, i + 2));
  }
  tag(nodeId: string, tags: Record<string, string>): Promise<void> {
    if (nodeId === this.failTag) return Promise.reject(new Error('ThrottlingException: Rate exceeded'));
    Object.assign(this.nodes.get(nodeId)!.tags, tags);
    return Promise.resolve();
  }
  deregister(nodeId: string): Promise<boolean> {
    this.deregistered.push(nodeId);
    return Promise.resolve(this.nodes.delete(nodeId));
  }
}

async function setup(issuances: Issuance[], config: Partial<ActivationSweepDeps['config']> = {}) {
  const tokens = new InMemoryTokenStore();
  await tokens.create(token);
  const store = new InMemoryIssuanceStore();
  for (const i of issuances) await store.record(i);
  const nodes = new MemoryNodes();
  const deleted: string[] = [];
  const reports: SweepReport[] = [];
  let failDelete: string | undefined;
  const deps: ActivationSweepDeps = {
    issuances: store,
    tokens,
    activations: {
      delete: (id) => (id === failDelete ? Promise.reject(new Error('InternalServerError: try again')) : Promise.resolve(void deleted.push(id))),
      create: () => Promise.reject(new Error('the sweep never creates')),
    } as ActivationSweepDeps['activations'],
    nodes,
    config: { staleNodeDays: 30, deregisterStaleNodes: false, ...config },
    clock: fixedClock(NOW),
    onReport: (r) => reports.push(r),
  };
  return { deps, store, nodes, deleted, reports, failDeleteOf: (id: string) => (failDelete = id) };
}

describe('sweepActivations', () => {
  it('counts each node and activation once between two sweeps run at once', async () => {
    // Prepare: 6 registered (1 stale), 3 expired unregistered, 2 still usable.
    const open = [...Array.from({ length: 6 }, (_, n) => issuance(`r${n}`)), ...Array.from({ length: 3 }, (_, n) => issuance(`x${n}`, { expiresAt: iso(-1) })), issuance('u0'), issuance('u1')];
    const { deps, nodes, reports } = await setup(open, { deregisterStaleNodes: true });
    for (let n = 0; n < 6; n++) nodes.add({ id: `mi-0000000000000000${n}`, activationId: `r${n}`, registeredAt: iso(-HOUR), lastPingAt: iso(n === 0 ? -40 * 24 * HOUR : 0) }, n === 0 ? { 'opsauto:token': 'rack-7' } : {});

    // Act
    const [a, b] = await Promise.all([sweepActivations(deps), sweepActivations(deps)]);

    // Assess: the effects were made by both (idempotent), the counts by one.
    const sum = (k: 'registered' | 'deleted' | 'unregisteredCount' | 'deregistered') => a[k] + b[k];
    expect({ registered: sum('registered'), deleted: sum('deleted'), unregistered: sum('unregisteredCount'), deregistered: sum('deregistered') }).toEqual({ registered: 6, deleted: 9, unregistered: 3, deregistered: 1 });
    expect(a.unregistered.length + b.unregistered.length).toBe(3);
    expect(reports.filter((r) => r.kind === 'unregistered-activation')).toHaveLength(3);
    expect(a.failed + b.failed).toBe(0);
  });

  it('tags a node registered with an open activation with the token tags, hostname and token name, records it and deletes the used activation', async () => {
    // Prepare
    const { deps, store, nodes, deleted } = await setup([issuance('a1'), issuance('a2')]);
    nodes.add({ id: 'mi-0123456789abcdef0', activationId: 'a1', registeredAt: iso(-30 * 60_000), lastPingAt: iso(0) });

    // Act
    const summary = await sweepActivations(deps);

    // Assess
    expect(nodes.nodes.get('mi-0123456789abcdef0')!.tags).toEqual({ env: 'onprem', team: 'dc', 'opsauto:hostname': 'rack7-a1', 'opsauto:token': 'rack-7' });
    expect(deleted).toEqual(['a1']);
    expect(summary).toMatchObject({ open: 2, registered: 1, deleted: 1, unregisteredCount: 0, staleCount: 0, failed: 0 });
    const [a1] = await store.list({ limit: 10 }).then((all) => all.filter((i) => i.activationId === 'a1'));
    expect(a1).toMatchObject({ managedNodeId: 'mi-0123456789abcdef0', registeredAt: iso(-30 * 60_000), deletedAt: NOW.toISOString() });
    expect((await store.listOpen()).map((i) => i.activationId)).toEqual(['a2']);
  });

  it('reports an activation that expired with no node once, with hostname, source IP and token, and deletes it', async () => {
    // Prepare
    const expired = issuance('a3', { expiresAt: iso(-1), hostname: 'rack7-db-09', sourceIp: '192.0.2.10' });
    const { deps, store, deleted, reports } = await setup([expired]);

    // Act
    const first = await sweepActivations(deps);
    const second = await sweepActivations(deps);

    // Assess
    const report = {
      kind: 'unregistered-activation',
      activationId: 'a3',
      hostname: 'rack7-db-09',
      sourceIp: '192.0.2.10',
      tokenId: token.id,
      tokenName: 'rack-7',
      issuedAt: expired.issuedAt,
      expiresAt: expired.expiresAt,
    };
    expect(first).toMatchObject({ open: 1, deleted: 1, unregisteredCount: 1, unregistered: [report] });
    expect(second).toMatchObject({ open: 0, deleted: 0, unregisteredCount: 0 });
    expect(reports).toEqual([report]);
    expect(deleted).toEqual(['a3']);
    expect((await store.list())[0]).toMatchObject({ unregisteredReportedAt: NOW.toISOString(), deletedAt: NOW.toISOString() });
  });

  it('leaves an activation that is still usable and has no node alone', async () => {
    // Prepare
    const { deps, store, deleted, reports } = await setup([issuance('a4', { expiresAt: iso(1) })]);

    // Act
    const summary = await sweepActivations(deps);

    // Assess
    expect(summary).toMatchObject({ open: 1, registered: 0, deleted: 0, unregisteredCount: 0 });
    expect(deleted).toEqual([]);
    expect(reports).toEqual([]);
    expect((await store.list())[0]).not.toHaveProperty('deletedAt');
  });

  it('records the node even when deleting its activation fails, and deletes it on the next run without tagging again', async () => {
    // Prepare
    const { deps, store, nodes, deleted, failDeleteOf } = await setup([issuance('a5')]);
    nodes.add({ id: 'mi-0000000000000000a', activationId: 'a5', registeredAt: iso(-60_000) });
    failDeleteOf('a5');

    // Act
    const first = await sweepActivations(deps);
    failDeleteOf('none');
    nodes.failTag = 'mi-0000000000000000a';
    const second = await sweepActivations(deps);

    // Assess
    expect(first).toMatchObject({ registered: 1, deleted: 0, failed: 1, failures: ['a5: Error: InternalServerError: try again'] });
    expect(second).toMatchObject({ registered: 0, deleted: 1, failed: 0 });
    expect(deleted).toEqual(['a5']);
    expect((await store.list())[0]).toMatchObject({ managedNodeId: 'mi-0000000000000000a', deletedAt: NOW.toISOString() });
  });

  it('goes on with the other issuances when tagging one node fails, and leaves that one open for the next run', async () => {
    // Prepare
    const { deps, store, nodes, deleted } = await setup([issuance('a6'), issuance('a7')]);
    nodes.add({ id: 'mi-0000000000000000b', activationId: 'a6' });
    nodes.add({ id: 'mi-0000000000000000c', activationId: 'a7' });
    nodes.failTag = 'mi-0000000000000000b';

    // Act
    const summary = await sweepActivations(deps);

    // Assess
    expect(summary).toMatchObject({ registered: 1, deleted: 1, failed: 1, failures: ['a6: Error: ThrottlingException: Rate exceeded'] });
    expect(deleted).toEqual(['a7']);
    expect((await store.listOpen()).map((i) => i.activationId)).toEqual(['a6']);
  });

  it('looks nodes up 50 activations per query, and not for issuances whose node is known', async () => {
    // Prepare
    const many = Array.from({ length: 120 }, (_, i) => issuance(`b${String(i).padStart(3, '0')}`));
    many[0] = { ...many[0], managedNodeId: 'mi-0000000000000000d' };
    const { deps, nodes } = await setup(many);

    // Act
    const summary = await sweepActivations(deps);

    // Assess
    expect(nodes.queries.map((q) => q.length)).toEqual([49, 50, 20]);
    expect(nodes.queries.flat()).not.toContain('b000');
    expect(summary).toMatchObject({ open: 120, deleted: 1 });
  });

  it('reports nodes registered through opsauto not seen for staleNodeDays, every page, and deregisters none by default', async () => {
    // Prepare
    const { deps, nodes, reports } = await setup([]);
    const through = { 'opsauto:token': 'rack-7' };
    nodes.add({ id: 'mi-00000000000000001', name: 'old-1', activationId: 'x1', lastPingAt: iso(-31 * DAY) }, through);
    nodes.add({ id: 'mi-00000000000000002', lastPingAt: iso(-29 * DAY) }, through);
    nodes.add({ id: 'mi-00000000000000003', registeredAt: iso(-40 * DAY) }, through);
    nodes.add({ id: 'mi-00000000000000004', lastPingAt: iso(-90 * DAY) }, { env: 'onprem' });

    // Act
    const summary = await sweepActivations(deps);

    // Assess
    expect(summary).toMatchObject({ staleCount: 2, deregistered: 0 });
    expect(reports).toEqual([
      { kind: 'stale-node', nodeId: 'mi-00000000000000001', name: 'old-1', activationId: 'x1', lastPingAt: iso(-31 * DAY), deregistered: false },
      { kind: 'stale-node', nodeId: 'mi-00000000000000003', deregistered: false },
    ]);
    expect(nodes.deregistered).toEqual([]);
  });

  it('deregisters stale nodes when deregisterStaleNodes is set', async () => {
    // Prepare
    const { deps, nodes } = await setup([], { staleNodeDays: 7, deregisterStaleNodes: true });
    nodes.add({ id: 'mi-00000000000000005', lastPingAt: iso(-8 * DAY) }, { 'opsauto:token': 'rack-7' });
    nodes.add({ id: 'mi-00000000000000006', lastPingAt: iso(-6 * DAY) }, { 'opsauto:token': 'rack-7' });

    // Act
    const summary = await sweepActivations(deps);

    // Assess
    expect(summary).toMatchObject({ staleCount: 1, deregistered: 1, staleNodes: [{ nodeId: 'mi-00000000000000005', deregistered: true }] });
    expect(nodes.deregistered).toEqual(['mi-00000000000000005']);
  });
});
