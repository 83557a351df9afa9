import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSnapshotCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, GetBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { DescribeDocumentCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { defineConfig, parseRunbook, type Execution } from '@opsauto/core';
import { projectRoot } from '../../packages/cli/src/project.js';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { cliAgainst } from '../helpers/cli.js';
import { clientConfig } from '../helpers/localcloud.js';

// The AWS-owned documents that runbooks call as children (aws:executeAutomation), as opsauto writes them after AWS's
// runbook reference (packages/localcloud/aws-documents): each is served on the stage and runs to Success as the
// child of a parent runbook given as a file. The child acts with its parent's role, the CLI's, which the stage
// restricts to the actions of the allow-listed runbooks: these documents are allow-listed here, so that role may
// do what they do and nothing else.

process.env.RUNBOOK_INLINE_WAIT_MS = '0';

const CHILDREN = [
  'AWS-ConfigureS3BucketVersioning',
  'AWS-CreateSnapshot',
  'AWS-DeleteSnapshot',
  'AWS-CopySnapshot',
  'AWS-DetachEBSVolume',
  'AWS-AttachEBSVolume',
  'AWS-ResizeInstance',
  'AWS-StartRdsInstance',
  'AWS-StartStopAuroraCluster',
];
const config = defineConfig({ regions: ['us-east-1'] });
config.runbooks.allowedRunbooks = [...config.runbooks.allowedRunbooks, ...CHILDREN];

const { opsauto } = cliAgainst(() => stage.cloud.url);
const DOCUMENTS = join(projectRoot, 'packages/localcloud/aws-documents');

let stage: Stage;
let store: DynamoExecutionStore;
let ec2: EC2Client;
let rds: RDSClient;
let dir: string;

beforeAll(async () => {
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed({
    regions: {
      'us-east-1': {
        images: [{ name: 'child-docs-base' }],
        instances: [
          { image: 'child-docs-base', type: 't3.micro', availabilityZone: 'us-east-1a', tags: { Name: 'resized' } },
          { image: 'child-docs-base', type: 't3.micro', availabilityZone: 'us-east-1a', tags: { Name: 'host' } },
        ],
        volumes: [
          { size: 8, availabilityZone: 'us-east-1a', tags: { Name: 'data-attached' }, attachedTo: 'host' },
          { size: 8, availabilityZone: 'us-east-1a', tags: { Name: 'data-loose' } },
          { size: 8, availabilityZone: 'us-east-1a', tags: { Name: 'snapshot-source' } },
        ],
        dbInstances: [{ identifier: 'reports', status: 'stopped' }, { identifier: 'orders' }],
        dbClusters: [{ identifier: 'ledger', instances: ['ledger-1'] }],
      },
    },
  });
  store = new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName);
  ec2 = new EC2Client(clientConfig(stage.cloud));
  rds = new RDSClient(clientConfig(stage.cloud));
  dir = mkdtempSync(join(tmpdir(), 'opsauto-child-docs-'));
});
afterAll(async () => {
  await stage.stop();
  rmSync(dir, { recursive: true, force: true });
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
});
beforeEach(() => {
  stage.cloud.calls.reset();
});

const calls = (service: string, operation: string) => stage.cloud.calls.snapshot()[service]?.[operation] ?? 0;

async function instance(name: string): Promise<{ id: string; type: string; state: string }> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
  const i = out.Reservations![0].Instances![0];
  return { id: i.InstanceId!, type: i.InstanceType!, state: i.State!.Name! };
}

async function volumeId(name: string): Promise<string> {
  return (await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }))).Volumes![0].VolumeId!;
}

const volume = async (id: string) => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes![0];

/** A completed snapshot of the seeded volume, made with the SDK. */
async function completedSnapshot(): Promise<string> {
  const { SnapshotId } = await ec2.send(new CreateSnapshotCommand({ VolumeId: await volumeId('snapshot-source') }));
  await stage.cloud.advance('10m');
  const { Snapshots } = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [SnapshotId!] }));
  expect(Snapshots![0].State).toBe('completed');
  return SnapshotId!;
}

async function execution(id: string): Promise<Execution> {
  const loaded = await store.get(id);
  if (!loaded) throw new Error(`no execution ${id}; worker failures: ${JSON.stringify(stage.cloud.lambda.failures)}`);
  return loaded.execution;
}

/**
 * Starts, with the CLI, a parent runbook given as a file whose one step runs `document` as a child with
 * `parameters`; advances the clock until the parent ends. Returns the parent and its child.
 */
async function runAsChild(document: string, parameters: Record<string, string | string[]>): Promise<{ parent: Execution; child: Execution }> {
  const { parent, child } = await startParent(document, parameters);
  if (!child) throw new Error(`parent ${parent.executionId} started no child: ${parent.status} ${parent.failureMessage ?? ''}`);
  return { parent, child };
}

/** As runAsChild; the child is undefined when the parent's step could not start it. */
async function startParent(document: string, parameters: Record<string, string | string[]>): Promise<{ parent: Execution; child?: Execution }> {
  const file = join(dir, `parent-of-${document}.json`);
  const parent = {
    schemaVersion: '0.3',
    description: `Runs ${document} as a child`,
    mainSteps: [{ name: 'child', action: 'aws:executeAutomation', inputs: { DocumentName: document, RuntimeParameters: parameters } }],
  };
  writeFileSync(file, JSON.stringify(parent));
  const stdout = await opsauto('runbook', 'start', file);
  const id = /started execution (\S+)/.exec(stdout)?.[1];
  if (!id) throw new Error(`no execution ID in: ${stdout}`);
  await stage.cloud.settle();
  for (let minute = 0; minute < 30 && !(await execution(id)).endedAt; minute++) await stage.cloud.advance('1m');
  const ended = await execution(id);
  const childId = ended.steps[0]?.outputs?.ExecutionId as string | undefined;
  return { parent: ended, child: childId ? await execution(childId) : undefined };
}

function expectSuccess({ parent, child }: { parent: Execution; child: Execution }, document: string): void {
  expect(child.documentName).toBe(document);
  expect(child.parentExecutionId).toBe(parent.executionId);
  expect(child.status, child.failureMessage).toBe('Success');
  expect(parent.status, parent.failureMessage).toBe('Success');
  // The child acts with its parent's role (the CLI's), never a wider one.
  expect(child.assumeRole).toBe(parent.assumeRole);
}

describe('AWS-owned child documents on the local stage', () => {
  it('serves each document as an Automation document owned by Amazon, and each parses', async () => {
    // Act
    const ssm = new SSMClient(clientConfig(stage.cloud));
    const described = await Promise.all(CHILDREN.map((name) => ssm.send(new DescribeDocumentCommand({ Name: name }))));
    // Assess
    for (const [i, { Document }] of described.entries()) {
      expect(Document).toMatchObject({ Name: CHILDREN[i], Owner: 'Amazon', DocumentType: 'Automation', SchemaVersion: '0.3' });
      const runbook = parseRunbook(readFileSync(join(DOCUMENTS, `${CHILDREN[i]}.yaml`), 'utf8'), { name: CHILDREN[i] });
      expect(runbook.parameters.AutomationAssumeRole?.default).toBe('');
    }
    const readme = readFileSync(join(DOCUMENTS, 'README.md'), 'utf8');
    for (const name of CHILDREN) expect(readme).toContain(`| ${name}.yaml | written by opsauto after AWS's runbook reference page ${name}`);
  });

  it('refuses a VersioningState outside Enabled and Suspended before any call', async () => {
    // Act
    const { parent, child } = await startParent('AWS-ConfigureS3BucketVersioning', { BucketName: 'nowhere', VersioningState: 'On' });
    // Assess: the child is refused at start, so the parent's step fails and S3 is never called.
    expect(child).toBeUndefined();
    expect(parent.status).toBe('Failed');
    expect(parent.failureMessage).toMatch(/VersioningState value "On" is not one of the allowed values/);
    expect(calls('s3', 'PutBucketVersioning')).toBe(0);
  });

  it('enables, then suspends, versioning on a bucket with AWS-ConfigureS3BucketVersioning', async () => {
    // Prepare
    const s3 = new S3Client({ forcePathStyle: true, ...clientConfig(stage.cloud) });
    await s3.send(new CreateBucketCommand({ Bucket: 'child-docs-versioned' }));
    // Act
    const enabled = await runAsChild('AWS-ConfigureS3BucketVersioning', { BucketName: 'child-docs-versioned' });
    const afterEnable = await s3.send(new GetBucketVersioningCommand({ Bucket: 'child-docs-versioned' }));
    const suspended = await runAsChild('AWS-ConfigureS3BucketVersioning', { BucketName: 'child-docs-versioned', VersioningState: 'Suspended' });
    const afterSuspend = await s3.send(new GetBucketVersioningCommand({ Bucket: 'child-docs-versioned' }));
    // Assess
    expectSuccess(enabled, 'AWS-ConfigureS3BucketVersioning');
    expectSuccess(suspended, 'AWS-ConfigureS3BucketVersioning');
    expect(afterEnable.Status).toBe('Enabled');
    expect(afterSuspend.Status).toBe('Suspended');
    expect(calls('s3', 'PutBucketVersioning')).toBe(2);
  });

  it('creates a snapshot with AWS-CreateSnapshot and answers its ID as createSnapshot.Payload', async () => {
    // Prepare
    const source = await volumeId('snapshot-source');
    // Act
    const ran = await runAsChild('AWS-CreateSnapshot', { VolumeId: source, Description: 'made by a child' });
    // Assess
    expectSuccess(ran, 'AWS-CreateSnapshot');
    const snapshotId = ran.child.outputs?.['createSnapshot.Payload'] as string;
    expect(snapshotId).toMatch(/^snap-/);
    const { Snapshots } = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
    expect(Snapshots![0]).toMatchObject({ VolumeId: source, State: 'completed', Description: 'made by a child' });
    expect(ran.parent.steps[0]?.outputs?.Output).toEqual([`createSnapshot.Payload=${snapshotId}`]);
  });

  it('deletes a snapshot with AWS-DeleteSnapshot', async () => {
    // Prepare
    const snapshotId = await completedSnapshot();
    // Act
    const ran = await runAsChild('AWS-DeleteSnapshot', { SnapshotId: snapshotId });
    // Assess
    expectSuccess(ran, 'AWS-DeleteSnapshot');
    await expect(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).rejects.toThrow(/InvalidSnapshot.NotFound|does not exist/);
  });

  it('fails the parent when AWS-DeleteSnapshot is given a snapshot that does not exist', async () => {
    // Act
    const { parent, child } = await runAsChild('AWS-DeleteSnapshot', { SnapshotId: 'snap-0123456789abcdef0' });
    // Assess
    expect(child.status).toBe('Failed');
    expect(child.failureMessage).toContain('InvalidSnapshot.NotFound');
    expect(parent.status).toBe('Failed');
  });

  it('copies a snapshot with AWS-CopySnapshot and answers the copy as copySnapshot.SnapshotId', async () => {
    // Prepare
    const source = await completedSnapshot();
    // Act
    const ran = await runAsChild('AWS-CopySnapshot', { SnapshotId: source, SourceRegion: 'us-east-1', Description: 'copy of a child' });
    // Assess
    expectSuccess(ran, 'AWS-CopySnapshot');
    const copyId = ran.child.outputs?.['copySnapshot.SnapshotId'] as string;
    expect(copyId).toMatch(/^snap-/);
    expect(copyId).not.toBe(source);
    const { Snapshots } = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [copyId] }));
    expect(Snapshots![0].Description).toBe('copy of a child');
    expect(calls('ec2', 'CopySnapshot')).toBe(1);
  });

  it('detaches a volume with AWS-DetachEBSVolume, then attaches it elsewhere with AWS-AttachEBSVolume', async () => {
    // Prepare
    const volumeIdAttached = await volumeId('data-attached');
    const target = await instance('resized');
    expect((await volume(volumeIdAttached)).State).toBe('in-use');
    // Act
    const detached = await runAsChild('AWS-DetachEBSVolume', { VolumeId: volumeIdAttached });
    const afterDetach = await volume(volumeIdAttached);
    const attached = await runAsChild('AWS-AttachEBSVolume', { VolumeId: volumeIdAttached, InstanceId: target.id, Device: '/dev/sdh' });
    const afterAttach = await volume(volumeIdAttached);
    // Assess
    expectSuccess(detached, 'AWS-DetachEBSVolume');
    expectSuccess(attached, 'AWS-AttachEBSVolume');
    expect(afterDetach.State).toBe('available');
    expect(afterDetach.Attachments ?? []).toEqual([]);
    expect(afterAttach.State).toBe('in-use');
    expect(afterAttach.Attachments).toEqual([expect.objectContaining({ InstanceId: target.id, Device: '/dev/sdh', State: 'attached' })]);
  });

  it('attaches an unattached volume with AWS-AttachEBSVolume', async () => {
    // Prepare
    const loose = await volumeId('data-loose');
    const host = await instance('host');
    // Act
    const ran = await runAsChild('AWS-AttachEBSVolume', { VolumeId: loose, InstanceId: host.id, Device: 'xvdf' });
    // Assess
    expectSuccess(ran, 'AWS-AttachEBSVolume');
    expect((await volume(loose)).Attachments).toEqual([expect.objectContaining({ InstanceId: host.id, Device: 'xvdf', State: 'attached' })]);
  });

  it('resizes a running instance with AWS-ResizeInstance: stops it, changes its type, starts it again', async () => {
    // Prepare
    const before = await instance('resized');
    expect(before).toMatchObject({ type: 't3.micro', state: 'running' });
    // Act
    const ran = await runAsChild('AWS-ResizeInstance', { InstanceId: before.id, InstanceType: 't3.large' });
    // Assess
    expectSuccess(ran, 'AWS-ResizeInstance');
    expect(await instance('resized')).toMatchObject({ type: 't3.large', state: 'running' });
    expect(calls('ec2', 'StopInstances')).toBe(1);
    expect(calls('ec2', 'ModifyInstanceAttribute')).toBe(1);
    expect(calls('ec2', 'StartInstances')).toBe(1);
    expect(ran.child.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['checkInstanceType:Failed', 'stopInstance:Success', 'resizeInstance:Success', 'startInstance:Success']);
  });

  it('leaves an instance that already has the type alone with AWS-ResizeInstance', async () => {
    // Prepare
    const before = await instance('resized');
    expect(before.type).toBe('t3.large');
    // Act
    const ran = await runAsChild('AWS-ResizeInstance', { InstanceId: before.id, InstanceType: 't3.large' });
    // Assess
    expectSuccess(ran, 'AWS-ResizeInstance');
    expect(ran.child.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['checkInstanceType:Success']);
    expect(calls('ec2', 'StopInstances')).toBe(0);
    expect((await instance('resized')).state).toBe('running');
  });

  const dbStatus = async (id: string) => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0].DBInstanceStatus;
  const clusterStatus = async (id: string) => (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters![0].Status;

  it('starts a stopped DB instance with AWS-StartRdsInstance and waits until it is available', async () => {
    // Prepare
    expect(await dbStatus('reports')).toBe('stopped');
    // Act
    const ran = await runAsChild('AWS-StartRdsInstance', { InstanceId: 'reports' });
    // Assess
    expectSuccess(ran, 'AWS-StartRdsInstance');
    expect(await dbStatus('reports')).toBe('available');
    expect(calls('rds', 'StartDBInstance')).toBe(1);
    expect(ran.child.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['checkNotStarted:Failed', 'startInstance:Success', 'waitForAvailable:Success']);
  });

  it('leaves an available DB instance as it is with AWS-StartRdsInstance', async () => {
    // Act
    const ran = await runAsChild('AWS-StartRdsInstance', { InstanceId: 'orders' });
    // Assess
    expectSuccess(ran, 'AWS-StartRdsInstance');
    expect(calls('rds', 'StartDBInstance')).toBe(0);
    expect(await dbStatus('orders')).toBe('available');
  });

  it('stops, then starts, an Aurora cluster with AWS-StartStopAuroraCluster, its member following, and reports its status', async () => {
    // Act
    const stopped = await runAsChild('AWS-StartStopAuroraCluster', { ClusterName: 'ledger', Action: 'Stop' });
    await stage.cloud.advance('5m');
    const afterStop = [await clusterStatus('ledger'), await dbStatus('ledger-1')];
    const started = await runAsChild('AWS-StartStopAuroraCluster', { ClusterName: 'ledger' });
    await stage.cloud.advance('5m');
    // Assess
    expectSuccess(stopped, 'AWS-StartStopAuroraCluster');
    expectSuccess(started, 'AWS-StartStopAuroraCluster');
    expect(stopped.child.outputs).toMatchObject({ 'StartStopAuroraCluster.ClusterName': 'ledger', 'StartStopAuroraCluster.CurrentStatus': 'stopping' });
    expect(started.child.outputs).toMatchObject({ 'StartStopAuroraCluster.CurrentStatus': 'starting' });
    expect(afterStop).toEqual(['stopped', 'stopped']);
    expect([await clusterStatus('ledger'), await dbStatus('ledger-1')]).toEqual(['available', 'available']);
    expect(calls('rds', 'StopDBCluster')).toBe(1);
    expect(calls('rds', 'StartDBCluster')).toBe(1);
  });

  it('fails AWS-StartStopAuroraCluster with RDS\'s error when the cluster is not in the state the action needs', async () => {
    // Act
    const ran = await runAsChild('AWS-StartStopAuroraCluster', { ClusterName: 'ledger', Action: 'Start' });
    // Assess
    expect(ran.child.status).toBe('Failed');
    expect(ran.child.failureMessage).toContain('InvalidDBClusterStateFault');
    expect(ran.parent.status).toBe('Failed');
    expect(await clusterStatus('ledger')).toBe('available');
  });
});
