import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, CreateSnapshotCommand, CreateVolumeCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, EC2Client, ModifySnapshotAttributeCommand } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateDBSnapshotCommand, DescribeDBInstancesCommand, ModifyDBInstanceCommand, ModifyDBSnapshotAttributeCommand, RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateDocumentCommand, ModifyDocumentPermissionCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { eventBridgeDispatch } from '@opsauto/aws/runbooks';
import { defineConfig, executionIdFor, parseRunbook, signalExecution, type Execution } from '@opsauto/core';
import { eventBusName } from '@opsauto/functions';
import { DEFAULT_ACCOUNT } from '@opsauto/localcloud';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';
import { CORPUS_CASES, type Clients, type CorpusCase, type Seeded } from '../runbook-corpus/cases.js';
import { CORPUS_ENV, CORPUS_PREFIX, corpusDir, surveyCorpus, type SurveyedDocument } from '../runbook-corpus/survey.js';

// The corpus of AWS-authored runbooks, unmodified: the AWS-owned documents committed under test/fixtures/runbooks, and
// the local corpus OPSAUTO_RUNBOOK_CORPUS names when set (not in the repository; docs/runbook-survey.md says how to
// rebuild it). Every document present loads or is refused with a message naming what it refuses; every one in scope
// (all its APIs in the covered services) runs on the local stage against a seeded fleet, and its effect is checked
// with the SDK. The rows of test/runbook-corpus/cases.ts say which pass today; the rows of the documents present apply,
// and an outcome that differs from its row fails the test, in either direction.

const REGION = 'us-east-1';
const ROLE_ARN = `arn:aws:iam::${DEFAULT_ACCOUNT}:role/CorpusAutomationRole`;
const config = defineConfig({ regions: [REGION] });
config.runbooks.allowedRunbooks = [...config.runbooks.allowedRunbooks, 'AWS-TerminateEC2Instance', ...CORPUS_CASES.map((c) => c.name)];
config.runbooks.assumeRoles = [ROLE_ARN];

const INSTANCE_KEYS = ['stop', 'start', 'restart', 'terminate', 'image', 'imds', 'imds2', 'approve-stop', 'approve-start', 'approve-terminate', 'approve-restart'];
const DB_KEYS = ['stop', 'public', 'multiaz', 'copytags', 'protect', 'backup', 'snapshots'];
const BUCKET_KEYS = ['keys', 'versioning', 'versioning2', 'encryption', 'pab', 'ssl'];

let stage: Stage;
let store: DynamoExecutionStore;
let clients: Clients;
let seeded: Seeded;
let docs: SurveyedDocument[];
/** The case rows whose document is present. */
let cases: CorpusCase[];

beforeAll(async () => {
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  docs = await surveyCorpus();
  cases = CORPUS_CASES.filter((c) => docs.some((d) => d.file === c.file));
  const local = corpusDir();
  const committed = docs.filter((d) => !d.file.startsWith(CORPUS_PREFIX)).length;
  console.log(
    `corpus: ${committed} committed AWS-owned documents (test/fixtures/runbooks)${local ? ` + ${docs.length - committed} of the local corpus ${local}` : ` only (${CORPUS_ENV} not set)`}; ${cases.length} of ${CORPUS_CASES.length} case rows apply`,
  );
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed({
    regions: {
      [REGION]: {
        images: [{ name: 'corpus-base' }, { name: 'corpus-delete' }],
        instances: INSTANCE_KEYS.map((k) => ({ image: 'corpus-base', type: 't3.micro', tags: { Name: `corpus-${k}` } })),
        dbInstances: DB_KEYS.map((k) => ({ identifier: `corpus-${k}` })),
        dbClusters: [{ identifier: 'corpus-cluster', engine: 'aurora-postgresql' }],
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
  // A snapshot shared with everyone (createVolumePermission group all), for MakeEBSSnapshotsPrivate.
  const publicSnapshot = (await clients.ec2.send(new CreateSnapshotCommand({ VolumeId: volume.VolumeId!, Description: 'corpus public' }))).SnapshotId!;
  // DB snapshots of the 'snapshots' instance: one public (restore shared with all), one plain to copy encrypted.
  for (const id of ['corpus-public-snapshot', 'corpus-plain-snapshot']) await clients.rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'corpus-snapshots', DBSnapshotIdentifier: id }));
  // The 'public' DB instance is publicly accessible, for DisablePublicAccessToRDSInstance to change (modifying, then available).
  await clients.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'corpus-public', PubliclyAccessible: true, ApplyImmediately: true }));
  await stage.cloud.advance('10m');
  await clients.ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: publicSnapshot, Attribute: 'createVolumePermission', OperationType: 'add', GroupNames: ['all'] }));
  await clients.rds.send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: 'corpus-public-snapshot', AttributeName: 'restore', ValuesToAdd: ['all'] }));
  // Security groups of the default VPC: its default group, and one open to the world on SSH and RDP.
  const defaultGroup = (await clients.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['default'] }] }))).SecurityGroups![0].GroupId!;
  const openGroup = (await clients.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'corpus-ssh-open', Description: 'open to the world on high-risk ports' }))).GroupId!;
  await clients.ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: openGroup,
      IpPermissions: [22, 3389].map((port) => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: '0.0.0.0/0' }] })),
    }),
  );
  const groups = new Map([['default', defaultGroup], ['ssh-open', openGroup]]);
  // A default subnet (it maps public IPs on launch), for DisablePublicIPAutoAssign.
  const subnet = (await clients.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets![0].SubnetArn!;
  // A Command document of the account shared with everyone, for BlockSSMDocumentPublicAccess.
  await clients.ssm.send(
    new CreateDocumentCommand({
      Name: 'Corpus-SharedDocument',
      DocumentType: 'Command',
      Content: JSON.stringify({ schemaVersion: '2.2', description: 'shared', mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand: ['true'] } }] }),
    }),
  );
  await clients.ssm.send(new ModifyDocumentPermissionCommand({ Name: 'Corpus-SharedDocument', PermissionType: 'Share', AccountIdsToAdd: ['all'] }));
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
    securityGroup: get(groups, 'security group'),
    snapshot: get(new Map([['backup', backupSnapshot], ['public', publicSnapshot]]), 'snapshot'),
    dbSnapshot: (key) => `corpus-${key}-snapshot`,
    dbCluster: (key) => `corpus-${key}`,
    subnetArn: get(new Map([['public', subnet]]), 'subnet'),
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
    expect(cases.map((c) => c.file).sort()).toEqual(inScope.sort());
    expect(docs.filter((d) => !d.file.startsWith(CORPUS_PREFIX)).length).toBeGreaterThanOrEqual(8);
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
    for (const [i, c] of cases.entries()) started.set(c, await start(c, docs.find((d) => d.file === c.file)!, `corpus-${i}`));
    await stage.cloud.settle();
    await stage.cloud.advance('1m');
    // Approval documents: the approver their Approvers parameter names approves, as `opsauto runbook approve` does.
    const dispatch = eventBridgeDispatch(new AwsClients(REGION, clientConfig(stage.cloud, REGION)), eventBusName(stage.tableName));
    for (const c of cases.filter((k) => k.approver)) {
      const s = started.get(c)!;
      if ('why' in s) continue;
      const waiting = (await store.get(s.id))?.execution.steps.find((step) => step.status === 'Waiting' && step.action === 'aws:approve');
      if (waiting) await signalExecution(s.id, { kind: 'Approve', at: stage.cloud.clock.now().toISOString(), approver: c.approver! }, { store, dispatch });
    }
    await stage.cloud.settle();
    const longest = cases.some((c) => c.advance === '30m') ? '30m' : '15m';
    await stage.cloud.advance(longest);
    // Assess
    const rows: string[] = [];
    const wrong: string[] = [];
    let passed = 0;
    for (const c of cases) {
      const o = await outcome(c, started.get(c)!);
      if (o.passed) passed++;
      const expected = c.expect === 'pass';
      rows.push(`${o.passed ? 'PASS' : 'FAIL'} ${c.file}${o.passed ? '' : ` — ${o.why}`}`);
      if (o.passed && !expected) wrong.push(`${c.file} now passes: mark it 'pass' in test/runbook-corpus/cases.ts (was expected to fail: ${(c.expect as { fail: string }).fail})`);
      if (!o.passed && expected) wrong.push(`${c.file} no longer passes: ${o.why}`);
    }
    console.log(`runs: ${passed}/${cases.length} (${corpusDir() ? `with the local corpus ${corpusDir()}` : 'committed documents only'})\n${rows.join('\n')}`);
    expect(wrong).toEqual([]);
    // Generous: a few dozen documents, a third of them starting Python scripts, on a machine that may be shared.
  }, 300_000);
});
