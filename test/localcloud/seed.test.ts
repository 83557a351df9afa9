import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { DescribeInstancesCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { GetDocumentCommand, GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { DEMO_SEED } from '../../packages/cli/src/commands/local.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

let cloud: Localcloud | undefined;
afterEach(async () => {
  await cloud?.stop();
  cloud = undefined;
});

describe('fleet seed', () => {
  it('loads every kind of resource and answers for them through the real SDK clients', async () => {
    cloud = await startTestCloud();
    const summary = cloud.seed(
      {
        regions: {
          'us-east-1': {
            images: [{ name: 'base' }],
            instances: [{ image: 'base', tags: { Name: 'web-1' } }],
            volumes: [
              { size: 100, type: 'gp3', tags: { Name: 'data' }, createTime: '2025-11-01T00:00:00Z', history: [{ instanceId: 'web-1', attachedAt: '2025-11-01T00:00:00Z', detachedAt: '2026-11-21T00:00:00Z' }] },
              { size: 20, attachedTo: 'web-1' },
            ],
            parameters: [{ name: '/app/flag', value: 'on' }],
            dbInstances: [{ identifier: 'orders-db', status: 'stopped', stoppedAt: '2026-11-20T00:00:00Z' }],
            buckets: [{ name: 'opsauto-demo-logs', versioning: 'Suspended' }],
            documents: [{ name: 'AWS-StopEC2Instance', file: 'runbooks/AWS-StopEC2Instance.json' }],
          },
        },
      },
      join(import.meta.dirname, '../fixtures'),
    );
    expect(summary).toBe('1 images, 1 instances, 2 volumes, 1 parameters, 1 dbInstances, 1 buckets, 1 documents in us-east-1');
    const ec2 = new EC2Client(clientConfig(cloud));
    const instanceId = (await ec2.send(new DescribeInstancesCommand({}))).Reservations![0].Instances![0].InstanceId!;
    const volumes = (await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'size', Values: ['100', '20'] }] }))).Volumes!;
    expect(volumes.map((v) => [v.Size, v.State, v.Attachments?.[0]?.InstanceId]).sort()).toEqual([
      [100, 'available', undefined],
      [20, 'in-use', instanceId],
    ]);
    expect((await new SSMClient(clientConfig(cloud)).send(new GetParameterCommand({ Name: '/app/flag' }))).Parameter?.Value).toBe('on');
    expect((await new SSMClient(clientConfig(cloud)).send(new GetDocumentCommand({ Name: 'AWS-StopEC2Instance' }))).Content).toContain('aws:changeInstanceState');
    expect((await new RDSClient(clientConfig(cloud)).send(new DescribeDBInstancesCommand({}))).DBInstances![0]).toMatchObject({ DBInstanceIdentifier: 'orders-db', DBInstanceStatus: 'stopped' });
    expect((await new S3Client({ ...clientConfig(cloud), forcePathStyle: true }).send(new GetBucketVersioningCommand({ Bucket: 'opsauto-demo-logs' }))).Status).toBe('Suspended');
  });

  it('names the field that is wrong and loads nothing of a bad fleet', async () => {
    cloud = await startTestCloud();
    expect(() => cloud!.seed({ regions: { 'us-east-1': { volumes: 'many' } } })).toThrow('fleet.regions.us-east-1.volumes must be a list');
    expect(() => cloud!.seed({ regions: { mars: {} } })).toThrow(/fleet.regions.mars is not a region name/);
    expect(() => cloud!.seed({ regions: { 'us-east-1': { rockets: [] } } })).toThrow(/rockets is not a known resource kind/);
    expect(() => cloud!.seed({ regions: { 'us-east-1': { documents: [{ name: 'x' }] } } })).toThrow(/documents\[0\] needs `file` or `content`/);
  });

  it('loads the demo fleet that npm start uses', async () => {
    cloud = await startTestCloud();
    expect(cloud.seed(parse(readFileSync(DEMO_SEED, 'utf8')), join(DEMO_SEED, '..'))).toMatch(/images, .*instances/);
  });
});
