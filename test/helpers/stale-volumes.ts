import { DescribeOpsItemsCommand, SSMClient, type OpsItemSummary } from '@aws-sdk/client-ssm';
import { defineConfig, type OpsautoConfigInput } from '@opsauto/core';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from './localcloud.js';
import { DAILY_BACKGROUND } from './stage.js';

/**
 * The fleet of the stale-volume e2e tests: in us-east-1 two stale candidates, one kept on purpose and one attached;
 * in eu-west-1 one more candidate.
 */
export const staleFleet = {
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

/** A local stage of both regions with the fleet loaded and these stale-volume settings. */
export async function startWith(staleVolumes: OpsautoConfigInput['staleVolumes']): Promise<Stage> {
  const config = defineConfig({ regions: ['us-east-1', 'eu-west-1'], staleVolumes, ...DAILY_BACKGROUND });
  const stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed(staleFleet);
  return stage;
}

/** The OpsItems opsauto filed in a region. */
export const opsItems = async (stage: Stage, region: string): Promise<OpsItemSummary[]> =>
  (await new SSMClient(clientConfig(stage.cloud, region)).send(new DescribeOpsItemsCommand({ OpsItemFilters: [{ Key: 'Source', Values: ['opsauto'], Operator: 'Equal' }] }))).OpsItemSummaries ?? [];
/** The titles (up to the first colon) of every item filed, sorted. */
export const titles = async (stage: Stage) => [...(await opsItems(stage, 'us-east-1')), ...(await opsItems(stage, 'eu-west-1'))].map((i) => i.Title!.split(':')[0]).sort();
