import { CreateImageCommand, DeregisterImageCommand, DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, GetParameterHistoryCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineConfig } from '@opsauto/core';
import { manifest } from '@opsauto/functions';
import { DEMO_SEED } from '../../packages/cli/src/commands/local.js';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { cliAgainst } from '../helpers/cli.js';
import { errorOf } from '../helpers/errors.js';
import { clientConfig } from '../helpers/localcloud.js';

const PARAM = '/opsauto/ami/demo-web/latest';
const config = defineConfig({ regions: ['us-east-1'], amiPublisher: { namePatterns: [{ family: 'demo-base', namePattern: 'demo-base-*' }] } });

let stage: Stage;
let ec2: EC2Client;
let ssm: SSMClient;

beforeAll(async () => {
  stage = await startStage({ config, port: 0, apiPort: 0, seed: DEMO_SEED, tickMs: 0, functionLogLevel: 'SILENT' });
  ec2 = new EC2Client(clientConfig(stage.cloud));
  ssm = new SSMClient(clientConfig(stage.cloud));
});
afterAll(async () => {
  await stage.stop();
});

async function bake(name: string): Promise<string> {
  const reservations = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-1'] }] }));
  const instanceId = reservations.Reservations![0].Instances![0].InstanceId!;
  const out = await ec2.send(
    new CreateImageCommand({ InstanceId: instanceId, Name: name, TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'opsauto:ami-family', Value: 'demo-web' }] }] }),
  );
  return out.ImageId!;
}

const current = async () => (await ssm.send(new GetParameterCommand({ Name: PARAM }))).Parameter!;
const versions = async () => (await ssm.send(new GetParameterHistoryCommand({ Name: PARAM }))).Parameters!.length;
const { opsauto } = cliAgainst(() => stage.cloud.url);

/** Re-delivers an `EC2 AMI State Change` for an image, as EventBridge may do late or twice. */
const redeliver = (imageId: string, State = 'available') =>
  fetch(`${stage.cloud.url}/_localcloud/events`, {
    method: 'POST',
    body: JSON.stringify({ source: 'aws.ec2', 'detail-type': 'EC2 AMI State Change', detail: { RequestId: 'r', ImageId: imageId, State, ErrorMessage: '' }, resources: [`arn:aws:ec2:us-east-1::image/${imageId}`] }),
  });

describe('AMI publisher on the local stage', () => {
  let first = '';
  let second = '';

  it('registers exactly the manifest event rules and HTTP routes with localcloud', async () => {
    const health = (await (await fetch(`${stage.cloud.url}/_localcloud/health`)).json()) as { rules: string[]; routes: { method: string; path: string; function: string }[] };
    const fns = manifest(config);
    expect(health.rules.sort()).toEqual(fns.flatMap((f) => f.triggers.flatMap((t) => (t.type === 'event' ? [`${f.name}.${t.name}`] : []))).sort());
    expect(health.routes).toEqual(fns.flatMap((f) => f.triggers.flatMap((t) => (t.type === 'http' ? [{ method: t.method, path: t.path, function: f.name }] : []))));
  });

  it('points the family parameter at a new image once CreateImage completes on the clock', async () => {
    // Prepare
    first = await bake('demo-web-2026-11-22');
    // Act: the image becomes available a minute later; localcloud emits the event; the rule invokes the function.
    await stage.cloud.advance('2m');
    // Assess
    expect(await current()).toMatchObject({ Value: first, DataType: 'aws:ec2:image', Version: 1 });
    const status = (await (await fetch(`${stage.apiUrl}/status`)).json()) as { amiFamilies: { family: string; imageId: string }[] };
    expect(status.amiFamilies).toContainEqual(expect.objectContaining({ family: 'demo-web', imageId: first }));
  });

  it('moves forward to a newer image and not back when the older image is announced late or twice', async () => {
    second = await bake('demo-web-2026-11-23');
    await stage.cloud.advance('2m');
    expect((await current()).Value).toBe(second);
    const before = stage.cloud.lambda.invocations.length;
    await redeliver(first);
    await redeliver(second);
    // Both were delivered and handled (not just ignored by the rule), and changed nothing.
    const handled = stage.cloud.lambda.invocations.slice(before);
    expect(handled.map((i) => [i.function, i.ok])).toEqual([
      ['ami-publisher', true],
      ['ami-publisher', true],
    ]);
    expect((await current()).Value).toBe(second);
    expect(await versions()).toBe(2);
  });

  it('rolls back with the CLI and keeps the rollback when the newer image is announced again', async () => {
    const stdout = await opsauto('ami', 'rollback', 'demo-web', '--to', first);
    expect(stdout).toContain(`${PARAM} -> ${first}`);
    await redeliver(second);
    expect((await current()).Value).toBe(first);
    const history = JSON.parse(await opsauto('--json', 'ami', 'history', 'demo-web')) as { history: { kind: string; imageId: string }[] };
    expect(history.history.map((h) => [h.kind, h.imageId])).toEqual([
      ['rollback', first],
      ['publish', second],
      ['publish', first],
    ]);
  });

  it("publishes nothing for a forged event naming another account's public AMI that matches a family pattern", async () => {
    // Prepare: account 111111111111 makes public an image named like the demo-base family.
    stage.cloud.seed({ account: '111111111111', regions: { 'us-east-1': { images: [{ name: 'demo-base-2026-12-01', public: true }] } } });
    const [stranger] = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['demo-base-2026-12-01'] }] }))).Images!;
    const before = stage.cloud.lambda.invocations.length;
    // Act
    await redeliver(stranger.ImageId!);
    // Assess
    expect(stranger.OwnerId).toBe('111111111111');
    expect(stage.cloud.lambda.invocations.slice(before).map((i) => [i.function, i.ok])).toEqual([['ami-publisher', true]]);
    expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/opsauto/ami/demo-base/latest' })))).name).toBe('ParameterNotFound');
  });

  it('flags nothing when a forged event says the published image was deregistered while EC2 still has it', async () => {
    await redeliver(first, 'deregistered');
    const status = (await (await fetch(`${stage.apiUrl}/status`)).json()) as { amiFamilies: { family: string; imageId: string; warning?: string }[] };
    expect(status.amiFamilies.find((f) => f.family === 'demo-web')).toMatchObject({ imageId: first });
    expect(status.amiFamilies.find((f) => f.family === 'demo-web')).not.toHaveProperty('warning');
  });

  it('shows a warning on the family when its published image is deregistered', async () => {
    await ec2.send(new DeregisterImageCommand({ ImageId: first }));
    await stage.cloud.settle();
    const status = (await (await fetch(`${stage.apiUrl}/status`)).json()) as { amiFamilies: { family: string; warning?: string }[] };
    expect(status.amiFamilies.find((f) => f.family === 'demo-web')?.warning).toMatch(new RegExp(`${first} was deregistered`));
  });

  it('retries a failing invocation twice on the clock and then keeps it as a visible failure', async () => {
    await redeliver('not-an-ami');
    expect(stage.cloud.lambda.failures).toHaveLength(0);
    await stage.cloud.advance('5m');
    const failures = (await (await fetch(`${stage.cloud.url}/_localcloud/failures`)).json()) as { function: string; attempt: number; error: string }[];
    expect(failures).toEqual([expect.objectContaining({ function: 'ami-publisher', attempt: 3, error: expect.stringMatching(/detail\.ImageId: must be an AMI ID/) })]);
  });
});
