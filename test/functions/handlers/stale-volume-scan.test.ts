import { DescribeOpsItemsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { fixture } from '../../helpers/fixtures.js';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { createTestTable } from '../../helpers/table.js';

type Handler = (event: unknown, context: unknown) => Promise<any>;

let cloud: Localcloud;
let handler: Handler;

beforeAll(async () => {
  cloud = await startTestCloud();
  cloud.seed({ regions: { 'us-east-1': { volumes: [{ size: 100, type: 'gp3', tags: { Name: 'orphan' } }] } } });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: cloud.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    TABLE_NAME: await createTestTable(cloud),
    OPSAUTO_CONFIG: JSON.stringify({ regions: ['us-east-1'] }),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  ({ handler } = (await import('../../../packages/functions/src/handlers/stale-volume-scan.js')) as { handler: Handler });
});
afterAll(async () => {
  await cloud.stop();
});

/** AWS's Scheduled Event sample, moved to another scheduled time. */
const scheduled = (time: string) => ({ ...fixture('events/awsdocs-eventbridge__scheduled-event.json'), id: `run-${time}`, time });

describe('stale-volume-scan handler', () => {
  it('plans without writing when invoked with {"dryRun": true}', async () => {
    const out = await handler({ dryRun: true }, fakeContext('stale-volume-scan'));
    expect(out.summary).toMatchObject({ dryRun: true, totals: { scanned: 1, newlyUnattached: 1 } });
    expect(out.plan).toEqual([{ account: '000000000000', region: 'us-east-1', wouldFile: [], wouldResolve: [] }]);
  });

  it('observes at the scheduled time of AWS sample events: two scheduled runs 45 days apart file the volume', async () => {
    // Act: the sample's own time, then the same schedule 45 days later (whatever the wall clock says).
    const first = await handler(scheduled('2015-10-08T16:53:06Z'), fakeContext('stale-volume-scan'));
    const later = await handler(scheduled('2015-11-22T16:53:06Z'), fakeContext('stale-volume-scan'));
    // Assess
    expect(first.summary.totals).toMatchObject({ newlyUnattached: 1, filed: 0 });
    expect(later.summary).toMatchObject({ runId: 'run-2015-11-22T16:53:06Z', totals: { stale: 1, filed: 1 } });
    const items = await new SSMClient(clientConfig(cloud)).send(new DescribeOpsItemsCommand({ OpsItemFilters: [{ Key: 'Source', Values: ['opsauto'], Operator: 'Equal' }] }));
    expect(items.OpsItemSummaries?.map((i) => i.Title)).toEqual([expect.stringMatching(/^Unattached EBS volume vol-\w+ "orphan": 100 GiB gp3, 45 days, ~\$8\.00\/month$/)]);
  });

  it('rejects an input it does not know, naming the field, rather than scanning for real', async () => {
    await expect(handler({ dryrun: true }, fakeContext('stale-volume-scan'))).rejects.toThrow('invalid event: (event): Unrecognized key: "dryrun"');
  });
});
