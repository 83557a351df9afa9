import {
  AddTagsToResourceCommand,
  CreateDBClusterCommand,
  DeleteDBClusterCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
  ModifyDBClusterCommand,
  RDSClient,
  RemoveTagsFromResourceCommand,
  StartDBClusterCommand,
  StartDBInstanceCommand,
  StopDBClusterCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { AUTO_START_AFTER_MS, DB_CLUSTER_DELAYS_MS } from '../../packages/localcloud/src/services/rds.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const clusterArn = (id: string) => `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:${id}`;

function clusterEvents(cloud: Localcloud) {
  return cloud.bus.recent.filter((e) => e['detail-type'] === 'RDS DB Cluster Event');
}

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

  describe('stop and start', () => {
    beforeEach(() => {
      cloud.seed({ regions: { [REGION]: { dbClusters: [{ identifier: 'ledger', instances: ['ledger-1', 'ledger-2'], tags: { 'opsauto:schedule': 'qa-office-hours' } }] } } });
    });

    const cluster = async (id = 'ledger') => (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters![0];
    const memberStatuses = async () =>
      (await rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-cluster-id', Values: [clusterArn('ledger')] }] }))).DBInstances!.map((i) => [i.DBInstanceIdentifier, i.DBInstanceStatus, i.DBClusterIdentifier]);

    it('stops a cluster (stopping, then stopped) and starts it (starting, then available), its members following, with the events RDS sends', async () => {
      // Act
      const before = cloud.clock.nowMs();
      const stopped = await rds.send(new StopDBClusterCommand({ DBClusterIdentifier: 'ledger' }));
      const after = cloud.clock.nowMs();
      const membersStopping = await memberStatuses();
      await cloud.advance(DB_CLUSTER_DELAYS_MS.stopping);
      const afterStop = await cluster();
      const membersStopped = await memberStatuses();
      const started = await rds.send(new StartDBClusterCommand({ DBClusterIdentifier: clusterArn('ledger') }));
      await cloud.advance(DB_CLUSTER_DELAYS_MS.starting);
      const afterStart = await cluster();
      // Assess
      expect(stopped.DBCluster).toMatchObject({ DBClusterIdentifier: 'ledger', Status: 'stopping' });
      expect(stopped.DBCluster!.DBClusterMembers).toEqual([
        { DBInstanceIdentifier: 'ledger-1', IsClusterWriter: true, DBClusterParameterGroupStatus: 'in-sync', PromotionTier: 1 },
        { DBInstanceIdentifier: 'ledger-2', IsClusterWriter: false, DBClusterParameterGroupStatus: 'in-sync', PromotionTier: 1 },
      ]);
      expect(membersStopping).toEqual([['ledger-1', 'stopping', 'ledger'], ['ledger-2', 'stopping', 'ledger']]);
      expect(afterStop.Status).toBe('stopped');
      // 7 days after it reached stopped.
      const restart = afterStop.AutomaticRestartTime!.getTime() - AUTO_START_AFTER_MS - DB_CLUSTER_DELAYS_MS.stopping;
      expect(restart).toBeGreaterThanOrEqual(before - 1_000);
      expect(restart).toBeLessThanOrEqual(after);
      expect(membersStopped).toEqual([['ledger-1', 'stopped', 'ledger'], ['ledger-2', 'stopped', 'ledger']]);
      expect(started.DBCluster?.Status).toBe('starting');
      expect(afterStart.Status).toBe('available');
      expect(afterStart.AutomaticRestartTime).toBeUndefined();
      expect(await memberStatuses()).toEqual([['ledger-1', 'available', 'ledger'], ['ledger-2', 'available', 'ledger']]);
      expect(clusterEvents(cloud).map((e) => (e.detail as { EventID: string }).EventID)).toEqual(['RDS-EVENT-0150', 'RDS-EVENT-0151']);
      expect(clusterEvents(cloud)[0]).toMatchObject({
        source: 'aws.rds',
        resources: [clusterArn('ledger')],
        detail: { SourceType: 'CLUSTER', SourceArn: clusterArn('ledger'), SourceIdentifier: 'ledger', Message: 'DB cluster stopped.', EventCategories: ['notification'], Tags: { 'opsauto:schedule': 'qa-office-hours' } },
      });
    });

    it('starts a cluster stopped for 7 days again, as RDS does, with RDS-EVENT-0153', async () => {
      // Prepare
      await rds.send(new StopDBClusterCommand({ DBClusterIdentifier: 'ledger' }));
      await cloud.advance(DB_CLUSTER_DELAYS_MS.stopping);
      // Act
      await cloud.advance(AUTO_START_AFTER_MS - 60_000);
      const justBefore = await cluster();
      await cloud.advance(60_000);
      const autoStarting = await cluster();
      const membersStarting = await memberStatuses();
      await cloud.advance(DB_CLUSTER_DELAYS_MS.starting);
      // Assess
      expect(justBefore.Status).toBe('stopped');
      expect(autoStarting.Status).toBe('starting');
      expect(membersStarting.map(([, status]) => status)).toEqual(['starting', 'starting']);
      expect((await cluster()).Status).toBe('available');
      const event = clusterEvents(cloud).find((e) => (e.detail as { EventID: string }).EventID === 'RDS-EVENT-0153');
      expect(event).toMatchObject({
        source: 'aws.rds',
        'detail-type': 'RDS DB Cluster Event',
        account: ACCOUNT,
        region: REGION,
        detail: {
          SourceType: 'CLUSTER',
          SourceIdentifier: 'ledger',
          EventID: 'RDS-EVENT-0153',
          Message: 'DB cluster is being started due to it exceeding the maximum allowed time being stopped.',
        },
      });
      // While it is starting, it cannot be stopped: automation must wait for available.
      expect(clusterEvents(cloud).map((e) => (e.detail as { EventID: string }).EventID)).toEqual(['RDS-EVENT-0150', 'RDS-EVENT-0153', 'RDS-EVENT-0151']);
    });

    it('arms the automatic start of a cluster seeded stopped from its stoppedAt', async () => {
      // Prepare
      const stoppedAt = new Date(cloud.clock.nowMs() - AUTO_START_AFTER_MS + 3_600_000).toISOString();
      cloud.seed({ regions: { [REGION]: { dbClusters: [{ identifier: 'archive', status: 'stopped', stoppedAt, instances: ['archive-1'] }] } } });
      // Act
      const seeded = await cluster('archive');
      await cloud.advance('PT1H');
      // Assess
      expect(seeded.Status).toBe('stopped');
      expect(seeded.AutomaticRestartTime?.toISOString()).toBe(new Date(Date.parse(stoppedAt) + AUTO_START_AFTER_MS).toISOString());
      expect((await cluster('archive')).Status).toBe('starting');
    });

    it('answers InvalidDBClusterStateFault for a cluster in the wrong state, and refuses to stop or start a member on its own', async () => {
      // Act
      const startAvailable = await errorWithStatusOf(rds.send(new StartDBClusterCommand({ DBClusterIdentifier: 'ledger' })));
      await rds.send(new StopDBClusterCommand({ DBClusterIdentifier: 'ledger' }));
      const stopStopping = await errorWithStatusOf(rds.send(new StopDBClusterCommand({ DBClusterIdentifier: 'ledger' })));
      const stopMember = await errorWithStatusOf(rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'ledger-1' })));
      await cloud.advance(DB_CLUSTER_DELAYS_MS.stopping);
      const startMember = await errorWithStatusOf(rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'ledger-2' })));
      const absent = await errorWithStatusOf(rds.send(new StopDBClusterCommand({ DBClusterIdentifier: 'absent' })));
      const deleteWithMembers = await errorWithStatusOf(rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: 'ledger', SkipFinalSnapshot: true })));
      // Assess
      expect(startAvailable).toMatchObject({ name: 'InvalidDBClusterStateFault', status: 400, message: 'DbCluster ledger is in available state but expected it to be one of stopped.' });
      expect(stopStopping).toMatchObject({ name: 'InvalidDBClusterStateFault', message: 'DbCluster ledger is in stopping state but expected it to be one of available.' });
      expect(stopMember).toMatchObject({ name: 'InvalidParameterCombination', status: 400, message: 'aurora-postgresql DB instances are not eligible for stopping and starting.' });
      expect(startMember).toMatchObject({ name: 'InvalidParameterCombination' });
      expect(absent).toMatchObject({ name: 'DBClusterNotFoundFault', status: 404 });
      expect(deleteWithMembers).toMatchObject({ name: 'InvalidDBClusterStateFault' });
      expect((await memberStatuses()).map(([, status]) => status)).toEqual(['stopped', 'stopped']);
    });
  });

  describe('tags by ARN', () => {
    it('lists, adds and removes the tags of a cluster and of a DB instance', async () => {
      // Prepare
      cloud.seed({ regions: { [REGION]: { dbClusters: [{ identifier: 'ledger', tags: { team: 'db' } }], dbInstances: [{ identifier: 'orders', tags: { 'opsauto:schedule': 'qa-office-hours' } }] } } });
      const instanceArn = `arn:aws:rds:${REGION}:${ACCOUNT}:db:orders`;
      // Act
      const clusterTags = await rds.send(new ListTagsForResourceCommand({ ResourceName: clusterArn('ledger') }));
      const instanceTags = await rds.send(new ListTagsForResourceCommand({ ResourceName: instanceArn }));
      await rds.send(new AddTagsToResourceCommand({ ResourceName: clusterArn('ledger'), Tags: [{ Key: 'team', Value: 'data' }, { Key: 'opsauto:schedule', Value: 'qa-office-hours' }] }));
      await rds.send(new RemoveTagsFromResourceCommand({ ResourceName: instanceArn, TagKeys: ['opsauto:schedule'] }));
      // Assess
      expect(clusterTags.TagList).toEqual([{ Key: 'team', Value: 'db' }]);
      expect(instanceTags.TagList).toEqual([{ Key: 'opsauto:schedule', Value: 'qa-office-hours' }]);
      expect((await rds.send(new ListTagsForResourceCommand({ ResourceName: clusterArn('ledger') }))).TagList).toEqual([
        { Key: 'team', Value: 'data' },
        { Key: 'opsauto:schedule', Value: 'qa-office-hours' },
      ]);
      expect((await cluster()).TagList).toEqual([{ Key: 'team', Value: 'data' }, { Key: 'opsauto:schedule', Value: 'qa-office-hours' }]);
      expect((await rds.send(new ListTagsForResourceCommand({ ResourceName: instanceArn }))).TagList).toEqual([]);

      async function cluster() {
        return (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'ledger' }))).DBClusters![0];
      }
    });

    it('answers the NotFound of the resource type an ARN names, and refuses what is not an RDS ARN of this region or a reserved key', async () => {
      // Prepare
      cloud.seed({ regions: { [REGION]: { dbClusters: [{ identifier: 'ledger' }] } } });
      // Act
      const noCluster = await errorWithStatusOf(rds.send(new ListTagsForResourceCommand({ ResourceName: clusterArn('absent') })));
      const noInstance = await errorWithStatusOf(rds.send(new ListTagsForResourceCommand({ ResourceName: `arn:aws:rds:${REGION}:${ACCOUNT}:db:absent` })));
      const otherRegion = await errorWithStatusOf(rds.send(new ListTagsForResourceCommand({ ResourceName: 'arn:aws:rds:eu-west-1:000000000000:cluster:ledger' })));
      const notAnArn = await errorWithStatusOf(rds.send(new ListTagsForResourceCommand({ ResourceName: 'ledger' })));
      const reserved = await errorWithStatusOf(rds.send(new AddTagsToResourceCommand({ ResourceName: clusterArn('ledger'), Tags: [{ Key: 'aws:owner', Value: 'x' }] })));
      // Assess
      expect(noCluster).toMatchObject({ name: 'DBClusterNotFoundFault', status: 404 });
      expect(noInstance).toMatchObject({ name: 'DBInstanceNotFoundFault', status: 404 });
      expect(otherRegion).toMatchObject({ name: 'DBClusterNotFoundFault' });
      expect(notAnArn).toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('ledger') });
      expect(reserved).toMatchObject({ name: 'InvalidParameterValue' });
      expect((await rds.send(new ListTagsForResourceCommand({ ResourceName: clusterArn('ledger') }))).TagList).toEqual([]);
    });
  });
});
