import { DescribeOpsItemsCommand, SSMClient, type OpsItemSummary } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineConfig, type OpsautoConfigInput } from '@opsauto/core';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';

const fleet = {
  regions: {
    'us-east-1': {
      images: [{ name: 'base' }],
      instances: [{ image: 'base', tags: { Name: 'web-1' } }],
      volumes: [
        { size: 500, type: 'gp3', tags: { Name: 'old-db' }, createTime: '2025-01-01T00:00:00Z' },
        { size: 100, type: 'gp2', tags: { Name: 'scratch' } },
        { size: 1000, type: 'st1', tags: { Name: 'archive', 'opsauto:keep': 'yes' } },
        { size: 50, type: 'gp3', attachedTo: 'web-1', tags: { Name: 'web-1-data' } },
      ],
    },
    'eu-west-1': { volumes: [{ size: 200, type: 'gp3', tags: { Name: 'eu-orphan' } }] },
  },
};

async function startWith(staleVolumes: OpsautoConfigInput['staleVolumes']): Promise<Stage> {
  const config = defineConfig({ regions: ['us-east-1', 'eu-west-1'], staleVolumes });
  const stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed(fleet);
  return stage;
}

const opsItems = async (stage: Stage, region: string): Promise<OpsItemSummary[]> =>
  (await new SSMClient(clientConfig(stage.cloud, region)).send(new DescribeOpsItemsCommand({ OpsItemFilters: [{ Key: 'Source', Values: ['opsauto'], Operator: 'Equal' }] }))).OpsItemSummaries ?? [];
const titles = async (stage: Stage) => [...(await opsItems(stage, 'us-east-1')), ...(await opsItems(stage, 'eu-west-1'))].map((i) => i.Title!.split(':')[0]).sort();

// One stage per file: functions keep their SDK clients (and so their endpoint) for the life of the process, as in Lambda.
describe('stale-EBS scanner on its daily schedule', () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await startWith({});
  });
  afterAll(async () => {
    await stage.stop();
  });

  it('files exactly the volumes unattached for 45 days once the clock has run 46 days of daily scans', async () => {
    // Act: 46 days pass; the schedule (06:00 UTC daily) runs the scan on each of them.
    await stage.cloud.advance('P46D');
    // Assess
    const scans = stage.cloud.lambda.invocations.filter((i) => i.function === 'stale-volume-scan');
    expect(scans.length).toBeGreaterThanOrEqual(45);
    expect(scans.every((i) => i.ok)).toBe(true);
    const filed = await titles(stage);
    expect(filed.map((t) => /^Unattached EBS volume vol-\w+ "([^"]+)"/.exec(t)?.[1]).sort()).toEqual(['eu-orphan', 'old-db', 'scratch']);
    const item = (await opsItems(stage, 'us-east-1')).find((i) => i.Title!.includes('old-db'))!;
    expect(item).toMatchObject({ Source: 'opsauto', Category: 'Cost', Severity: '3', Priority: 3 });
  });
});
