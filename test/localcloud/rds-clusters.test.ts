import {
  CreateDBClusterCommand,
  DeleteDBClusterCommand,
  DescribeDBClustersCommand,
  ModifyDBClusterCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { DB_CLUSTER_DELAYS_MS } from '../../packages/localcloud/src/services/rds.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';

describe('localcloud RDS DB clusters', () => {
  let cloud: Localcloud;
  let rds: RDSClient;

  beforeEach(async () => {
    cloud = await startTestCloud();
    rds = new RDSClient(clientConfig(cloud));
  });
  afterEach(async () => {
    rds.destroy();
    await cloud.stop();
  });

  it('creates a cluster that is creating, then available, and describes it by identifier, ARN and filter', async () => {
    const created = await rds.send(new CreateDBClusterCommand({ DBClusterIdentifier: 'Ledger', Engine: 'aurora-postgresql', MasterUsername: 'app', MasterUserPassword: 'correct-horse', Tags: [{ Key: 'team', Value: 'db' }] }));
    expect(created.DBCluster).toMatchObject({
      DBClusterIdentifier: 'ledger',
      Status: 'creating',
      Engine: 'aurora-postgresql',
      Port: 5432,
      DeletionProtection: false,
      CopyTagsToSnapshot: false,
      DBClusterArn: `arn:aws:rds:us-east-1:${ACCOUNT}:cluster:ledger`,
      DbClusterResourceId: expect.stringMatching(/^cluster-[A-Z0-9]{26}$/),
      TagList: [{ Key: 'team', Value: 'db' }],
    });
    await cloud.advance(DB_CLUSTER_DELAYS_MS.creating);
    const [byArn] = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: created.DBCluster!.DBClusterArn }))).DBClusters!;
    expect(byArn.Status).toBe('available');
    expect((await rds.send(new DescribeDBClustersCommand({ Filters: [{ Name: 'engine', Values: ['aurora-mysql'] }] }))).DBClusters).toEqual([]);
    expect(await errorWithStatusOf(rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'absent' })))).toMatchObject({ name: 'DBClusterNotFoundFault', status: 404 });
  });

  it('modifies DeletionProtection and CopyTagsToSnapshot at once, refuses what it does not emulate, and deletes only an unprotected cluster', async () => {
    cloud.seed({ regions: { 'us-east-1': { dbClusters: [{ identifier: 'orders', engine: 'aurora-mysql' }] } } });
    const modified = await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'orders', DeletionProtection: true, CopyTagsToSnapshot: true, ApplyImmediately: true }));
    expect(modified.DBCluster).toMatchObject({ Status: 'available', DeletionProtection: true, CopyTagsToSnapshot: true, Port: 3306 });
    expect(await errorWithStatusOf(rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'orders', BackupRetentionPeriod: 7 })))).toMatchObject({
      name: 'UnsupportedOperation',
      message: expect.stringContaining('rds:ModifyDBCluster parameter BackupRetentionPeriod'),
    });
    expect(await errorWithStatusOf(rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: 'orders', SkipFinalSnapshot: true })))).toMatchObject({ name: 'InvalidParameterCombination' });
    await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'orders', DeletionProtection: false }));
    expect((await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: 'orders', SkipFinalSnapshot: true }))).DBCluster?.Status).toBe('deleting');
    await cloud.advance(DB_CLUSTER_DELAYS_MS.deleting);
    expect(await errorWithStatusOf(rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'orders' })))).toMatchObject({ name: 'DBClusterNotFoundFault' });
    expect(await errorWithStatusOf(rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'orders', DeletionProtection: true })))).toMatchObject({ name: 'DBClusterNotFoundFault' });
  });

  it('answers RDS validation errors', async () => {
    const base = { DBClusterIdentifier: 'c1', Engine: 'aurora-mysql', MasterUsername: 'app', MasterUserPassword: 'correct-horse' };
    expect(await errorWithStatusOf(rds.send(new CreateDBClusterCommand({ ...base, Engine: 'oracle' })))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await errorWithStatusOf(rds.send(new CreateDBClusterCommand({ ...base, MasterUserPassword: 'short' })))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await errorWithStatusOf(rds.send(new CreateDBClusterCommand({ ...base, DBClusterIdentifier: 'bad--id' })))).toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('DBClusterIdentifier') });
    await rds.send(new CreateDBClusterCommand(base));
    expect(await errorWithStatusOf(rds.send(new CreateDBClusterCommand(base)))).toMatchObject({ name: 'DBClusterAlreadyExistsFault' });
    expect(await errorWithStatusOf(rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'c1', DeletionProtection: true })))).toMatchObject({ name: 'InvalidDBClusterStateFault' });
  });
});
