import { CreateImageCommand, CreateVolumeCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, GetBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateOpsItemCommand, GetOpsItemCommand, GetParameterCommand, PutParameterCommand, UpdateOpsItemCommand } from '@aws-sdk/client-ssm';
import { defineConfig, executionIdFor } from '@opsauto/core';
import { eventBusName, scheduledEventInput } from '@opsauto/functions';
import { DEFAULT_ACCOUNT } from '@opsauto/localcloud';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Stage } from '../../packages/cli/src/stage.js';
import { recordFigure } from '../helpers/figures.js';
import { clientConfig } from '../helpers/localcloud.js';
import {
  activationHosts,
  createToken,
  noticesAbout,
  opsautoItems,
  parameterVersions,
  postActivation,
  reliabilityClients,
  reliabilityConfig,
  snsMessages,
  startReliabilityStage,
} from '../helpers/reliability.js';

// Every event a job takes, delivered two or three times (EventBridge and Lambda deliver at least once; a duplicate
// keeps its event ID) and out of order, some copies at the same moment: each effect happens exactly once. Events
// are handed to the functions as the bus handed them (same ID), or asked for again as a producer would (same
// idempotency key); scheduled invocations are repeated with the same execution ID; the activation API is retried
// with the same idempotency key. Counts are of AWS calls made (no faults here, so each call is one effect).

const config = reliabilityConfig();
config.automations = defineConfig({
  automations: [
    {
      name: 's3-versioning-remediation',
      description: 'a bucket Config finds without versioning gets it',
      runbook: 'AWS-ConfigureS3BucketVersioning',
      parameters: { BucketName: '{{ event.detail.resourceId }}', VersioningState: 'Enabled' },
      trigger: { configRules: ['s3-bucket-versioning-enabled'] },
    },
    {
      name: 'stale-volume-remediation',
      description: 'a stale-volume OpsItem set to InProgress: snapshot the volume, delete it, resolve the item',
      runbook: 'opsauto-SnapshotThenDeleteVolume',
      parameters: { VolumeId: '{{ event.opsItem.resourceId }}' },
      trigger: { opsItems: { source: 'opsauto' } },
    },
  ],
}).automations;

let stage: Stage;
let c: ReturnType<typeof reliabilityClients>;
let ec2: EC2Client;

beforeAll(async () => {
  stage = await startReliabilityStage(config);
  c = reliabilityClients(stage);
  ec2 = new EC2Client(clientConfig(stage.cloud));
  stage.cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'base' }], instances: ['dup-1', 'dup-2', 'dup-3'].map((Name) => ({ image: 'base', type: 't3.micro', tags: { Name } })) } } });
});
/** Copies handed to a function or the API, and tests run (the README's reliability table). */
let deliveries = 0;
let tests = 0;
afterEach(() => void tests++);
afterAll(async () => {
  recordFigure(import.meta.url, 'tests', tests);
  recordFigure(import.meta.url, 'deliveries', deliveries);
  await stage?.stop();
});
beforeEach(() => stage.cloud.calls.reset());

const calls = (service: string, operation: string) => stage.cloud.calls.snapshot()[service]?.[operation] ?? 0;

/** The bus's own copy of the last event matching `match` (its ID and time kept), as a rule delivered it. */
function delivered(match: (e: Stage['cloud']['bus']['recent'][number]) => boolean): Record<string, unknown> {
  const found = stage.cloud.bus.recent.filter(match).at(-1);
  if (!found) throw new Error('no such event on the bus');
  const event: Record<string, unknown> = { ...found };
  delete event.matchedRules;
  delete event.eventBusName;
  return event;
}

/** Hands `event` to `fn` once per entry of `waves`: each wave's copies at the same moment, the waves one after another. */
async function redeliver(fn: string, waves: Record<string, unknown>[][]): Promise<unknown[]> {
  const out: unknown[] = [];
  deliveries += waves.flat().length;
  for (const wave of waves) out.push(...(await Promise.all(wave.map((event) => stage.cloud.lambda.invoke(fn, structuredClone(event), 'test')))));
  await stage.cloud.settle();
  return out;
}

async function instanceId(name: string): Promise<string> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
  return out.Reservations![0].Instances![0].InstanceId!;
}

describe('ami-publisher: AMI state changes twice and out of order', () => {
  it('publishes each image once and ends on the newest', async () => {
    // Prepare: two images of a family, the second newer; each published once by its own event.
    const bake = async (name: string) =>
      (
        await ec2.send(
          new CreateImageCommand({ InstanceId: await instanceId('dup-1'), Name: name, TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'opsauto:ami-family', Value: 'dup-web' }] }] }),
        )
      ).ImageId!;
    const older = await bake('dup-web-1');
    await stage.cloud.advance('2m');
    const newer = await bake('dup-web-2');
    await stage.cloud.advance('2m');
    const event = (imageId: string) => delivered((e) => e['detail-type'] === 'EC2 AMI State Change' && (e.detail as { ImageId?: string }).ImageId === imageId);
    const [a, b] = [event(older), event(newer)];

    // Act: the newer twice at once, then the older (late) three times, then the newer again.
    await redeliver('ami-publisher', [[b, b], [a, a, a], [b]]);

    // Assess
    expect(await parameterVersions(c.ssm, '/opsauto/ami/dup-web/latest')).toEqual([older, newer]);
    expect((await c.ssm.send(new GetParameterCommand({ Name: '/opsauto/ami/dup-web/latest' }))).Parameter?.Value).toBe(newer);
  });
});

describe('param-policy-events: policy actions twice and out of order', () => {
  it('sends one notice per due date', async () => {
    // Prepare: a parameter expiring in 2 days with a reminder a day before; both events fire on the clock.
    const NAME = '/dup/api-key';
    const DAY = 86_400_000;
    const expiry = new Date(Math.floor(stage.cloud.clock.nowMs() / 1000) * 1000 + 2 * DAY);
    const policies = [
      { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: expiry.toISOString() } },
      { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '1', Unit: 'Days' } },
    ];
    await c.ssm.send(new PutParameterCommand({ Name: NAME, Value: 'v', Type: 'String', Tier: 'Advanced', Policies: JSON.stringify(policies), Tags: [{ Key: 'owner', Value: 'ops' }] }));
    await stage.cloud.advance(2 * DAY + 60_000);
    const policyEvent = (type: string) =>
      delivered((e) => e['detail-type'] === 'Parameter Store Policy Action' && (e.detail as Record<string, string>)['parameter-name'] === NAME && (e.detail as Record<string, string>)['policy-type'] === type);
    const [reminder, expired] = [policyEvent('ExpirationNotification'), policyEvent('Expiration')];
    const before = noticesAbout(await snsMessages(stage, stage.topics.notification), NAME);

    // Act: the expiration twice at once, the (older) reminder twice, then both again.
    await redeliver('param-policy-events', [[expired, expired], [reminder, reminder], [expired, reminder]]);

    // Assess: the two notices the events first sent, and no other.
    const after = noticesAbout(await snsMessages(stage, stage.topics.notification), NAME);
    expect(before.map((n) => n.due).sort()).toEqual([new Date(expiry.getTime() - DAY).toISOString(), expiry.toISOString()]);
    expect(after).toEqual(before);
  });
});

describe('automation-trigger: a Config compliance change three times and an older one late', () => {
  it('remediates the bucket once', async () => {
    // Prepare
    const s3 = new S3Client({ ...clientConfig(stage.cloud), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'dup-logs' }));
    const res = await fetch(`${stage.cloud.url}/_localcloud/config/compliance`, {
      method: 'POST',
      body: JSON.stringify({ configRuleName: 's3-bucket-versioning-enabled', resourceType: 'AWS::S3::Bucket', resourceId: 'dup-logs', complianceType: 'NON_COMPLIANT' }),
    });
    expect(res.status).toBe(200);
    await stage.cloud.settle();
    const event = delivered((e) => e['detail-type'] === 'Config Rules Compliance Change' && (e.detail as { resourceId?: string }).resourceId === 'dup-logs');
    const older = structuredClone(event) as { id: string; detail: { newEvaluationResult: { evaluationResultIdentifier: { orderingTimestamp: string } } } };
    older.id = '00000000-0000-4000-8000-000000000001';
    const ordering = older.detail.newEvaluationResult.evaluationResultIdentifier;
    ordering.orderingTimestamp = new Date(Date.parse(ordering.orderingTimestamp) - 3_600_000).toISOString();

    // Act: the same event twice at once, the older one, the same again.
    await redeliver('automation-trigger', [[event, event], [older as unknown as Record<string, unknown>], [event]]);
    await stage.cloud.advance('5m');

    // Assess: one execution of the remediation, one PutBucketVersioning.
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'dup-logs' }))).Status).toBe('Enabled');
    expect(calls('s3', 'PutBucketVersioning')).toBe(1);
    const { executions } = await c.executions.list({ limit: 100 });
    expect(executions.filter((e) => e.triggeredBy === 'automation:s3-versioning-remediation')).toHaveLength(1);
    s3.destroy();
  });
});

describe('automation-trigger: an OpsItem update three times', () => {
  it('snapshots and deletes the volume once, and resolves the item', async () => {
    // Prepare: an unattached volume and the item the scanner files for it, set to InProgress by an operator.
    const { VolumeId } = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 8 }));
    await stage.cloud.advance('1m');
    const { OpsItemId } = await c.ssm.send(
      new CreateOpsItemCommand({
        Title: `Unattached EBS volume ${VolumeId}`,
        Description: 'stale',
        Source: 'opsauto',
        OperationalData: { '/aws/resources': { Value: JSON.stringify([{ arn: `arn:aws:ec2:us-east-1:${DEFAULT_ACCOUNT}:volume/${VolumeId}` }]), Type: 'SearchableString' } },
      }),
    );
    await c.ssm.send(new UpdateOpsItemCommand({ OpsItemId, Status: 'InProgress' }));
    await stage.cloud.settle();
    const event = delivered((e) => e['detail-type'] === 'OpsItem Update' && JSON.stringify(e.detail).includes(OpsItemId!) && JSON.stringify(e.detail).includes('InProgress'));

    // Act: the update again, twice at once, then once more; then the clock runs the execution.
    await redeliver('automation-trigger', [[event, event], [event]]);
    await stage.cloud.advance('10m');

    // Assess
    const { executions } = await c.executions.list({ limit: 100 });
    expect(executions.filter((e) => e.triggeredBy === 'automation:stale-volume-remediation')).toHaveLength(1);
    expect([calls('ec2', 'CreateSnapshot'), calls('ec2', 'DeleteVolume')]).toEqual([1, 1]);
    expect((await c.ssm.send(new GetOpsItemCommand({ OpsItemId }))).OpsItem?.Status).toBe('Resolved');
  });
});

describe('runbook-worker: requests and dispatches twice and out of order', () => {
  it('starts one execution per request event ID and per idempotency key, and stops each instance once', async () => {
    // Prepare: a request without a key (its event ID is the key), as the bus delivered it.
    const bus = eventBusName(stage.tableName);
    const [one, two] = [await instanceId('dup-2'), await instanceId('dup-3')];
    stage.cloud.bus.publish({
      source: 'opsauto.runbooks',
      detailType: 'Runbook Execution Requested',
      detail: { documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: [one] } },
      account: DEFAULT_ACCOUNT,
      region: 'us-east-1',
      bus,
    });
    await stage.cloud.settle();
    const byId = delivered((e) => e['detail-type'] === 'Runbook Execution Requested' && JSON.stringify(e.detail).includes(one));
    // And a request with a key, put three times by its producer (three event IDs).
    const keyed = { documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: [two] }, idempotencyKey: 'dup-stop-two' };
    for (let i = 0; i < 3; i++) stage.cloud.bus.publish({ source: 'opsauto.runbooks', detailType: 'Runbook Execution Requested', detail: keyed, account: DEFAULT_ACCOUNT, region: 'us-east-1', bus });
    await stage.cloud.settle();
    const keyedId = executionIdFor('dup-stop-two');
    const dispatch = { version: '0', id: 'dispatch-1', 'detail-type': 'Runbook Execution Dispatched', source: 'opsauto.runbooks', account: DEFAULT_ACCOUNT, time: stage.cloud.clock.now().toISOString(), region: 'us-east-1', resources: [], detail: { executionIds: [keyedId] } };

    // Act: the first request again, three at once; the dispatch of the keyed one three times (two at once) while its
    // instance is stopping; then the clock runs the wake-ups.
    await redeliver('runbook-worker', [[byId, byId, byId], [dispatch, dispatch], [dispatch]]);
    await stage.cloud.advance('10m');

    // Assess
    const { executions } = await c.executions.list({ limit: 100 });
    const mine = executions.filter((e) => JSON.stringify(e).includes('AWS-StopEC2Instance'));
    expect(mine.map((e) => e.executionId)).toContain(keyedId);
    expect(mine).toHaveLength(2);
    for (const e of mine) expect((await c.executions.get(e.executionId))?.execution.status).toBe('Success');
    expect(calls('ec2', 'StopInstances')).toBe(2);
  });
});

describe('scheduled jobs: the same scheduled invocation three times', () => {
  const scheduled = (trigger: string, id: string) => ({ ...(JSON.parse(scheduledEventInput('us-east-1', DEFAULT_ACCOUNT, trigger)) as Record<string, unknown>), id, time: stage.cloud.clock.now().toISOString().replace(/\.\d{3}Z$/, 'Z') });

  it('stale-volume-scan files each stale volume once', async () => {
    // Prepare: two volumes, first seen, then stale.
    stage.cloud.seed({ regions: { 'us-east-1': { volumes: [{ size: 11, type: 'gp3', tags: { Name: 'dup-orphan-1' } }, { size: 12, type: 'gp3', tags: { Name: 'dup-orphan-2' } }] } } });
    await stage.cloud.lambda.invoke('stale-volume-scan', {}, 'test');
    await stage.cloud.advance('P2D');
    const event = scheduled('daily', '6f1d3a2e-0000-4000-8000-00000000d0a1');
    // Act: three copies, two at once.
    const out = (await redeliver('stale-volume-scan', [[event, event], [event]])) as { summary: { totals: Record<string, number> } }[];
    // Assess
    expect(out.reduce((n, o) => n + o.summary.totals.filed, 0)).toBe(2);
    expect(calls('ssm', 'CreateOpsItem')).toBe(2);
    const items = await opsautoItems(c.ssm);
    expect(new Set(items.map((i) => /vol-\w+/.exec(i.Title!)?.[0])).size).toBe(items.length);
  });

  it('param-expiry-sweep sends each due reminder once, and the owner one digest', async () => {
    // Prepare: a parameter whose expiry tag puts a reminder due now (15 days ahead).
    const NAME = '/dup/cert';
    const expires = new Date(stage.cloud.clock.nowMs() + 10 * 86_400_000).toISOString().slice(0, 10);
    await c.ssm.send(new PutParameterCommand({ Name: NAME, Value: 'v', Type: 'String', Tags: [{ Key: 'owner', Value: 'pki' }, { Key: 'opsauto:expires-at', Value: expires }] }));
    const event = scheduled('daily', '6f1d3a2e-0000-4000-8000-00000000d0a2');
    // Act
    await redeliver('param-expiry-sweep', [[event, event], [event]]);
    // Assess
    const messages = await snsMessages(stage, stage.topics.notification);
    expect(noticesAbout(messages, NAME)).toHaveLength(1);
    expect(messages.filter((m) => m.subject?.endsWith('(pki)') && m.message.includes(NAME))).toHaveLength(1);
  });

  it('activation-sweep deletes a used activation and records its node once', async () => {
    // Prepare: an activation issued through the API, and a node registered with it.
    const { token } = await createToken(stage, c.tokens, 'dup-sweep', 5);
    const issued = await postActivation(stage, token, 'dup-sweep-1', 'dup-sweep-boot-1');
    const res = await fetch(`${stage.cloud.url}/_localcloud/ssm/register`, {
      method: 'POST',
      body: JSON.stringify({ activationId: issued.body.activationId, activationCode: issued.body.activationCode, region: 'us-east-1', hostname: 'dup-sweep-1' }),
    });
    expect(res.status).toBe(200);
    stage.cloud.calls.reset();
    const event = scheduled('sweep', '6f1d3a2e-0000-4000-8000-00000000d0a3');
    // Act
    const out = (await redeliver('activation-sweep', [[event, event], [event]])) as { summary: Record<string, unknown> }[];
    // Assess: the activation is gone and no copy failed; the copy after the others found nothing left to do. (Two
    // copies at once both count the node: the summaries' counts, not the effects, are doubled; see the report.)
    expect(out.map((o) => o.summary.failed)).toEqual([0, 0, 0]);
    expect(out[2].summary).toMatchObject({ open: 0, registered: 0, deleted: 0 });
    expect(out.some((o) => o.summary.registered === 1 && o.summary.deleted === 1)).toBe(true);
    expect(await activationHosts(c.ssm)).not.toContain('dup-sweep-1');
  });
});

describe('activations API: POST /activations retried with the same idempotency key', () => {
  it('issues one activation, and answers every retry with it or, while the first is served, 503 with Retry-After', async () => {
    // Prepare
    const { token, id } = await createToken(stage, c.tokens, 'dup', 5);
    // Act: three at once, then two more.
    const first = await Promise.all([0, 1, 2].map(() => postActivation(stage, token, 'dup-node-1', 'dup-boot-1')));
    const later = [await postActivation(stage, token, 'dup-node-1', 'dup-boot-1'), await postActivation(stage, token, 'dup-node-1', 'dup-boot-1')];
    deliveries += first.length + later.length;
    // Assess: at once, one is served and the others told it is in progress (docs/activations.md); later, the same answer.
    const served = [...first, ...later].filter((a) => a.status === 200);
    const waiting = first.filter((a) => a.status !== 200);
    expect(waiting.map((a) => [a.status, a.body.error, a.retryAfter])).toEqual(waiting.map(() => [503, 'RequestInProgress', '1']));
    expect(later.map((a) => a.status)).toEqual([200, 200]);
    expect(new Set(served.map((a) => a.body.activationId)).size).toBe(1);
    expect(new Set(served.map((a) => a.body.activationCode)).size).toBe(1);
    expect(calls('ssm', 'CreateActivation')).toBe(1);
    expect(await activationHosts(c.ssm)).toEqual(['dup-node-1']);
    expect((await c.tokens.get(id))?.uses).toBe(1);
  });
});
