/**
 * A real local stage seeded with a small fleet for the console's browser tests and its benchmark, made the way
 * operators and the jobs make it (as test/functions/console-api.test.ts does): an execution waiting for approval
 * (started with `opsauto runbook start`), a volume the daily scans found stale with its OpsItem, an AMI family, a
 * parameter with an expiry policy, a token (`opsauto tokens create`) with one issuance, and an automation due on New
 * Year's night in Berlin. One more volume, `late`, is created after the scans: no scan has seen it, so the console
 * lists it only after the next daily scan (one +1d; staleVolumes.thresholdDays is 1).
 *
 * @example
 * const { stage, fleet, stop } = await startConsoleStage();
 * await page.goto(`${stage.apiUrl}/console/executions/${fleet.waitingId}`);
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateImageCommand, DescribeInstancesCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { defineConfig } from '@opsauto/core';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { cliAgainst } from './cli.js';
import { clientConfig } from './localcloud.js';
import { DAILY_BACKGROUND } from './stage.js';

const DAY = 86_400_000;

// Stale after one full day unattached: a volume created now is listed once a daily scan has seen it and a day has
// passed since its creation, which is what one +1d from the page does. The automation never fires in a test's days.
export const CONSOLE_STAGE_CONFIG = defineConfig({
  regions: ['us-east-1'],
  staleVolumes: { thresholdDays: 1 },
  automations: [{ name: 'new-year-restart', runbook: 'AWS-RestartEC2Instance', parameters: { InstanceId: 'i-0123456789abcdef0' }, trigger: { schedule: 'cron(0 3 1 1 ? *)', timezone: 'Europe/Berlin' } }],
  ...DAILY_BACKGROUND,
});

const APPROVE_RUNBOOK = `
schemaVersion: '0.3'
description: Patch after an operator approves.
mainSteps:
  - name: askOps
    action: aws:approve
    inputs:
      Approvers: [operator]
      Message: Go ahead?
  - name: done
    action: aws:sleep
    inputs: { Duration: PT0S }
`;

export interface ConsoleFleet {
  /** The execution waiting for the local operator's approval. */
  waitingId: string;
  /** The AMI family `console-web`'s current image. */
  imageId: string;
  /** 100 GiB gp3 `scratch`: stale, $8.00 a month, with an OpsItem. */
  staleVolumeId: string;
  /** 50 GiB gp2 `late`: unattached, not yet seen by a scan. */
  lateVolumeId: string;
  /** A SecureString whose value must never reach the page. */
  parameter: { name: string; value: string };
  tokenName: string;
  hostname: string;
  automation: string;
}

export interface ConsoleStage {
  stage: Stage;
  fleet: ConsoleFleet;
  stop: () => Promise<void>;
}

async function volumeNamed(ec2: EC2Client, name: string): Promise<string> {
  const { Volumes = [] } = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
  if (Volumes.length !== 1) throw new Error(`expected one volume named ${name}, found ${Volumes.length}`);
  return Volumes[0].VolumeId!;
}

/** Starts the stage (virtual clock, tickMs 0, random ports) and seeds the fleet; about 10 s. */
export async function startConsoleStage(): Promise<ConsoleStage> {
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  const stage = await startStage({ config: CONSOLE_STAGE_CONFIG, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  const dir = mkdtempSync(join(tmpdir(), 'console-stage-'));
  const stop = async () => {
    await stage.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { opsauto } = cliAgainst(() => stage.cloud.url);
    const parameter = { name: '/console/db-password', value: 'not-for-the-console' };
    const tokenName = 'rack-9';
    const hostname = 'node-1';
    stage.cloud.seed({
      regions: {
        'us-east-1': {
          images: [{ name: 'base' }],
          instances: [{ image: 'base', tags: { Name: 'web-1' } }],
          volumes: [{ size: 100, type: 'gp3', tags: { Name: 'scratch' } }],
        },
      },
    });
    const ec2 = new EC2Client(clientConfig(stage.cloud));
    const ssm = new SSMClient(clientConfig(stage.cloud));
    let imageId: string, staleVolumeId: string, lateVolumeId: string;
    try {
      const web1 = (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-1'] }] }))).Reservations![0].Instances![0].InstanceId!;
      imageId = (await ec2.send(new CreateImageCommand({ InstanceId: web1, Name: 'console-web-1', TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'opsauto:ami-family', Value: 'console-web' }] }] }))).ImageId!;
      staleVolumeId = await volumeNamed(ec2, 'scratch');
      const expires = new Date(stage.cloud.clock.nowMs() + 20 * DAY).toISOString();
      await ssm.send(
        new PutParameterCommand({
          Name: parameter.name,
          Value: parameter.value,
          Type: 'SecureString',
          Tier: 'Advanced',
          Policies: JSON.stringify([
            { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: expires } },
            { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '15', Unit: 'Days' } },
          ]),
        }),
      );
      // Two daily scans: the first sees scratch unattached, the second a day later finds it stale and files its OpsItem.
      await stage.cloud.advance('2d');
      stage.cloud.seed({ regions: { 'us-east-1': { volumes: [{ size: 50, type: 'gp2', tags: { Name: 'late' } }] } } });
      lateVolumeId = await volumeNamed(ec2, 'late');
    } finally {
      ec2.destroy();
      ssm.destroy();
    }
    const { token } = JSON.parse(await opsauto('--json', 'tokens', 'create', '--name', tokenName, '--max-uses', '3')) as { token: string };
    const activated = await fetch(`${stage.apiUrl}/activations`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ hostname }) });
    if (activated.status !== 200) throw new Error(`POST /activations answered ${activated.status}: ${await activated.text()}`);
    const file = join(dir, 'patch-with-approval.yaml');
    writeFileSync(file, APPROVE_RUNBOOK);
    const out = await opsauto('runbook', 'start', file);
    const waitingId = /started execution (\S+)/.exec(out)?.[1];
    if (!waitingId) throw new Error(`no execution ID in: ${out}`);
    await stage.cloud.settle();
    return { stage, stop, fleet: { waitingId, imageId, staleVolumeId, lateVolumeId, parameter, tokenName, hostname, automation: 'new-year-restart' } };
  } catch (e) {
    await stop();
    throw e;
  }
}
