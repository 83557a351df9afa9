import { CreateImageCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';
import { everyFault, faultPhases, opsautoItems, parameterVersions, reliabilityClients, requestRunbook, serviceDown, startReliabilityStage } from '../helpers/reliability.js';

// The jobs that act on the fleet, end to end on one local stage while AWS misbehaves (the stale-EBS scan, the
// runbook engine, the AMI publisher; notifications and activations are in faults-notices.test.ts): first every
// service throttling 20% of calls, failing 5% with its 5xx error and answering 50 ms late; then one service down
// (every call a 5xx) for a minute or more of virtual time; then the faults cleared and the clock moved on, so that
// Lambda's retries and the next runs happen. Each job must end complete, or say exactly what it could not do, and
// nothing may be done twice: one OpsItem per stale volume, one execution per request, one parameter version per
// AMI. The fleets are small: 50 ms a call, and the SDK's back-off after a throttle, are real time.

let stage: Stage;
let c: ReturnType<typeof reliabilityClients>;
let ec2: EC2Client;
let figures: ReturnType<typeof faultPhases>['figures'];
let withFaults: ReturnType<typeof faultPhases>['withFaults'];
let recordTotals: ReturnType<typeof faultPhases>['recordTotals'];

beforeAll(async () => {
  stage = await startReliabilityStage();
  c = reliabilityClients(stage);
  ec2 = new EC2Client(clientConfig(stage.cloud));
  ({ figures, withFaults, recordTotals } = faultPhases(stage));
});
afterAll(async () => {
  stage?.cloud.faults.set([]);
  console.info(`reliability faults (stale-volume scan, runbook engine, AMI publisher): ${JSON.stringify(figures)}`);
  recordTotals(import.meta.url);
  await stage?.stop();
});

interface ScanOutcome {
  summary?: { totals: Record<string, number>; regions: { errors: string[] }[] };
  error?: string;
}
const scan = async (): Promise<ScanOutcome> => {
  try {
    return (await stage.cloud.lambda.invoke('stale-volume-scan', {}, 'test')) as ScanOutcome;
  } catch (e) {
    return { error: (e as Error).message };
  }
};

describe('stale-EBS scan under faults', () => {
  it('files every stale volume exactly once across a scan with SSM down, scans under faults and a clean one', async () => {
    // Prepare: four unattached volumes, first seen by a scan under every fault.
    stage.cloud.seed({ regions: { 'us-east-1': { volumes: [10, 20, 30, 40].map((size) => ({ size, type: 'gp3', tags: { Name: `orphan-${size}` } })) } } });
    const sightings: ScanOutcome[] = [];
    await withFaults('stale-volume-scan: first sightings, every fault', everyFault(), async () => {
      // Three scans, whatever each answers: sighting a volume again changes nothing.
      for (let run = 0; run < 3; run++) sightings.push(await scan());
    });
    expect(sightings.some((out) => out.summary?.totals.scanned === 4 && out.summary.regions.every((r) => r.errors.length === 0)), JSON.stringify(sightings)).toBe(true);
    await stage.cloud.advance('P2D');

    // Act 1: SSM down for a minute: the scan sees four stale volumes and can file none.
    const down = await withFaults('stale-volume-scan: SSM down', serviceDown('ssm'), async () => {
      const out = await scan();
      await stage.cloud.advance('1m');
      return out;
    });
    // Assess 1: it says so (the region's errors name the call), and nothing was filed.
    expect(down.error ?? JSON.stringify(down.summary?.regions)).toMatch(/OpsItem|ssm|SSM|internal/i);
    expect(await opsautoItems(c.ssm)).toEqual([]);

    // Act 2: scans under every fault until nothing is left for the next run, then a clean one.
    const runs: ScanOutcome[] = [];
    await withFaults('stale-volume-scan: filing, every fault', everyFault(), async () => {
      // At least two (the second finds everything filed), at most five.
      for (let run = 0; run < 5; run++) {
        const out = await scan();
        runs.push(out);
        if (run > 0 && out.summary && out.summary.totals.leftForNextRun === 0 && out.summary.regions.every((r) => r.errors.length === 0)) break;
      }
    });
    const clean = await scan();

    // Assess 2: four items, one per volume, all open; the clean run files nothing more.
    const items = await opsautoItems(c.ssm);
    const volumes = items.map((i) => /vol-\w+/.exec(i.Title!)?.[0]);
    expect(items, JSON.stringify(runs)).toHaveLength(4);
    expect(new Set(volumes).size).toBe(4);
    expect(items.every((i) => i.Status === 'Open')).toBe(true);
    expect(clean.summary?.totals).toMatchObject({ stale: 4, alreadyFiled: 4, filed: 0 });
  }, 60_000);
});

describe('runbook engine under faults', () => {
  async function instances(names: string[]): Promise<Record<string, { id: string; state: string }>> {
    const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: names }] }));
    return Object.fromEntries(out.Reservations!.flatMap((r) => r.Instances!).map((i) => [i.Tags!.find((t) => t.Key === 'Name')!.Value!, { id: i.InstanceId!, state: i.State!.Name! }]));
  }

  it('ends every execution, one per request, under every fault and with EC2 down for a minute', async () => {
    // Prepare
    stage.cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'base' }], instances: ['rb-1', 'rb-2', 'rb-3'].map((Name) => ({ image: 'base', type: 't3.micro', tags: { Name } })) } } });
    const before = await instances(['rb-1', 'rb-2', 'rb-3']);

    // Act 1: stop two instances under every fault.
    const stopId = await withFaults('runbook: every fault', everyFault(), async () => {
      const id = await requestRunbook(stage, c.events, { documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: [before['rb-1'].id, before['rb-2'].id] } }, 'faults-stop');
      await stage.cloud.advance('10m');
      return id;
    });
    await stage.cloud.advance('10m');

    // Act 2: stop the third with EC2 down for its first minutes.
    const downId = await withFaults('runbook: EC2 down', serviceDown('ec2'), async () => {
      const id = await requestRunbook(stage, c.events, { documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: [before['rb-3'].id] } }, 'faults-ec2-down');
      await stage.cloud.advance('2m');
      return id;
    });
    await stage.cloud.advance('1h');

    // Assess: both executions ended, one per request; the first stopped its instances.
    const stop = (await c.executions.get(stopId))?.execution;
    expect(stop?.status, `${stop?.failureMessage} ${JSON.stringify(stage.cloud.lambda.failures)}`).toBe('Success');
    const downRun = (await c.executions.get(downId))?.execution;
    const after = await instances(['rb-1', 'rb-2', 'rb-3']);
    expect([after['rb-1'].state, after['rb-2'].state]).toEqual(['stopped', 'stopped']);
    // A step's AWS call that fails after the SDK's retries fails the step, as in AWS Automation (a step's maxAttempts
    // is 1 unless the document says otherwise): the execution ends Failed, naming the step and the call.
    expect(downRun?.status).toBe('Failed');
    expect(downRun?.failureMessage).toMatch(/^Step forceStopInstances failed: DescribeInstances: InternalError/);
    expect(after['rb-3'].state).toBe('running');
    const { executions } = await c.executions.list({ limit: 100 });
    expect(executions.filter((e) => [stopId, downId].includes(e.executionId)).map((e) => e.executionId).sort()).toEqual([stopId, downId].sort());
  }, 60_000);
});

describe('AMI publisher under faults', () => {
  const PARAM = '/opsauto/ami/faults-web/latest';

  async function bake(name: string): Promise<string> {
    const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['rb-1'] }] }));
    const instanceId = out.Reservations![0].Instances![0].InstanceId!;
    const image = await ec2.send(
      new CreateImageCommand({ InstanceId: instanceId, Name: name, TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'opsauto:ami-family', Value: 'faults-web' }] }] }),
    );
    return image.ImageId!;
  }

  it('publishes every AMI once, under every fault and with SSM down for two minutes', async () => {
    // Act 1: two images become available, one after the other, under every fault.
    const [first, next] = await withFaults('ami-publisher: every fault', everyFault(), async () => {
      const ids = [await bake('faults-web-1')];
      await stage.cloud.advance('5m');
      ids.push(await bake('faults-web-2'));
      await stage.cloud.advance('5m');
      return ids;
    });
    // Act 2: the next one becomes available while SSM is down (the event and Lambda's first retry fail).
    const second = await withFaults('ami-publisher: SSM down', serviceDown('ssm'), async () => {
      const id = await bake('faults-web-3');
      await stage.cloud.advance('2m');
      return id;
    });
    await stage.cloud.advance('5m');

    // Assess: each image published once, the newest current.
    expect(await parameterVersions(c.ssm, PARAM), JSON.stringify(stage.cloud.lambda.failures)).toEqual([first, next, second]);
    expect((await c.ssm.send(new GetParameterCommand({ Name: PARAM }))).Parameter?.Value).toBe(second);
    expect(stage.cloud.lambda.failures.filter((f) => f.function === 'ami-publisher')).toEqual([]);
  }, 60_000);
});
