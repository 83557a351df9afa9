import { describe, expect, it } from 'vitest';
import { missingCalls, stepApiCalls, type RunbookStep } from '@opsauto/core';
import { emulatedOperations } from '@opsauto/localcloud';

const step = (action: string, inputs: Record<string, unknown>) => ({ action, inputs }) as unknown as RunbookStep;

describe('stepApiCalls', () => {
  it('names executeAwsApi and property checks by Service and Api, and built-in actions by their calls', () => {
    expect(stepApiCalls(step('aws:executeAwsApi', { Service: 'RDS', Api: 'stop_db_instance' }))).toEqual({ kind: 'calls', calls: ['rds:StopDbInstance'] });
    expect(stepApiCalls(step('aws:waitForAwsResourceProperty', { Service: 'ec2', Api: 'DescribeVolumes' }))).toEqual({ kind: 'calls', calls: ['ec2:DescribeVolumes'] });
    expect(stepApiCalls(step('aws:changeInstanceState', { DesiredState: 'stopped' }))).toEqual({ kind: 'calls', calls: ['ec2:DescribeInstances', 'ec2:StopInstances'] });
    expect(stepApiCalls(step('aws:approve', { Approvers: ['a'], NotificationArn: 'arn:aws:sns:us-east-1:000000000000:t' }))).toEqual({ kind: 'calls', calls: ['sns:Publish'] });
    expect(stepApiCalls(step('aws:approve', { Approvers: ['a'] }))).toEqual({ kind: 'calls', calls: [] });
    expect(stepApiCalls(step('aws:executeAutomation', { DocumentName: 'AWS-StopEC2Instance' }))).toEqual({ kind: 'child', documentName: 'AWS-StopEC2Instance' });
    expect(stepApiCalls(step('aws:runCommand', { DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-1'] }))).toEqual({
      kind: 'calls',
      calls: ['ssm:SendCommand', 'ssm:ListCommands', 'ssm:ListCommandInvocations'],
    });
    expect(stepApiCalls(step('aws:invokeLambdaFunction', { FunctionName: 'fn' }))).toEqual({ kind: 'calls', calls: ['lambda:Invoke'] });
  });

  it('finds the calls of aws:runCommand and aws:invokeLambdaFunction among the operations localcloud serves', () => {
    const served = emulatedOperations();
    for (const action of ['aws:runCommand', 'aws:invokeLambdaFunction']) {
      const calls = stepApiCalls(step(action, {}));
      expect(calls.kind).toBe('calls');
      expect(missingCalls((calls as { calls: string[] }).calls, served)).toEqual([]);
    }
  });

  it('says why when the calls cannot be known before the step runs', () => {
    expect(stepApiCalls(step('aws:executeAwsApi', { Service: 'ec2', Api: '{{ Api }}' }))).toEqual({ kind: 'unchecked', reason: 'Service/Api are interpolated' });
    expect(stepApiCalls(step('aws:executeAutomation', { DocumentName: '{{ Doc }}' }))).toEqual({ kind: 'unchecked', reason: 'DocumentName is interpolated' });
    expect(stepApiCalls(step('aws:somethingNew', {}))).toEqual({ kind: 'unchecked', reason: 'the calls of aws:somethingNew are not known to this check' });
  });

  it("lists the boto3 calls an executeScript step's text shows, and says when it shows none", () => {
    const script = [
      'import boto3',
      "ec2 = boto3.client('ec2')",
      'rds_client = boto3.client("rds", region_name=event["region"])',
      'def handler(event, context):',
      "    for page in ec2.get_paginator('describe_snapshots').paginate(OwnerIds=['self']):",
      "        ec2.modify_snapshot_attribute(SnapshotId=page['x'], Attribute='createVolumePermission')",
      "    rds_client.describe_db_instances(DBInstanceIdentifier=event['db'])",
      "    boto3.client('s3').put_bucket_versioning(Bucket='b')",
    ].join('\n');
    expect(stepApiCalls(step('aws:executeScript', { Runtime: 'python3.11', Handler: 'handler', Script: script }))).toEqual({
      kind: 'calls',
      calls: ['ec2:DescribeSnapshots', 'ec2:ModifySnapshotAttribute', 'rds:DescribeDbInstances', 's3:PutBucketVersioning'],
    });
    expect(stepApiCalls(step('aws:executeScript', { Runtime: 'python3.11', Handler: 'h', Script: 'def h(e, c):\n    return {"x": 1}' }))).toEqual({
      kind: 'unchecked',
      reason: 'script: not checked (no boto3 client calls found in its text)',
    });
  });
});

describe('missingCalls', () => {
  it('compares without case, so boto3 names meet the APIs as AWS spells them', () => {
    expect(missingCalls(['rds:DescribeDbInstances', 'ec2:CopySnapshot'], ['rds:DescribeDBInstances', 'ec2:DescribeVolumes'])).toEqual(['ec2:CopySnapshot']);
  });
});
