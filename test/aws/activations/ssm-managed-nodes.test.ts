import { CreateActivationCommand, DescribeInstanceInformationCommand, ListTagsForResourceCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, SsmManagedNodes } from '@opsauto/aws';
import type { ManagedNode } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { configureAgent } from '../../../packages/localcloud/src/services/ssm.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

let cloud: Localcloud;
let ssm: SSMClient;
let nodes: SsmManagedNodes;

/** Creates an activation and registers a server with it as its agent would (localcloud's register endpoint). */
async function registeredNode(hostname: string, tags: Record<string, string> = {}): Promise<{ activationId: string; nodeId: string }> {
  const out = await ssm.send(
    new CreateActivationCommand({ IamRole: 'opsauto-test-hybrid-node', DefaultInstanceName: hostname, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }),
  );
  const res = await fetch(`${cloud.url}/_localcloud/ssm/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ activationId: out.ActivationId, activationCode: out.ActivationCode, hostname }),
  });
  expect(res.status).toBe(200);
  return { activationId: out.ActivationId!, nodeId: ((await res.json()) as { instanceId: string }).instanceId };
}

const tagsOf = async (nodeId: string) =>
  Object.fromEntries(((await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: nodeId }))).TagList ?? []).map((t) => [t.Key, t.Value]));

beforeAll(async () => {
  cloud = await startTestCloud();
  ssm = new SSMClient(clientConfig(cloud));
  nodes = new SsmManagedNodes(new AwsClients(REGION, clientConfig(cloud)));
});
afterAll(async () => {
  ssm.destroy();
  await cloud.stop();
});

describe('SsmManagedNodes', () => {
  it('finds the nodes of 120 activations over several queries and pages, with activation, name, registration and ping', async () => {
    // Prepare
    const registered: { activationId: string; nodeId: string }[] = [];
    for (let i = 0; i < 120; i++) registered.push(await registeredNode(`rack7-web-${i}`));
    const unused = await ssm.send(new CreateActivationCommand({ IamRole: 'opsauto-test-hybrid-node' }));

    // Act
    const found = await nodes.nodesOfActivations([...registered.map((r) => r.activationId), unused.ActivationId!]);

    // Assess
    expect(found.map((n) => n.id).sort()).toEqual(registered.map((r) => r.nodeId).sort());
    const now = new Date(cloud.clock.nowMs()).toISOString();
    expect(found.find((n) => n.id === registered[7].nodeId)).toEqual<ManagedNode>({
      id: registered[7].nodeId,
      activationId: registered[7].activationId,
      name: 'rack7-web-7',
      registeredAt: expect.any(String) as string,
      lastPingAt: expect.any(String) as string,
      pingStatus: 'Online',
    });
    expect(found.every((n) => n.id.startsWith('mi-') && n.registeredAt! <= now)).toBe(true);
    expect(await nodes.nodesOfActivations([])).toEqual([]);
  });

  it('tags a node, overwriting a key it had, and lists it among the nodes carrying that tag key', async () => {
    // Prepare
    const { nodeId } = await registeredNode('rack7-db-01', { env: 'staging' });
    const other = await registeredNode('rack8-db-01');

    // Act
    await nodes.tag(nodeId, { env: 'onprem', 'opsauto:hostname': 'rack7-db-01', 'opsauto:token': 'rack-7' });
    const tagged: ManagedNode[] = [];
    for await (const page of nodes.nodesTagged('opsauto:token')) tagged.push(...page);

    // Assess
    expect(await tagsOf(nodeId)).toEqual({ env: 'onprem', 'opsauto:hostname': 'rack7-db-01', 'opsauto:token': 'rack-7' });
    expect(tagged.map((n) => n.id)).toContain(nodeId);
    expect(tagged.map((n) => n.id)).not.toContain(other.nodeId);
  });

  it('reports a node whose agent stopped pinging with its last ping, and deregisters it, twice without error', async () => {
    // Prepare
    const { nodeId } = await registeredNode('rack7-old-01', { 'opsauto:token': 'rack-7' });
    const offlineAt = cloud.clock.nowMs();
    configureAgent(cloud.store, ACCOUNT, REGION, nodeId, { status: 'offline' }, offlineAt);
    await cloud.advance('31d');
    const seen: ManagedNode[] = [];
    for await (const page of nodes.nodesTagged('opsauto:token')) seen.push(...page);

    // Act
    await nodes.deregister(nodeId);
    await nodes.deregister(nodeId);

    // Assess
    expect(seen.find((n) => n.id === nodeId)).toMatchObject({ pingStatus: 'ConnectionLost', lastPingAt: new Date(offlineAt).toISOString() });
    const left = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [nodeId] }] }));
    expect(left.InstanceInformationList).toEqual([]);
  });

  it('fails with the AWS error when tagging a node that does not exist', async () => {
    await expect(nodes.tag('mi-00000000000000000', { env: 'onprem' })).rejects.toMatchObject({ name: 'InvalidResourceId' });
  });
});
