import { AttachVolumeCommand, CreateVolumeCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetOpsItemCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';
import { opsItems, startWith, titles } from '../helpers/stale-volumes.js';

const scan = (stage: Stage) => stage.cloud.lambda.invoke('stale-volume-scan', {}, 'test') as Promise<{ summary: { totals: Record<string, number> } }>;

// One stage per file: functions keep their SDK clients (and so their endpoint) for the life of the process, as in Lambda.
describe('stale-EBS scanner run by hand', () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await startWith({ schedule: 'rate(1000 days)' });
    await scan(stage); // first sighting of every unattached volume
    await stage.cloud.advance('P46D');
  });
  afterAll(async () => {
    await stage.stop();
  });

  it('shows the plan in a dry run and files nothing', async () => {
    const out = (await stage.cloud.lambda.invoke('stale-volume-scan', { dryRun: true }, 'test')) as { plan: { wouldFile: unknown[] }[] };
    expect(out.plan.flatMap((p) => p.wouldFile)).toHaveLength(3);
    expect(await titles(stage)).toEqual([]);
  });

  it('files each stale volume once when two scans run at the same time', async () => {
    const [a, b] = await Promise.all([scan(stage), scan(stage)]);
    expect(a.summary.totals.filed + b.summary.totals.filed).toBe(3);
    expect(await titles(stage)).toHaveLength(3);
  });

  it('issues no CreateOpsItem at all on a steady-state rerun', async () => {
    stage.cloud.calls.reset();
    const out = await scan(stage);
    expect(out.summary.totals).toMatchObject({ filed: 0, alreadyFiled: 3, stale: 3 });
    expect(stage.cloud.calls.snapshot().ssm?.CreateOpsItem).toBeUndefined();
  });

  it('resolves the item of a volume that is attached again, with a note saying so', async () => {
    const ec2 = new EC2Client(clientConfig(stage.cloud));
    const instance = (await ec2.send(new DescribeInstancesCommand({}))).Reservations![0].Instances![0];
    const scratch = (await opsItems(stage, 'us-east-1')).find((i) => i.Title!.includes('scratch'))!;
    const volumeId = /vol-\w+/.exec(scratch.Title!)![0];
    await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instance.InstanceId!, Device: '/dev/sdg' }));
    await stage.cloud.advance('1m');
    expect((await scan(stage)).summary.totals.resolved).toBe(1);
    const { OpsItem } = await new SSMClient(clientConfig(stage.cloud)).send(new GetOpsItemCommand({ OpsItemId: scratch.OpsItemId! }));
    expect(OpsItem?.Status).toBe('Resolved');
    expect(OpsItem?.OperationalData?.['opsauto:resolution']?.Value).toBe(`Resolved by opsauto: attached again to ${instance.InstanceId}.`);
  });

  it('files the same volumes under 20% throttling as without it, each once', async () => {
    // Prepare: three new unattached volumes, seen once, then stale.
    const ec2 = new EC2Client(clientConfig(stage.cloud));
    for (const size of [10, 20, 30]) await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: size, VolumeType: 'gp3' }));
    await stage.cloud.advance('1m');
    await scan(stage);
    await stage.cloud.advance('P46D');
    // Act: scans under throttling until nothing is left for the next run (the SDK retries; a run that still
    // gives up leaves the rest to the next one).
    stage.cloud.faults.set([{ throttleRate: 0.2 }]);
    let left = Infinity;
    for (let run = 0; run < 5 && left > 0; run++) {
      const out = await scan(stage).catch(() => undefined);
      left = out ? out.summary.totals.leftForNextRun : Infinity;
    }
    stage.cloud.faults.set([]);
    // Assess: 3 old open items + 3 new, none twice.
    const open = (await opsItems(stage, 'us-east-1')).filter((i) => i.Status === 'Open');
    expect(open).toHaveLength(4);
    expect(new Set(open.map((i) => i.Title)).size).toBe(4);
  }, 120_000);
});
