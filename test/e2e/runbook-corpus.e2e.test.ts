import { CreateSnapshotCommand, CreateVolumeCommand, DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateDocumentCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { eventBridgeDispatch } from '@opsauto/aws/runbooks';
import { defineConfig, executionIdFor, parseRunbook, signalExecution, type Execution } from '@opsauto/core';
import { eventBusName } from '@opsauto/functions';
import { DEFAULT_ACCOUNT } from '@opsauto/localcloud';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';
import { CORPUS_CASES, type Clients, type CorpusCase, type Seeded } from '../runbook-corpus/cases.js';
import { surveyCorpus, type SurveyedDocument } from '../runbook-corpus/survey.js';

// The corpus of AWS-authored runbooks (test/fixtures/runbooks, provenance in test/fixtures/SOURCES.md), unmodified:
// every document loads or is refused with a message naming what it refuses; every document in scope (all its APIs in
// the covered services) runs on the local stage against a seeded fleet, and its effect is checked with the SDK. The
// rows of test/runbook-corpus/cases.ts say which pass today; an outcome that differs from its row fails the test, in
// either direction.

const REGION = 'us-east-1';
const ROLE_ARN = `arn:aws:iam::${DEFAULT_ACCOUNT}:role/CorpusAutomationRole`;
const config = defineConfig({ regions: [REGION] });
config.runbooks.allowedRunbooks = [...config.runbooks.allowedRunbooks, 'AWS-TerminateEC2Instance', ...CORPUS_CASES.map((c) => c.name)];
config.runbooks.assumeRoles = [ROLE_ARN];

const INSTANCE_KEYS = ['stop', 'start', 'restart', 'terminate', 'image', 'imds', 'imds2', 'approve-stop', 'approve-start', 'approve-terminate', 'approve-restart'];
const DB_KEYS = ['stop', 'public', 'multiaz', 'copytags', 'protect', 'backup'];
const BUCKET_KEYS = ['keys', 'versioning', 'versioning2', 'encryption', 'pab', 'ssl'];

let stage: Stage;
let store: DynamoExecutionStore;
let clients: Clients;
let seeded: Seeded;
let docs: SurveyedDocument[];

beforeAll(async () => {
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  docs = await surveyCorpus();
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed({
    regions: {
      [REGION]: {
        images: [{ name: 'corpus-base' }, { name: 'corpus-delete' }],
        instances: INSTANCE_KEYS.map((k) => ({ image: 'corpus-base', type: 't3.micro', tags: { Name: `corpus-${k}` } })),
        dbInstances: DB_KEYS.map((k) => ({ identifier: `corpus-${k}` })),
        buckets: BUCKET_KEYS.map((k) => ({ name: `corpus-${k}` })),
      },
    },
  });
  const cfg = clientConfig(stage.cloud, REGION);
  clients = { ec2: new EC2Client(cfg), rds: new RDSClient(cfg), s3: new S3Client({ ...cfg, forcePathStyle: true }), sns: new SNSClient(cfg), ssm: new SSMClient(cfg) };
  store = new DynamoExecutionStore(new AwsClients(REGION, cfg), stage.tableName);

  const instances = new Map<string, string>();
  for (const r of (await clients.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: INSTANCE_KEYS.map((k) => `corpus-${k}`) }] }))).Reservations ?? []) {
    for (const i of r.Instances ?? []) instances.set(i.Tags!.find((t) => t.Key === 'Name')!.Value!.slice('corpus-'.length), i.InstanceId!);
  }
  const images = new Map(((await clients.ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).map((i) => [i.Name!.slice('corpus-'.length), i.ImageId!]));
  const dbs = new Map(
    ((await clients.rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).map((d) => [d.DBInstanceIdentifier!.slice('corpus-'.length), { id: d.DBInstanceIdentifier!, resourceId: d.DbiResourceId!, arn: d.DBInstanceArn! }]),
  );
  const topics = new Map<string, string>();
  // AWS's approval documents ask for a topic whose name starts with Automation.
  for (const [key, name] of [['encrypt', 'corpus-encrypt'], ['approval', 'Automation-corpus-approvals']]) topics.set(key, (await clients.sns.send(new CreateTopicCommand({ Name: name }))).TopicArn!);
  const volume = await clients.ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${REGION}a`, Size: 8, VolumeType: 'gp3' }));
  await stage.cloud.advance('1m');
  const backupSnapshot = (await clients.ec2.send(new CreateSnapshotCommand({ VolumeId: volume.VolumeId!, Description: 'corpus backup' }))).SnapshotId!;
  await stage.cloud.advance('10m');
  const get = <T>(map: Map<string, T>, what: string) => (key: string) => {
    const found = map.get(key);
    if (found === undefined) throw new Error(`no seeded ${what} ${key}`);
    return found;
  };
  seeded = {
    account: DEFAULT_ACCOUNT,
    region: REGION,
    roleArn: ROLE_ARN,
    instance: get(instances, 'instance'),
    image: get(images, 'image'),
    db: get(dbs, 'DB instance'),
    bucket: (key) => `corpus-${key}`,
    topic: get(topics, 'topic'),
    // None of these is emulated yet (their cases are expected to fail): well-formed identifiers of nothing.
    securityGroup: () => 'sg-0123456789abcdef0',
    subnetArn: () => `arn:aws:ec2:${REGION}:${DEFAULT_ACCOUNT}:subnet/subnet-0123456789abcdef0`,
    // 'public': a public snapshot needs ModifySnapshotAttribute, not emulated yet; 'backup' is a real one.
    snapshot: (key) => (key === 'backup' ? backupSnapshot : 'snap-0123456789abcdef0'),
    documentArn: () => `arn:aws:ssm:${REGION}:${DEFAULT_ACCOUNT}:document/Corpus-SharedDocument`,
  };
}, 120_000);

afterAll(async () => {
  await stage?.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
});

type Outcome = { passed: true } | { passed: false; why: string };

/** Creates the document (unless AWS-owned), asks for an execution on opsauto's bus; returns its ID or why it could not start. */
async function start(c: CorpusCase, doc: SurveyedDocument, key: string): Promise<{ id: string } | { why: string }> {
  try {
    parseRunbook(doc.text, { name: c.name });
  } catch (e) {
    return { why: `refused at load: ${(e as Error).message.replace(/\s+/g, ' ')}` };
  }
  if (!c.name.startsWith('AWS-')) {
    const format = doc.file.endsWith('.json') ? 'JSON' : 'YAML';
    await clients.ssm.send(new CreateDocumentCommand({ Name: c.name, DocumentType: 'Automation', DocumentFormat: format, Content: doc.text }));
  }
  const out = await new EventBridgeClient(clientConfig(stage.cloud, REGION)).send(
    new PutEventsCommand({
      Entries: [{ Source: 'opsauto.runbooks', DetailType: 'Runbook Execution Requested', Detail: JSON.stringify({ documentName: c.name, parameters: c.parameters(seeded), idempotencyKey: key }), EventBusName: eventBusName(stage.tableName) }],
    }),
  );
  expect(out.FailedEntryCount).toBe(0);
  return { id: executionIdFor(key) };
}

async function outcome(c: CorpusCase, started: { id: string } | { why: string }): Promise<Outcome> {
  if ('why' in started) return { passed: false, why: started.why };
  const loaded = await store.get(started.id);
  if (!loaded) return { passed: false, why: `no execution was created (worker failures: ${JSON.stringify(stage.cloud.lambda.failures.slice(-1))})` };
  const e: Execution = loaded.execution;
  if (e.status !== 'Success') return { passed: false, why: `ended ${e.status}: ${e.failureMessage ?? e.steps.map((s) => `${s.name}:${s.status}`).join(', ')}` };
  try {
    await c.effect(clients, seeded);
  } catch (err) {
    return { passed: false, why: `Success, but the effect is missing: ${(err as Error).message}` };
  }
  return { passed: true };
}

describe('the corpus of AWS-authored runbooks', () => {
  it('has one case row for every document in scope, and none for a document out of scope', () => {
    const inScope = docs.filter((d) => d.outOfScopeServices.length === 0 && !d.parseError).map((d) => d.file);
    expect(CORPUS_CASES.map((c) => c.file).sort()).toEqual(inScope.sort());
    expect(docs.length).toBeGreaterThanOrEqual(25);
  });

  it('loads every document, or refuses it naming the step or parameter and what is refused', () => {
    const refusals: string[] = [];
    for (const d of docs) {
      expect(d.missingScripts, d.file).toEqual([]);
      try {
        parseRunbook(d.text, { name: d.file });
      } catch (e) {
        const message = (e as Error).message;
        // Each problem line names where (mainSteps[i] (name)…, parameters.X…, outputs[i]) and what.
        const lines = message.split('\n').slice(1);
        expect(lines.length, message).toBeGreaterThan(0);
        for (const line of lines) expect(line, d.file).toMatch(/^\s+(mainSteps\[\d+\] \([^)]+\)|parameters\.\w+|outputs\[\d+\]|assumeRole)[^:]*: \S.{10,}/);
        refusals.push(`${d.file}: ${lines.map((l) => l.trim()).join(' | ')}`);
      }
    }
    console.log(`refused at load: ${refusals.length}/${docs.length}\n${refusals.join('\n')}`);
  });

  it('runs every document in scope end to end and checks its effect; passing and expected-to-fail rows stay true', async () => {
    // Prepare / Act: every case starts at once on the shared stage; the virtual clock then runs them all.
    const started = new Map<CorpusCase, { id: string } | { why: string }>();
    for (const [i, c] of CORPUS_CASES.entries()) started.set(c, await start(c, docs.find((d) => d.file === c.file)!, `corpus-${i}`));
    await stage.cloud.settle();
    await stage.cloud.advance('1m');
    // Approval documents: the approver their Approvers parameter names approves, as `opsauto runbook approve` does.
    const dispatch = eventBridgeDispatch(new AwsClients(REGION, clientConfig(stage.cloud, REGION)), eventBusName(stage.tableName));
    for (const c of CORPUS_CASES.filter((k) => k.approver)) {
      const s = started.get(c)!;
      if ('why' in s) continue;
      const waiting = (await store.get(s.id))?.execution.steps.find((step) => step.status === 'Waiting' && step.action === 'aws:approve');
      if (waiting) await signalExecution(s.id, { kind: 'Approve', at: stage.cloud.clock.now().toISOString(), approver: c.approver! }, { store, dispatch });
    }
    await stage.cloud.settle();
    const longest = CORPUS_CASES.some((c) => c.advance === '30m') ? '30m' : '15m';
    await stage.cloud.advance(longest);
    // Assess
    const rows: string[] = [];
    const wrong: string[] = [];
    let passed = 0;
    for (const c of CORPUS_CASES) {
      const o = await outcome(c, started.get(c)!);
      if (o.passed) passed++;
      const expected = c.expect === 'pass';
      rows.push(`${o.passed ? 'PASS' : 'FAIL'} ${c.file}${o.passed ? '' : ` — ${o.why}`}`);
      if (o.passed && !expected) wrong.push(`${c.file} now passes: mark it 'pass' in test/runbook-corpus/cases.ts (was expected to fail: ${(c.expect as { fail: string }).fail})`);
      if (!o.passed && expected) wrong.push(`${c.file} no longer passes: ${o.why}`);
    }
    console.log(`runs: ${passed}/${CORPUS_CASES.length}\n${rows.join('\n')}`);
    expect(wrong).toEqual([]);
  });
});
