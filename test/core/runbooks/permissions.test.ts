import { readFileSync } from 'node:fs';
import {
  CreateImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  EC2Client,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { AddTagsToResourceCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AwsClients } from '@opsauto/aws';
import { AwsActionRunner } from '@opsauto/aws/runbooks';
import { ValidationError, type ActionContext } from '@opsauto/core';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseRunbook, type Runbook } from '../../../packages/core/src/runbooks/document.js';
import { BUILT_IN_ACTION_CALLS, RunbookPermissionsError, runbookIamActions } from '../../../packages/core/src/runbooks/permissions.js';

const FIXTURES = new URL('../../fixtures/runbooks/', import.meta.url);
const RUNBOOKS = new URL('../../../runbooks/', import.meta.url);
const load = (dir: URL, file: string) => parseRunbook(readFileSync(new URL(file, dir), 'utf8'), { name: file });
/** A runbook of `steps`, with String parameters for the references the tests use. */
const doc = (steps: Record<string, unknown>[]): Runbook =>
  parseRunbook(
    JSON.stringify({
      schemaVersion: '0.3',
      parameters: Object.fromEntries(['Service', 'Api', 'Doc', 'State'].map((p) => [p, { type: 'String', default: 'x' }])),
      mainSteps: steps,
    }),
  );

describe('runbookIamActions', () => {
  it.each([
    ['AWS-StopEC2Instance.json', ['ec2:DescribeInstances', 'ec2:StopInstances']],
    ['AWS-StartEC2Instance.json', ['ec2:DescribeInstanceStatus', 'ec2:DescribeInstances', 'ec2:StartInstances']],
    ['AWS-RestartEC2Instance.json', ['ec2:DescribeInstanceStatus', 'ec2:DescribeInstances', 'ec2:StartInstances', 'ec2:StopInstances']],
    ['AWS-TerminateEC2Instance.json', ['ec2:DescribeInstances', 'ec2:TerminateInstances']],
    ['AWS-CreateImage.json', ['ec2:CreateImage', 'ec2:CreateTags', 'ec2:DescribeImages']],
    ['AWS-DeleteImage.json', ['ec2:DeleteSnapshot', 'ec2:DeregisterImage', 'ec2:DescribeImages']],
    ['AWS-StopRdsInstance.yaml', ['rds:DescribeDBInstances', 'rds:StopDBInstance']],
    // GetBucketEncryption / PutBucketEncryption are authorised by the *EncryptionConfiguration actions.
    ['AWS-EnableS3BucketKeys.yml', ['s3:GetEncryptionConfiguration', 's3:PutEncryptionConfiguration']],
  ])('derives exactly the actions %s calls when its steps are read', (file, expected) => {
    // Prepare
    const runbook = load(FIXTURES, file);

    // Act
    const actions = runbookIamActions(runbook);

    // Assess
    expect(actions).toEqual(expected);
  });

  it.each([
    ['opsauto-DeleteVolume.yaml', ['ec2:DeleteVolume', 'ec2:DescribeVolumes']],
    ['opsauto-SnapshotThenDeleteVolume.yaml', ['ec2:CreateSnapshot', 'ec2:DeleteVolume', 'ec2:DescribeSnapshots', 'ec2:DescribeVolumes']],
  ])('derives exactly the actions the shipped %s calls when its steps are read', (file, expected) => {
    expect(runbookIamActions(load(RUNBOOKS, file))).toEqual(expected);
  });

  it('maps boto3 snake_case Api names to the IAM action when a document uses them', () => {
    const runbook = doc([{ name: 'stop', action: 'aws:executeAwsApi', inputs: { Service: 'rds', Api: 'stop_db_instance', DBInstanceIdentifier: 'db' } }]);

    expect(runbookIamActions(runbook)).toEqual(['rds:StopDbInstance']);
  });

  it('grants every state change when DesiredState is interpolated', () => {
    const runbook = doc([{ name: 'change', action: 'aws:changeInstanceState', inputs: { InstanceIds: ['i-1'], DesiredState: '{{ State }}' } }]);

    expect(runbookIamActions(runbook)).toEqual([
      'ec2:DescribeInstanceStatus',
      'ec2:DescribeInstances',
      'ec2:StartInstances',
      'ec2:StopInstances',
      'ec2:TerminateInstances',
    ]);
  });

  it('grants SSM tagging, not EC2 tagging, when aws:createTags tags a parameter', () => {
    const runbook = doc([{ name: 'tag', action: 'aws:createTags', inputs: { ResourceIds: ['/p'], ResourceType: 'Parameter', Tags: [{ Key: 'k', Value: 'v' }] } }]);

    expect(runbookIamActions(runbook)).toEqual(['ssm:AddTagsToResource']);
  });

  it('adds the child runbook actions when aws:executeAutomation names a literal document', () => {
    // Prepare
    const parent = doc([{ name: 'child', action: 'aws:executeAutomation', inputs: { DocumentName: 'AWS-StopRdsInstance' } }]);
    const children: Record<string, Runbook> = { 'AWS-StopRdsInstance': load(FIXTURES, 'AWS-StopRdsInstance.yaml') };

    // Act
    const actions = runbookIamActions(parent, (name) => children[name]);

    // Assess
    expect(actions).toEqual(['rds:DescribeDBInstances', 'rds:StopDBInstance']);
  });

  it('stops at a runbook already on the chain when children start each other', () => {
    const loop = doc([
      { name: 'again', action: 'aws:executeAutomation', inputs: { DocumentName: 'Loop' } },
      { name: 'tag', action: 'aws:createTags', inputs: { ResourceIds: ['i-1'], Tags: [{ Key: 'k', Value: 'v' }] } },
    ]);

    expect(runbookIamActions(loop, () => loop)).toEqual(['ec2:CreateTags']);
  });

  it.each([
    ['an interpolated Service', [{ name: 'call', action: 'aws:executeAwsApi', inputs: { Service: '{{ Service }}', Api: 'DeleteVolume' } }], /step call.*Service and Api must be literal.*role must be given/],
    ['an interpolated Api', [{ name: 'call', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: '{{ Api }}' } }], /step call.*must be literal/],
    ['a service the engine does not call', [{ name: 'call', action: 'aws:executeAwsApi', inputs: { Service: 'iam', Api: 'CreateUser' } }], /step call.*Service "iam" is not one the engine calls/],
    ['an interpolated child DocumentName', [{ name: 'child', action: 'aws:executeAutomation', inputs: { DocumentName: '{{ Doc }}' } }], /step child.*interpolated.*role must be given/],
    ['an unknown child runbook', [{ name: 'child', action: 'aws:executeAutomation', inputs: { DocumentName: 'Nowhere' } }], /child runbook Nowhere is not known/],
  ])('refuses with a clear error naming the step when a document has %s', (_label, steps, message) => {
    // Prepare
    const runbook = doc(steps);

    // Act
    const act = () => runbookIamActions(runbook, () => undefined);

    // Assess
    expect(act).toThrow(RunbookPermissionsError);
    expect(act).toThrow(ValidationError);
    expect(act).toThrow(message);
  });
});

describe('runbookIamActions: aws:approve', () => {
  it('grants sns:Publish to an approval step that names a NotificationArn, and nothing to one that does not', () => {
    // Prepare
    const approve = (inputs: Record<string, unknown>) => doc([{ name: 'approve', action: 'aws:approve', inputs: { Approvers: ['alice'], ...inputs } }]);

    // Act / Assess
    expect(runbookIamActions(approve({ NotificationArn: 'arn:aws:sns:us-east-1:000000000000:approvals' }))).toEqual(['sns:Publish']);
    expect(runbookIamActions(approve({}))).toEqual([]);
  });
});

describe('BUILT_IN_ACTION_CALLS', () => {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  afterEach(() => {
    ec2.reset();
    ssm.reset();
  });
  // The mocks replace the clients' send for the whole process, and test files share worker processes.
  afterAll(() => {
    ec2.restore();
    ssm.restore();
  });

  const context: ActionContext = {
    executionId: 'e1',
    stepName: 's',
    attempt: 1,
    accountId: '123456789012',
    region: 'us-east-1',
    idempotencyToken: 't1',
    now: () => new Date('2026-01-01T00:00:00Z'),
  };

  /** The IAM actions of the calls the runner sent, in the order sent. */
  function sent(): string[] {
    return [
      ...ec2.calls().map((c) => `ec2:${(c.args[0] as object).constructor.name.replace(/Command$/, '')}`),
      ...ssm.calls().map((c) => `ssm:${(c.args[0] as object).constructor.name.replace(/Command$/, '')}`),
    ];
  }

  const runner = () => new AwsActionRunner(new AwsClients('us-east-1'), { pollIntervalMs: 1 });
  const instances = (state: string) => ({ Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: state as 'running' } }] }] });
  const ok = { InstanceStatuses: [{ InstanceId: 'i-1', InstanceStatus: { Status: 'ok' as const }, SystemStatus: { Status: 'ok' as const } }] };

  it.each([
    ['running', 'stopped', () => ec2.on(StartInstancesCommand).resolves({ StartingInstances: [{ InstanceId: 'i-1', CurrentState: { Name: 'running' } }] })],
    ['stopped', 'running', () => ec2.on(StopInstancesCommand).resolves({ StoppingInstances: [{ InstanceId: 'i-1', CurrentState: { Name: 'stopped' } }] })],
    ['terminated', 'running', () => ec2.on(TerminateInstancesCommand).resolves({ TerminatingInstances: [{ InstanceId: 'i-1', CurrentState: { Name: 'terminated' } }] })],
  ] as const)('lists every call aws:changeInstanceState makes when it brings an instance to %s', async (desired, from, change) => {
    // Prepare
    ec2.on(DescribeInstancesCommand).resolves(instances(from));
    ec2.on(DescribeInstanceStatusCommand).resolves(ok);
    change();

    // Act
    const result = await runner().start('aws:changeInstanceState', { InstanceIds: ['i-1'], DesiredState: desired }, context);

    // Assess
    expect(result.kind).toBe('done');
    expect(new Set(sent())).toEqual(new Set(BUILT_IN_ACTION_CALLS['aws:changeInstanceState'][desired].filter((a) => !a.startsWith('ssm:'))));
  });

  it('lists every call aws:createImage makes when it creates a tagged image', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-1' });

    await runner().start('aws:createImage', { InstanceId: 'i-1', ImageName: 'img' }, context);

    // CreateTags is authorised, not called: the tags ride on CreateImage's TagSpecifications.
    const tagged = ec2.commandCalls(CreateImageCommand)[0].args[0].input.TagSpecifications;
    expect(tagged?.[0]?.ResourceType).toBe('image');
    expect([...sent(), 'ec2:CreateTags'].sort()).toEqual([...BUILT_IN_ACTION_CALLS['aws:createImage']].sort());
  });

  it('lists every call aws:deleteImage makes when the image has a snapshot', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-1', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-1' } }] }] });
    ec2.on(DeregisterImageCommand).resolves({});
    ec2.on(DeleteSnapshotCommand).resolves({});

    await runner().start('aws:deleteImage', { ImageId: 'ami-1' }, context);

    expect(sent().sort()).toEqual([...BUILT_IN_ACTION_CALLS['aws:deleteImage']].sort());
  });

  it.each(['EC2', 'Parameter'] as const)('lists the call aws:createTags makes when it tags an %s resource', async (type) => {
    ec2.on(CreateTagsCommand).resolves({});
    ssm.on(AddTagsToResourceCommand).resolves({});

    await runner().start('aws:createTags', { ResourceIds: ['r-1'], ResourceType: type, Tags: [{ Key: 'k', Value: 'v' }] }, context);

    expect(sent()).toEqual(BUILT_IN_ACTION_CALLS['aws:createTags'][type]);
  });
});
