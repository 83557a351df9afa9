import { describe, expect, it } from 'vitest';
import { parseRunbook, RunbookValidationError } from '../../../packages/core/src/runbooks/document.js';
import { RunbookPermissionsError, runbookIamActions, scriptIamActions } from '../../../packages/core/src/runbooks/permissions.js';

// aws:executeScript and aws:invokeLambdaFunction: what a document may say (checked at load) and what its role needs.

const scriptStep = (inputs: Record<string, unknown>) =>
  JSON.stringify({ schemaVersion: '0.3', mainSteps: [{ name: 'run', action: 'aws:executeScript', inputs }] });

function problems(text: string): { path: string; message: string }[] {
  try {
    parseRunbook(text, { name: 'doc' });
  } catch (e) {
    if (e instanceof RunbookValidationError) return e.problems;
    throw e;
  }
  return [];
}

describe('aws:executeScript inputs', () => {
  it('accepts an inline Python script with its handler and an InputPayload mapping', () => {
    expect(problems(scriptStep({ Runtime: 'python3.11', Handler: 'h', Script: 'def h(e, c):\n  return 1', InputPayload: { a: '{{ automation:EXECUTION_ID }}' } }))).toEqual([]);
  });

  it('refuses PowerShell runtimes at load, naming them', () => {
    expect(problems(scriptStep({ Runtime: 'PowerShell 7.4', Script: 'Write-Host hi' }))).toContainEqual({
      path: 'mainSteps[0] (run).inputs.Runtime',
      message: expect.stringMatching(/^PowerShell 7\.4 is a PowerShell runtime: opsauto runs Python scripts only \(python3\.6, .*python3\.11\)$/),
    });
    expect(problems(scriptStep({ Runtime: 'PowerShell Core 6.0', Script: 'x' }))[0].message).toMatch(/PowerShell runtime/);
  });

  it('refuses a runtime SSM does not accept and a script attached to the document', () => {
    expect(problems(scriptStep({ Runtime: 'python2.7', Handler: 'h', Script: 'x' }))).toEqual([
      { path: 'mainSteps[0] (run).inputs.Runtime', message: expect.stringMatching(/^must be one of the Python runtimes aws:executeScript accepts .* not python2\.7$/) },
    ]);
    expect(problems(scriptStep({ Runtime: 'python3.8', Handler: 'h.main', Attachment: 'scripts.zip' }))).toEqual([
      { path: 'mainSteps[0] (run).inputs.Attachment', message: 'scripts attached to the document (Attachment) are not supported: put the script inline in Script' },
    ]);
  });

  it('requires Handler and Script', () => {
    expect(problems(scriptStep({ Runtime: 'python3.8' })).map((p) => p.path)).toEqual(['mainSteps[0] (run).inputs.Script', 'mainSteps[0] (run).inputs.Handler']);
  });

  it('offers Payload and ExecutionLog as outputs, and selectors over $.Payload', () => {
    const text = JSON.stringify({
      schemaVersion: '0.3',
      mainSteps: [
        { name: 'run', action: 'aws:executeScript', inputs: { Runtime: 'python3.11', Handler: 'h', Script: 'x' }, outputs: [{ Name: 'Count', Selector: '$.Payload.count', Type: 'Integer' }] },
        { name: 'next', action: 'aws:sleep', inputs: { Duration: 'PT1S' } },
      ],
      outputs: ['run.Payload', 'run.ExecutionLog', 'run.Count'],
    });
    expect(problems(text)).toEqual([]);
  });
});

describe('aws:invokeLambdaFunction inputs', () => {
  const invoke = (inputs: Record<string, unknown>) => JSON.stringify({ schemaVersion: '0.3', mainSteps: [{ name: 'call', action: 'aws:invokeLambdaFunction', inputs }] });

  it('accepts the Invoke parameters AWS documents and refuses others', () => {
    expect(problems(invoke({ FunctionName: 'f', Qualifier: '$LATEST', InvocationType: 'Event', LogType: 'Tail', ClientContext: '{}', Payload: '{"a":1}', InputPayload: { a: 1 } }))).toEqual([]);
    expect(problems(invoke({ FunctionName: 'f', InvocationType: 'Later' }))).toEqual([
      { path: 'mainSteps[0] (call).inputs.InvocationType', message: 'must be Event, RequestResponse or DryRun or a {{ }} reference' },
    ]);
    expect(problems(invoke({}))[0]).toMatchObject({ path: 'mainSteps[0] (call).inputs.FunctionName' });
  });

  it('needs lambda:InvokeFunction', () => {
    expect(runbookIamActions(parseRunbook(invoke({ FunctionName: '{{ Fn }}' }).replace('"mainSteps"', '"parameters":{"Fn":{"type":"String"}},"mainSteps"'), { name: 'd' }))).toEqual(['lambda:InvokeFunction']);
  });
});

describe('scriptIamActions', () => {
  it('reads the calls on named clients, chained calls, paginators and waiters', () => {
    const script = `
import boto3
from botocore.config import Config

def handler(events, context):
    ec2 = boto3.client('ec2', config=Config(retries={'max_attempts': 5}))
    rds_client = boto3.client(service_name="rds")
    # ec2.terminate_instances(...) in a comment is not a call
    for page in ec2.get_paginator('describe_snapshots').paginate():
        pass
    ec2.create_tags(Resources=[events['Id']], Tags=[])
    ec2.get_waiter('instance_stopped').wait(InstanceIds=[])
    rds_client.modify_db_instance(DBInstanceIdentifier='x', PubliclyAccessible=False)
    boto3.client('s3').get_bucket_encryption(Bucket='b')
    boto3.client('sts').get_caller_identity()
`;
    expect(scriptIamActions(script, 'step run')).toEqual([
      'ec2:CreateTags',
      'ec2:DescribeInstances',
      'ec2:DescribeSnapshots',
      'rds:ModifyDbInstance',
      's3:GetEncryptionConfiguration',
    ]);
  });

  it('derives the actions of a runbook with a script step', () => {
    const text = scriptStep({ Runtime: 'python3.11', Handler: 'h', Script: "import boto3\ndef h(e, c):\n    ssm = boto3.client('ssm')\n    return ssm.get_parameter(Name='x')" });
    expect(runbookIamActions(parseRunbook(text, { name: 'd' }))).toEqual(['ssm:GetParameter']);
  });

  it('refuses scripts whose calls cannot be read, naming the step and why', () => {
    expect(() => scriptIamActions("s3 = boto3.resource('s3')", 'step run (aws:executeScript)')).toThrow(RunbookPermissionsError);
    expect(() => scriptIamActions("s3 = boto3.resource('s3')", 'step run (aws:executeScript)')).toThrow(/^step run \(aws:executeScript\): the script uses boto3 resources/);
    expect(() => scriptIamActions('c = boto3.client(events["Service"])', 'step run')).toThrow(/names at run time/);
    expect(() => scriptIamActions("c = boto3.client('kms')\nc.encrypt()", 'step run')).toThrow(/calls kms, which is not a service opsauto derives permissions for/);
    expect(() => scriptIamActions("c = boto3.client('ec2')\nc.get_waiter('vpc_available').wait()", 'step run')).toThrow(/waiter vpc_available/);
  });
});
