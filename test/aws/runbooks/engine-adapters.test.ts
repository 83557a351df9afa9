import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '@opsauto/aws';
import { ec2InstanceFinder } from '@opsauto/aws/runbooks';
import type { Localcloud } from '@opsauto/localcloud';
import { seedEc2 } from '../../../packages/localcloud/src/services/ec2.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

const OWN = '000000000000';
const REGION = 'us-east-1';

let cloud: Localcloud;
let clients: AwsClients;

beforeAll(async () => {
  cloud = await startTestCloud();
  clients = new AwsClients(REGION, clientConfig(cloud));
});
afterAll(async () => {
  await cloud.stop();
});

describe('ec2InstanceFinder', () => {
  it('finds every tagged instance across DescribeInstances pages when more than a page (1000) match', async () => {
    // Prepare
    const big = seedEc2(cloud.store, OWN, REGION, { instances: Array.from({ length: 1003 }, () => ({ tags: { fleet: 'big' } })) }).instanceIds;
    seedEc2(cloud.store, OWN, REGION, { instances: [{ tags: { fleet: 'small' } }, {}] });
    // Act
    const found = await ec2InstanceFinder(clients, REGION)({ kind: 'tags', tags: { fleet: ['big'] }, tagKeys: [] });
    // Assess
    expect(found).toHaveLength(1003);
    expect(found).toEqual([...big].sort());
  });

  it('answers the named instances that exist, sorted and once each, when asked by instance ids', async () => {
    // Prepare
    const [a, b] = seedEc2(cloud.store, OWN, REGION, { instances: [{}, {}] }).instanceIds;
    // Act
    const found = await ec2InstanceFinder(clients, REGION)({ kind: 'instances', instanceIds: [b, a, b] });
    // Assess
    expect(found).toEqual([a, b].sort());
  });
});
