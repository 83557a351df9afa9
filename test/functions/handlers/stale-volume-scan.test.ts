import { DescribeOpsItemsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { fixture } from '../../helpers/fixtures.js';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { captureMetrics } from '../../helpers/metrics.js';
import { functionEnvironment } from '../../helpers/table.js';

type Handler = (event: unknown, context: unknown) => Promise<any>;

let cloud: Localcloud;
let handler: Handler;
let metrics: ReturnType<typeof captureMetrics>;

beforeAll(async () => {
  metrics = captureMetrics();
  cloud = await startTestCloud();
  cloud.seed({ regions: { 'us-east-1': { volumes: [{ size: 100, type: 'gp3', tags: { Name: 'orphan' } }] } } });
  await functionEnvironment(cloud, 'SILENT', { metrics: true });
  ({ handler } = (await import('../../../packages/functions/src/handlers/stale-volume-scan.js')) as { handler: Handler });
});
afterAll(async () => {
  metrics.restore();
  await cloud.stop();
});

/** AWS's Scheduled Event sample, moved to another scheduled time. */
const scheduled = (time: string) => ({ ...fixture('events/awsdocs-eventbridge__scheduled-event.json'), id: `run-${time}`, time });

describe('stale-volume-scan handler', () => {
  it('plans without writing when invoked with {"dryRun": true}, and counts nothing', async () => {
    metrics.clear();
    const out = await handler({ dryRun: true }, fakeContext('stale-volume-scan'));
    expect(metrics.values()).toEqual({});
    expect(out.summary).toMatchObject({ dryRun: true, totals: { scanned: 1, newlyUnattached: 1 } });
    expect(out.plan).toEqual([{ account: '000000000000', region: 'us-east-1', wouldFile: [], wouldResolve: [] }]);
  });

  it('files the volume on the run scheduled 45 days after the first, given AWS sample events at those times', async () => {
    // Prepare: the sample event, at scheduled times on the virtual clock (what EventBridge Scheduler would send).
    const first = new Date(Math.ceil(cloud.clock.nowMs() / 60_000) * 60_000);
    await cloud.clock.set(first);
    // Act
    const day0 = await handler(scheduled(first.toISOString()), fakeContext('stale-volume-scan'));
    await cloud.advance('P45D');
    metrics.clear();
    const day45 = await handler(scheduled(new Date(first.getTime() + 45 * 86_400_000).toISOString()), fakeContext('stale-volume-scan'));
    // Assess
    expect(day0.summary.totals).toMatchObject({ filed: 0 });
    expect(day45.summary).toMatchObject({ totals: { stale: 1, filed: 1 } });
    const items = await new SSMClient(clientConfig(cloud)).send(new DescribeOpsItemsCommand({ OpsItemFilters: [{ Key: 'Source', Values: ['opsauto'], Operator: 'Equal' }] }));
    expect(items.OpsItemSummaries?.map((i) => i.Title)).toEqual([expect.stringMatching(/^Unattached EBS volume vol-\w+ "orphan": 100 GiB gp3, 45 days, ~\$8\.00\/month$/)]);
    // One EMF document for the run: its counts, in namespace opsauto, by service and stage.
    const [doc] = metrics.documents();
    expect(metrics.documents()).toHaveLength(1);
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'opsauto', Dimensions: [['service', 'stage']] });
    expect(doc).toMatchObject({ service: 'opsauto', stage: 'test' });
    expect(metrics.values()).toEqual({ VolumesScanned: [1], VolumesStale: [1], OpsItemsFiled: [1], OpsItemsResolved: [0], ScanIncomplete: [0] });
  });

  it('counts ScanIncomplete for a region it could not scan, and flushes the metrics although the invocation fails', async () => {
    // Prepare: EC2 answers every DescribeVolumes with an internal error, after the SDK's retries.
    cloud.faults.set([{ service: 'ec2', operation: 'DescribeVolumes', errorRate: 1 }]);
    metrics.clear();
    // Act
    const run = handler(scheduled(new Date(cloud.clock.nowMs()).toISOString()), fakeContext('stale-volume-scan'));
    // Assess
    await expect(run).rejects.toThrow(/stale volume scan incomplete in 000000000000\/us-east-1/);
    cloud.faults.set([]);
    expect(metrics.values()).toMatchObject({ VolumesScanned: [0], ScanIncomplete: [1] });
  });

  it('refuses an event whose id is 2,000 characters long before writing anything', async () => {
    // Prepare: what the table holds before.
    const { DynamoDBClient, ScanCommand } = await import('@aws-sdk/client-dynamodb');
    const dynamo = new DynamoDBClient(clientConfig(cloud));
    const count = async () => (await dynamo.send(new ScanCommand({ TableName: process.env.TABLE_NAME, Select: 'COUNT' }))).Count;
    const before = await count();
    // Act
    const attempt = handler({ ...scheduled(new Date(cloud.clock.nowMs()).toISOString()), id: 'x'.repeat(2_000) }, fakeContext('stale-volume-scan'));
    // Assess
    await expect(attempt).rejects.toThrow(/invalid event: id: .*128/);
    expect(await count()).toBe(before);
  });

  it('rejects an input it does not know, naming the field, rather than scanning for real', async () => {
    await expect(handler({ dryrun: true }, fakeContext('stale-volume-scan'))).rejects.toThrow('invalid event: (event): Unrecognized key: "dryrun"');
  });
});
