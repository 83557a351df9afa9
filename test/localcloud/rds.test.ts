import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyDBSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotAttributesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBSnapshotAttributeCommand,
  waitUntilDBSnapshotAvailable,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  paginateDescribeDBInstances,
  RDSClient,
  StartDBInstanceCommand,
  StopDBInstanceCommand,
  waitUntilDBInstanceAvailable,
  waitUntilDBInstanceDeleted,
  type CreateDBInstanceCommandInput,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { allowRoleActions, type Localcloud } from '@opsauto/localcloud';
import { AUTO_START_AFTER_MS, DB_SNAPSHOT_AVAILABLE_DELAY_MS, RDS_DELAYS_MS, seedDbInstances } from '../../packages/localcloud/src/services/rds.js';
import { clientConfig, removeDir, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

const postgres = (id: string, extra: Partial<CreateDBInstanceCommandInput> = {}): CreateDBInstanceCommandInput => ({
  DBInstanceIdentifier: id,
  DBInstanceClass: 'db.t3.micro',
  Engine: 'postgres',
  AllocatedStorage: 20,
  MasterUsername: 'app',
  MasterUserPassword: 'correct-horse-battery',
  ...extra,
});

function rdsEvents(cloud: Localcloud, id?: string) {
  return cloud.bus.recent
    .filter((e) => e['detail-type'] === 'RDS DB Instance Event')
    .map((e) => e.detail as { EventID: string; SourceIdentifier: string; Message: string; SourceArn: string })
    .filter((d) => id === undefined || d.SourceIdentifier === id);
}

describe('localcloud RDS', () => {
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

  async function describeOne(id: string): Promise<DBInstance> {
    const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    expect(out.DBInstances).toHaveLength(1);
    return out.DBInstances![0];
  }

  /** An instance that has finished creating. */
  async function availableInstance(id: string): Promise<void> {
    await rds.send(new CreateDBInstanceCommand(postgres(id)));
    await cloud.advance(RDS_DELAYS_MS.creating);
  }

  describe('CreateDBInstance', () => {
    it('creates an instance that is creating, then available on the clock with an endpoint and a creation event', async () => {
      const out = await rds.send(
        new CreateDBInstanceCommand(postgres('Orders-DB', { Tags: [{ Key: 'Team', Value: 'payments' }, { Key: 'Stage', Value: 'dev' }], DBName: 'orders' })),
      );

      expect(out.DBInstance).toMatchObject({
        DBInstanceIdentifier: 'orders-db',
        DBInstanceClass: 'db.t3.micro',
        Engine: 'postgres',
        EngineVersion: '16.4',
        DBInstanceStatus: 'creating',
        MasterUsername: 'app',
        DBName: 'orders',
        AllocatedStorage: 20,
        StorageType: 'gp2',
        AvailabilityZone: 'us-east-1a',
        MultiAZ: false,
        DBInstanceArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:orders-db`,
        TagList: [
          { Key: 'Team', Value: 'payments' },
          { Key: 'Stage', Value: 'dev' },
        ],
        DBParameterGroups: [{ DBParameterGroupName: 'default.postgres16', ParameterApplyStatus: 'in-sync' }],
      });
      expect(out.DBInstance?.DbiResourceId).toMatch(/^db-[A-Z0-9]{26}$/);
      expect(out.DBInstance?.Endpoint).toBeUndefined();

      await cloud.advance(RDS_DELAYS_MS.creating - 60_000);
      expect((await describeOne('orders-db')).DBInstanceStatus).toBe('creating');
      await cloud.advance(60_000);
      const created = await describeOne('ORDERS-DB');
      expect(created.DBInstanceStatus).toBe('available');
      expect(created.Endpoint).toMatchObject({ Port: 5432 });
      expect(created.Endpoint?.Address).toMatch(/^orders-db\.[a-z0-9]{12}\.us-east-1\.rds\.amazonaws\.com$/);
      expect(created.InstanceCreateTime).toBeInstanceOf(Date);
      expect(cloud.bus.recent.at(-1)).toMatchObject({
        source: 'aws.rds',
        'detail-type': 'RDS DB Instance Event',
        resources: [`arn:aws:rds:${REGION}:${ACCOUNT}:db:orders-db`],
        detail: { EventID: 'RDS-EVENT-0005', SourceType: 'DB_INSTANCE', SourceIdentifier: 'orders-db', EventCategories: ['creation'], Tags: { Team: 'payments', Stage: 'dev' } },
      });
    });

    it('refuses an identifier that RDS does not accept, and one already taken', async () => {
      for (const bad of ['1orders', 'orders--db', 'orders-', 'orders_db', 'x'.repeat(64)]) {
        const err = await errorWithStatusOf(rds.send(new CreateDBInstanceCommand(postgres(bad))));
        expect(err, bad).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
        expect(err.message).toContain('The parameter DBInstanceIdentifier is not a valid identifier');
      }
      await rds.send(new CreateDBInstanceCommand(postgres('orders')));
      const taken = await errorWithStatusOf(rds.send(new CreateDBInstanceCommand(postgres('ORDERS'))));
      expect(taken).toMatchObject({ name: 'DBInstanceAlreadyExistsFault', message: 'DB instance already exists', status: 400 });
    });

    it('checks the engine, storage size, class and master user as RDS does', async () => {
      expect(await errorWithStatusOf(rds.send(new CreateDBInstanceCommand(postgres('a', { Engine: 'postgress' }))))).toMatchObject({ name: 'InvalidParameterValue' });
      expect(await errorWithStatusOf(rds.send(new CreateDBInstanceCommand(postgres('a', { AllocatedStorage: 5 }))))).toMatchObject({
        name: 'InvalidParameterCombination',
        message: 'Invalid storage size for engine name postgres and storage type gp2: 5',
      });
      expect(await errorWithStatusOf(rds.send(new CreateDBInstanceCommand(postgres('a', { DBInstanceClass: 'large' }))))).toMatchObject({ name: 'InvalidParameterCombination' });
      expect(await errorWithStatusOf(rds.send(new CreateDBInstanceCommand(postgres('a', { MasterUsername: undefined }))))).toMatchObject({
        name: 'InvalidParameterValue',
        message: 'The parameter MasterUsername must be provided and must not be blank.',
      });
      expect(await errorWithStatusOf(rds.send(new CreateDBInstanceCommand(postgres('a', { MasterUserPassword: 'short' }))))).toMatchObject({ name: 'InvalidParameterValue' });
      expect(await errorWithStatusOf(rds.send(new CreateDBInstanceCommand(postgres('a', { Engine: 'aurora-postgresql' }))))).toMatchObject({ name: 'InvalidParameterCombination' });
      expect((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances).toEqual([]);
    });
  });

  describe('DescribeDBInstances', () => {
    it('answers DBInstanceNotFound for an unknown identifier', async () => {
      const err = await errorWithStatusOf(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'missing-db' })));
      expect(err).toMatchObject({ name: 'DBInstanceNotFoundFault', message: 'DBInstance missing-db not found.', status: 404 });
    });

    it('filters by instance id (identifier or ARN) and engine', async () => {
      seedDbInstances(cloud.store, ACCOUNT, REGION, Date.now(), [
        { identifier: 'pg-a', engine: 'postgres' },
        { identifier: 'pg-b', engine: 'postgres' },
        { identifier: 'my-a', engine: 'mysql' },
      ]);
      const ids = async (filters: { Name: string; Values: string[] }[]) =>
        (await rds.send(new DescribeDBInstancesCommand({ Filters: filters }))).DBInstances!.map((i) => i.DBInstanceIdentifier);

      expect(await ids([])).toEqual(['my-a', 'pg-a', 'pg-b']);
      expect(await ids([{ Name: 'engine', Values: ['postgres'] }])).toEqual(['pg-a', 'pg-b']);
      expect(await ids([{ Name: 'db-instance-id', Values: ['PG-B', `arn:aws:rds:${REGION}:${ACCOUNT}:db:my-a`] }])).toEqual(['my-a', 'pg-b']);
      expect(
        await ids([
          { Name: 'engine', Values: ['postgres'] },
          { Name: 'db-instance-id', Values: ['pg-a', 'my-a'] },
        ]),
      ).toEqual(['pg-a']);
      expect(await ids([{ Name: 'db-cluster-id', Values: ['any'] }])).toEqual([]);
      expect(await errorWithStatusOf(rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] })))).toMatchObject({
        name: 'InvalidParameterValue',
      });
    });

    it('pages with MaxRecords and Marker through the SDK paginator, and checks MaxRecords bounds', async () => {
      const ids = seedDbInstances(
        cloud.store,
        ACCOUNT,
        REGION,
        Date.now(),
        Array.from({ length: 45 }, (_, i) => ({ identifier: `db-${String(i).padStart(2, '0')}` })),
      );
      const pages: string[][] = [];
      for await (const page of paginateDescribeDBInstances({ client: rds, pageSize: 20 }, {})) {
        pages.push(page.DBInstances!.map((i) => i.DBInstanceIdentifier!));
      }
      expect(pages.map((p) => p.length)).toEqual([20, 20, 5]);
      expect(pages.flat()).toEqual(ids);

      for (const MaxRecords of [19, 101]) {
        expect(await errorWithStatusOf(rds.send(new DescribeDBInstancesCommand({ MaxRecords })))).toMatchObject({ name: 'InvalidParameterValue' });
      }
      expect(await errorWithStatusOf(rds.send(new DescribeDBInstancesCommand({ Marker: 'not-a-marker' })))).toMatchObject({ name: 'InvalidParameterValue' });
    });
  });

  describe('StopDBInstance and StartDBInstance', () => {
    it('stops an available instance and starts it by hand, with the events RDS sends', async () => {
      await availableInstance('reports');

      const stopping = await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'reports' }));
      expect(stopping.DBInstance?.DBInstanceStatus).toBe('stopping');
      await cloud.advance(RDS_DELAYS_MS.stopping);
      const stopped = await describeOne('reports');
      expect(stopped.DBInstanceStatus).toBe('stopped');
      // RDS reports when it will start the instance again.
      expect(stopped.AutomaticRestartTime!.getTime() - cloud.clock.nowMs()).toBeGreaterThan(AUTO_START_AFTER_MS - 60_000);

      const starting = await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'reports' }));
      expect(starting.DBInstance?.DBInstanceStatus).toBe('starting');
      expect(starting.DBInstance?.AutomaticRestartTime).toBeUndefined();
      await cloud.advance(RDS_DELAYS_MS.starting);
      expect((await describeOne('reports')).DBInstanceStatus).toBe('available');
      expect(rdsEvents(cloud, 'reports').map((d) => [d.EventID, d.Message])).toEqual([
        ['RDS-EVENT-0005', 'DB instance created.'],
        ['RDS-EVENT-0087', 'DB instance stopped.'],
        ['RDS-EVENT-0088', 'DB instance started.'],
      ]);

      // Started by hand: the 7-day automatic start no longer comes.
      await cloud.advance('P8D');
      expect(rdsEvents(cloud, 'reports')).toHaveLength(3);
    });

    it('starts a stopped instance again after 7 days, as RDS does, with RDS-EVENT-0154', async () => {
      await availableInstance('analytics');
      await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'analytics' }));
      await cloud.advance('P6DT23H');
      expect((await describeOne('analytics')).DBInstanceStatus).toBe('stopped');

      // 7 days after it reached stopped, plus the minutes of stopping and starting.
      await cloud.advance('PT2H');
      expect((await describeOne('analytics')).DBInstanceStatus).toBe('available');
      const autoStart = cloud.bus.recent.find((e) => (e.detail as { EventID?: string }).EventID === 'RDS-EVENT-0154');
      expect(autoStart).toMatchObject({
        source: 'aws.rds',
        'detail-type': 'RDS DB Instance Event',
        region: REGION,
        account: ACCOUNT,
        resources: [`arn:aws:rds:${REGION}:${ACCOUNT}:db:analytics`],
        detail: {
          EventCategories: ['notification'],
          SourceType: 'DB_INSTANCE',
          SourceArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:analytics`,
          SourceIdentifier: 'analytics',
          EventID: 'RDS-EVENT-0154',
          Message: 'DB instance is being started due to it exceeding the maximum allowed time being stopped.',
        },
      });
      expect(rdsEvents(cloud, 'analytics').map((d) => d.EventID)).toEqual(['RDS-EVENT-0005', 'RDS-EVENT-0087', 'RDS-EVENT-0154', 'RDS-EVENT-0088']);
    });

    it('restarts after 7 days from the latest stop when an instance is stopped, started and stopped again', async () => {
      await availableInstance('batch');
      await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'batch' }));
      await cloud.advance('P3D');
      await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'batch' }));
      await cloud.advance(RDS_DELAYS_MS.starting);
      await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'batch' }));

      // The first stop's 7 days end here; the instance stays stopped.
      await cloud.advance('P4DT1H');
      expect((await describeOne('batch')).DBInstanceStatus).toBe('stopped');
      await cloud.advance('P3D');
      expect((await describeOne('batch')).DBInstanceStatus).toBe('available');
      expect(rdsEvents(cloud, 'batch').filter((d) => d.EventID === 'RDS-EVENT-0154')).toHaveLength(1);
    });

    it('refuses to stop an instance that is not available and to start one that is not stopped', async () => {
      await rds.send(new CreateDBInstanceCommand(postgres('busy')));
      const stopWhileCreating = await errorWithStatusOf(rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'busy' })));
      expect(stopWhileCreating).toMatchObject({ name: 'InvalidDBInstanceStateFault', message: 'Instance busy is not in available state.', status: 400 });
      await cloud.advance(RDS_DELAYS_MS.creating);
      const startWhileAvailable = await errorWithStatusOf(rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'busy' })));
      expect(startWhileAvailable).toMatchObject({ name: 'InvalidDBInstanceStateFault' });
      expect(startWhileAvailable.message).toContain('cannot be started as it is not in one of the following statuses');
      expect(await errorWithStatusOf(rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'nope' })))).toMatchObject({ name: 'DBInstanceNotFoundFault', status: 404 });
      expect(await errorWithStatusOf(rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'nope' })))).toMatchObject({ name: 'DBInstanceNotFoundFault' });
    });

    it('arms the automatic start of a seeded stopped instance from when it stopped', async () => {
      const stoppedAt = new Date(cloud.clock.nowMs() - 6 * 86_400_000).toISOString();
      seedDbInstances(cloud.store, ACCOUNT, REGION, cloud.clock.nowMs(), [{ identifier: 'legacy', status: 'stopped', stoppedAt, tags: { Owner: 'ops' } }]);
      cloud.seed({ regions: {} });
      await cloud.advance('P1DT1H');
      expect((await describeOne('legacy')).DBInstanceStatus).toBe('available');
      expect(rdsEvents(cloud, 'legacy').map((d) => d.EventID)).toEqual(['RDS-EVENT-0154', 'RDS-EVENT-0088']);
    });
  });

  describe('ModifyDBInstance', () => {
    it('changes the class through modifying when applied immediately, and keeps it pending otherwise', async () => {
      await availableInstance('billing');

      const pending = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'billing', DBInstanceClass: 'db.t3.small' }));
      expect(pending.DBInstance).toMatchObject({ DBInstanceStatus: 'available', DBInstanceClass: 'db.t3.micro', PendingModifiedValues: { DBInstanceClass: 'db.t3.small' } });

      const modifying = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'billing', DBInstanceClass: 'db.m5.large', ApplyImmediately: true }));
      expect(modifying.DBInstance).toMatchObject({ DBInstanceStatus: 'modifying', DBInstanceClass: 'db.t3.micro', PendingModifiedValues: { DBInstanceClass: 'db.m5.large' } });
      await cloud.advance(RDS_DELAYS_MS.modifying);
      const modified = await describeOne('billing');
      expect(modified).toMatchObject({ DBInstanceStatus: 'available', DBInstanceClass: 'db.m5.large' });
      expect(modified.PendingModifiedValues?.DBInstanceClass).toBeUndefined();
      expect(rdsEvents(cloud, 'billing').map((d) => d.EventID)).toEqual(['RDS-EVENT-0005', 'RDS-EVENT-0012', 'RDS-EVENT-0014']);
    });

    it('applies PubliclyAccessible at once through modifying, whatever ApplyImmediately says', async () => {
      await availableInstance('exposed');
      const modifying = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'exposed', PubliclyAccessible: true }));
      expect(modifying.DBInstance).toMatchObject({ DBInstanceStatus: 'modifying', PubliclyAccessible: true });
      await cloud.advance(RDS_DELAYS_MS.modifying);
      await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'exposed', PubliclyAccessible: false, ApplyImmediately: false }));
      expect(await describeOne('exposed')).toMatchObject({ DBInstanceStatus: 'modifying', PubliclyAccessible: false, PendingModifiedValues: {} });
      await cloud.advance(RDS_DELAYS_MS.modifying);
      expect(await describeOne('exposed')).toMatchObject({ DBInstanceStatus: 'available', PubliclyAccessible: false });
    });

    it('takes a seeded public instance private through modifying; on a private one PubliclyAccessible=false changes nothing', async () => {
      seedDbInstances(cloud.store, ACCOUNT, REGION, cloud.clock.nowMs(), [
        { identifier: 'seeded-public', publiclyAccessible: true, multiAZ: true },
        { identifier: 'seeded-private' },
      ]);
      expect(await describeOne('seeded-public')).toMatchObject({ DBInstanceStatus: 'available', PubliclyAccessible: true, MultiAZ: true });
      const closing = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'seeded-public', PubliclyAccessible: false }));
      expect(closing.DBInstance).toMatchObject({ DBInstanceStatus: 'modifying', PubliclyAccessible: false });
      // Nothing to change: the instance stays available (a runbook that waits for `modifying` here waits in AWS too).
      const unchanged = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'seeded-private', PubliclyAccessible: false }));
      expect(unchanged.DBInstance).toMatchObject({ DBInstanceStatus: 'available', PubliclyAccessible: false });
      await cloud.advance(RDS_DELAYS_MS.modifying);
      expect(await describeOne('seeded-public')).toMatchObject({ DBInstanceStatus: 'available', PubliclyAccessible: false });
      expect(() => seedDbInstances(cloud.store, ACCOUNT, REGION, cloud.clock.nowMs(), [{ identifier: 'bad-flag', publiclyAccessible: 'yes' as unknown as boolean }])).toThrow(
        'DB instance bad-flag: publiclyAccessible must be true or false',
      );
    });

    it('keeps MultiAZ pending without ApplyImmediately, and applies it (with what was pending) when asked', async () => {
      await availableInstance('ha');
      const pending = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'ha', MultiAZ: true, DBInstanceClass: 'db.t3.small' }));
      expect(pending.DBInstance).toMatchObject({ DBInstanceStatus: 'available', MultiAZ: false, PendingModifiedValues: { MultiAZ: true, DBInstanceClass: 'db.t3.small' } });
      // A change of PubliclyAccessible alone does not apply what waits for the maintenance window.
      await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'ha', PubliclyAccessible: true }));
      await cloud.advance(RDS_DELAYS_MS.modifying);
      expect(await describeOne('ha')).toMatchObject({ DBInstanceStatus: 'available', MultiAZ: false, DBInstanceClass: 'db.t3.micro', PendingModifiedValues: { MultiAZ: true } });

      const applying = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'ha', ApplyImmediately: true }));
      expect(applying.DBInstance).toMatchObject({ DBInstanceStatus: 'modifying', MultiAZ: false, PendingModifiedValues: { MultiAZ: true } });
      await cloud.advance(RDS_DELAYS_MS.modifying);
      const applied = await describeOne('ha');
      expect(applied).toMatchObject({ DBInstanceStatus: 'available', MultiAZ: true, DBInstanceClass: 'db.t3.small', SecondaryAvailabilityZone: 'us-east-1b' });
      expect(applied.PendingModifiedValues).toEqual({});
    });

    it('applies CopyTagsToSnapshot and PreferredBackupWindow at once, and a snapshot then takes the instance tags', async () => {
      await rds.send(new CreateDBInstanceCommand(postgres('tagged', { Tags: [{ Key: 'team', Value: 'billing' }] })));
      await cloud.advance(RDS_DELAYS_MS.creating);
      expect(await describeOne('tagged')).toMatchObject({ CopyTagsToSnapshot: false, PreferredBackupWindow: '03:00-03:30', BackupRetentionPeriod: 1 });

      const out = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'tagged', CopyTagsToSnapshot: true, PreferredBackupWindow: '22:00-22:30' }));
      expect(out.DBInstance).toMatchObject({ DBInstanceStatus: 'available', CopyTagsToSnapshot: true, PreferredBackupWindow: '22:00-22:30', PendingModifiedValues: {} });
      await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'tagged', DBSnapshotIdentifier: 'tagged-1' }));
      const snap = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'tagged-1' }));
      expect(snap.DBSnapshots?.[0]?.TagList).toEqual([{ Key: 'team', Value: 'billing' }]);
    });

    it('changes a non-zero BackupRetentionPeriod at once, and keeps turning backups on pending unless applied immediately', async () => {
      seedDbInstances(cloud.store, ACCOUNT, REGION, cloud.clock.nowMs(), [{ identifier: 'nobackup', backupRetentionPeriod: 0, publiclyAccessible: true, copyTagsToSnapshot: true }]);
      expect(await describeOne('nobackup')).toMatchObject({ BackupRetentionPeriod: 0, PubliclyAccessible: true, CopyTagsToSnapshot: true });
      expect(() => seedDbInstances(cloud.store, ACCOUNT, REGION, cloud.clock.nowMs(), [{ identifier: 'toolong', backupRetentionPeriod: 36 }])).toThrow(/backupRetentionPeriod/);
      await availableInstance('kept');
      const kept = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'kept', BackupRetentionPeriod: 7 }));
      expect(kept.DBInstance).toMatchObject({ DBInstanceStatus: 'available', BackupRetentionPeriod: 7, PendingModifiedValues: {} });

      const pending = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'nobackup', BackupRetentionPeriod: 7 }));
      expect(pending.DBInstance).toMatchObject({ DBInstanceStatus: 'available', BackupRetentionPeriod: 0, PendingModifiedValues: { BackupRetentionPeriod: 7 } });

      const applying = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'nobackup', BackupRetentionPeriod: 14, ApplyImmediately: true }));
      expect(applying.DBInstance).toMatchObject({ DBInstanceStatus: 'modifying', BackupRetentionPeriod: 0, PendingModifiedValues: { BackupRetentionPeriod: 14 } });
      await cloud.advance(RDS_DELAYS_MS.modifying);
      const applied = await describeOne('nobackup');
      expect(applied).toMatchObject({ DBInstanceStatus: 'available', BackupRetentionPeriod: 14 });
      expect(applied.PendingModifiedValues).toEqual({});
    });

    it('refuses a retention period outside 0-35 and a backup window RDS does not accept, changing nothing', async () => {
      await availableInstance('strict');
      const bad: [Record<string, unknown>, string][] = [
        [{ BackupRetentionPeriod: 36 }, 'between 0 and 35'],
        [{ BackupRetentionPeriod: -1 }, 'between 0 and 35'],
        [{ PreferredBackupWindow: '3:00-3:30' }, 'hh24:mi-hh24:mi'],
        [{ PreferredBackupWindow: '22:00-22:10' }, 'at least 30 minutes'],
        [{ PreferredBackupWindow: '04:45-05:15' }, 'must not overlap'],
      ];
      for (const [params, message] of bad) {
        const err = await errorWithStatusOf(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'strict', CopyTagsToSnapshot: true, ...params })));
        expect(err, JSON.stringify(params)).toMatchObject({ name: 'InvalidParameterValue', status: 400, message: expect.stringContaining(message) });
      }
      expect(await describeOne('strict')).toMatchObject({ BackupRetentionPeriod: 1, PreferredBackupWindow: '03:00-03:30', CopyTagsToSnapshot: false });
    });

    it('refuses to modify an instance that is not available, and modifications it does not emulate', async () => {
      await availableInstance('ledger');
      await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'ledger' }));
      expect(await errorWithStatusOf(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'ledger', DBInstanceClass: 'db.t3.small', ApplyImmediately: true })))).toMatchObject({
        name: 'InvalidDBInstanceStateFault',
      });
      expect(await errorWithStatusOf(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'ledger', AllocatedStorage: 100, StorageType: 'gp3' })))).toMatchObject({
        name: 'UnsupportedOperation',
        message: expect.stringContaining('localcloud does not emulate rds:ModifyDBInstance parameters AllocatedStorage, StorageType'),
        status: 400,
      });
      expect(await errorWithStatusOf(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'gone', DBInstanceClass: 'db.t3.small' })))).toMatchObject({
        name: 'DBInstanceNotFoundFault',
      });
    });
  });

  describe('DB snapshots', () => {
    it('creates a snapshot that is creating, then available on the clock, and describes and deletes it', async () => {
      await availableInstance('orders');
      const created = await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'orders', DBSnapshotIdentifier: 'Orders-Before', Tags: [{ Key: 'why', Value: 'test' }] }));
      expect(created.DBSnapshot).toMatchObject({
        DBSnapshotIdentifier: 'orders-before',
        DBInstanceIdentifier: 'orders',
        Status: 'creating',
        Engine: 'postgres',
        AllocatedStorage: 20,
        SnapshotType: 'manual',
        PercentProgress: 0,
        Encrypted: false,
        DBSnapshotArn: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:orders-before`,
        TagList: [{ Key: 'why', Value: 'test' }],
      });
      expect(created.DBSnapshot?.SnapshotCreateTime).toBeUndefined();

      await cloud.advance(DB_SNAPSHOT_AVAILABLE_DELAY_MS);
      await waitUntilDBSnapshotAvailable({ client: rds, maxWaitTime: 5, minDelay: 1 }, { DBSnapshotIdentifier: 'orders-before' });
      const [described] = (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'orders' }))).DBSnapshots!;
      expect(described).toMatchObject({ Status: 'available', PercentProgress: 100, SnapshotCreateTime: expect.any(Date) });
      expect((await rds.send(new DescribeDBSnapshotsCommand({ Filters: [{ Name: 'db-instance-id', Values: ['other'] }] }))).DBSnapshots).toEqual([]);

      const deleted = await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: 'orders-before' }));
      expect(deleted.DBSnapshot?.Status).toBe('deleted');
      expect(await errorWithStatusOf(rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'orders-before' })))).toMatchObject({ name: 'DBSnapshotNotFoundFault', status: 404 });
    });

    it('answers RDS errors: duplicate identifier, bad identifier, instance not available, snapshot still creating, unknown snapshot', async () => {
      await availableInstance('ledger');
      await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'ledger', DBSnapshotIdentifier: 'first' }));
      expect(await errorWithStatusOf(rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'ledger', DBSnapshotIdentifier: 'first' })))).toMatchObject({ name: 'DBSnapshotAlreadyExistsFault' });
      expect(await errorWithStatusOf(rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'ledger', DBSnapshotIdentifier: 'two--hyphens' })))).toMatchObject({
        name: 'InvalidParameterValue',
        message: expect.stringContaining('DBSnapshotIdentifier'),
      });
      expect(await errorWithStatusOf(rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: 'first' })))).toMatchObject({ name: 'InvalidDBSnapshotStateFault' });
      expect(await errorWithStatusOf(rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: 'nope' })))).toMatchObject({ name: 'DBSnapshotNotFoundFault' });
      await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'ledger' }));
      expect(await errorWithStatusOf(rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'ledger', DBSnapshotIdentifier: 'second' })))).toMatchObject({ name: 'InvalidDBInstanceStateFault' });
      expect(await errorWithStatusOf(rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'absent', DBSnapshotIdentifier: 'third' })))).toMatchObject({ name: 'DBInstanceNotFoundFault' });
    });

    it('copies a snapshot (tags on request, encrypted with a KMS key), shares it through the restore attribute, and refuses a cross-region copy as not emulated', async () => {
      await availableInstance('source');
      await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'source', DBSnapshotIdentifier: 'base', Tags: [{ Key: 'team', Value: 'db' }] }));
      expect(await errorWithStatusOf(rds.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: 'base', TargetDBSnapshotIdentifier: 'early' })))).toMatchObject({ name: 'InvalidDBSnapshotStateFault' });
      await cloud.advance(DB_SNAPSHOT_AVAILABLE_DELAY_MS);

      const copy = await rds.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:base`, TargetDBSnapshotIdentifier: 'base-copy', CopyTags: true, KmsKeyId: 'alias/backup' }));
      expect(copy.DBSnapshot).toMatchObject({ DBSnapshotIdentifier: 'base-copy', Status: 'creating', Encrypted: true, KmsKeyId: 'alias/backup', TagList: [{ Key: 'team', Value: 'db' }], SourceDBSnapshotIdentifier: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:base` });
      await cloud.advance(DB_SNAPSHOT_AVAILABLE_DELAY_MS);
      expect((await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'base-copy' }))).DBSnapshots?.[0]?.Status).toBe('available');

      const shared = await rds.send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: 'base', AttributeName: 'restore', ValuesToAdd: ['111122223333', 'all'] }));
      expect(shared.DBSnapshotAttributesResult?.DBSnapshotAttributes).toEqual([{ AttributeName: 'restore', AttributeValues: ['111122223333', 'all'] }]);
      await rds.send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: 'base', AttributeName: 'restore', ValuesToRemove: ['all'] }));
      expect((await rds.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: 'base' }))).DBSnapshotAttributesResult?.DBSnapshotAttributes?.[0]?.AttributeValues).toEqual(['111122223333']);
      expect(await errorWithStatusOf(rds.send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: 'base-copy', AttributeName: 'restore', ValuesToAdd: ['all'] })))).toMatchObject({ name: 'InvalidParameterCombination' });

      expect(await errorWithStatusOf(rds.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: `arn:aws:rds:eu-west-1:${ACCOUNT}:snapshot:base`, TargetDBSnapshotIdentifier: 'far' })))).toMatchObject({
        name: 'UnsupportedOperation',
        message: expect.stringContaining('rds:CopyDBSnapshot a copy from another region'),
      });
    });

    it('refuses CreateDBSnapshot to a role allowed only to describe, and takes no snapshot', async () => {
      await availableInstance('guarded');
      const roleArn = `arn:aws:iam::${ACCOUNT}:role/rds-reader`;
      await allowRoleActions(cloud.url, { roleArn, actions: ['rds:DescribeDBSnapshots'] });
      const sts = new STSClient(clientConfig(cloud));
      const creds = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'reader' }))).Credentials!;
      sts.destroy();
      const reader = new RDSClient({ ...clientConfig(cloud), credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! } });
      expect(await errorWithStatusOf(reader.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'guarded', DBSnapshotIdentifier: 'sneaky' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect((await reader.send(new DescribeDBSnapshotsCommand({}))).DBSnapshots).toEqual([]);
      reader.destroy();
    });

    it('takes the snapshot StopDBInstance and DeleteDBInstance ask for', async () => {
      await availableInstance('nightly');
      await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'nightly', DBSnapshotIdentifier: 'before-stop' }));
      await cloud.advance(RDS_DELAYS_MS.stopping);
      await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'nightly' }));
      await cloud.advance(RDS_DELAYS_MS.starting);
      expect(await errorWithStatusOf(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'nightly', SkipFinalSnapshot: true, FinalDBSnapshotIdentifier: 'final' })))).toMatchObject({ name: 'InvalidParameterCombination' });
      await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'nightly', FinalDBSnapshotIdentifier: 'final' }));
      await cloud.advance(RDS_DELAYS_MS.deleting);
      const snapshots = (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'nightly' }))).DBSnapshots!;
      expect(snapshots.map((s) => [s.DBSnapshotIdentifier, s.Status])).toEqual([['before-stop', 'available'], ['final', 'available']]);
    });
  });

  describe('DeleteDBInstance', () => {
    it('deletes through deleting, and the SDK waiters see available and then deleted', async () => {
      await rds.send(new CreateDBInstanceCommand(postgres('scratch')));
      await cloud.advance(RDS_DELAYS_MS.creating);
      await waitUntilDBInstanceAvailable({ client: rds, maxWaitTime: 5, minDelay: 1 }, { DBInstanceIdentifier: 'scratch' });

      const deleting = await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'scratch', SkipFinalSnapshot: true }));
      expect(deleting.DBInstance?.DBInstanceStatus).toBe('deleting');
      await cloud.advance(RDS_DELAYS_MS.deleting);
      await waitUntilDBInstanceDeleted({ client: rds, maxWaitTime: 5, minDelay: 1 }, { DBInstanceIdentifier: 'scratch' });
      expect(rdsEvents(cloud, 'scratch').at(-1)).toMatchObject({ EventID: 'RDS-EVENT-0003' });
    });

    it('refuses without SkipFinalSnapshot, with deletion protection, and for an unknown instance', async () => {
      await rds.send(new CreateDBInstanceCommand(postgres('keep', { DeletionProtection: true })));
      expect(await errorWithStatusOf(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'keep' })))).toMatchObject({ name: 'InvalidParameterCombination' });
      expect(await errorWithStatusOf(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'keep', SkipFinalSnapshot: true })))).toMatchObject({
        name: 'InvalidParameterCombination',
        message: 'Cannot delete protected DB Instance, please disable deletion protection and try again.',
      });
      expect(await errorWithStatusOf(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'unknown', SkipFinalSnapshot: true })))).toMatchObject({
        name: 'DBInstanceNotFoundFault',
      });
    });
  });

  it('keeps regions apart', async () => {
    const eu = new RDSClient(clientConfig(cloud, 'eu-west-1'));
    try {
      await eu.send(new CreateDBInstanceCommand(postgres('eu-only')));
      expect((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances).toEqual([]);
      expect((await eu.send(new DescribeDBInstancesCommand({}))).DBInstances?.map((i) => i.DBInstanceArn)).toEqual([`arn:aws:rds:eu-west-1:${ACCOUNT}:db:eu-only`]);
    } finally {
      eu.destroy();
    }
  });

  it('retries a throttled call (Throttling) to success through the SDK', async () => {
    cloud.faults.set([{ service: 'rds', throttleRate: 0.5 }]);
    cloud.calls.reset();
    for (let i = 0; i < 5; i++) expect((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances).toEqual([]);
    cloud.faults.set([]);
    expect(cloud.calls.snapshot().rds?.DescribeDBInstances).toBeGreaterThan(5);
  });
});

describe('localcloud RDS state across a restart', () => {
  const dataDirs: string[] = [];
  afterAll(async () => {
    for (const dir of dataDirs) await removeDir(dir);
  });

  it('keeps instances, and a stopped instance still starts again 7 days after its stop', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-rds-'));
    dataDirs.push(dataDir);
    let cloud = await startTestCloud({ dataDir });
    let rds = new RDSClient(clientConfig(cloud));
    await rds.send(new CreateDBInstanceCommand(postgres('persisted', { Tags: [{ Key: 'Team', Value: 'data' }] })));
    await cloud.advance(RDS_DELAYS_MS.creating);
    await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'persisted' }));
    await cloud.advance(RDS_DELAYS_MS.stopping);
    const address = (await rds.send(new DescribeDBInstancesCommand({}))).DBInstances?.[0]?.Endpoint?.Address;
    rds.destroy();
    await cloud.stop();

    cloud = await startTestCloud({ dataDir });
    rds = new RDSClient(clientConfig(cloud));
    try {
      expect(cloud.restored).toBe(true);
      const [stopped] = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'persisted' }))).DBInstances!;
      expect(stopped).toMatchObject({ DBInstanceStatus: 'stopped', TagList: [{ Key: 'Team', Value: 'data' }], Endpoint: { Address: address } });
      await cloud.advance('P7DT1H');
      const [restarted] = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'persisted' }))).DBInstances!;
      expect(restarted.DBInstanceStatus).toBe('available');
      expect(rdsEvents(cloud, 'persisted').map((d) => d.EventID)).toEqual(['RDS-EVENT-0154', 'RDS-EVENT-0088']);
    } finally {
      rds.destroy();
      await cloud.stop();
    }
  });
});
