import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutEventsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateDocumentCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { defineConfig, executionIdFor, type Execution } from '@opsauto/core';
import { eventBusName } from '@opsauto/functions';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { clientConfig } from '../helpers/localcloud.js';

// aws:executeScript and aws:invokeLambdaFunction end to end on the local stage: the worker invokes the Python runner
// through localcloud's Lambda API, the runner runs the script with python3 and boto3 against localcloud, as the
// execution's role.

const config = defineConfig({ regions: ['us-east-1'] });
const documents = ['Team-TagByScript', 'Team-FailingScript', 'Team-SlowScript', 'Team-InvokeEcho', 'Team-StopAndWait', 'Team-ExitingScript'];
config.runbooks.allowedRunbooks = [...config.runbooks.allowedRunbooks, ...documents];
let stage: Stage;
let store: DynamoExecutionStore;
let ec2: EC2Client;
let seq = 0;

const TAG_BY_SCRIPT = `schemaVersion: '0.3'
parameters:
  InstanceId: { type: String }
mainSteps:
  - name: tagIt
    action: aws:executeScript
    inputs:
      Runtime: python3.11
      Handler: script_handler
      InputPayload:
        InstanceId: '{{ InstanceId }}'
      Script: |-
        import boto3

        def script_handler(events, context):
            ec2 = boto3.client('ec2')
            instance = ec2.describe_instances(InstanceIds=[events['InstanceId']])['Reservations'][0]['Instances'][0]
            print('instance', instance['InstanceId'], 'is', instance['State']['Name'])
            ec2.create_tags(Resources=[events['InstanceId']], Tags=[{'Key': 'scripted', 'Value': 'yes'}])
            return {'State': instance['State']['Name'], 'Type': instance['InstanceType']}
    outputs:
      - { Name: State, Selector: $.Payload.State, Type: String }
  - name: checkIt
    action: aws:branch
    inputs:
      Choices:
        - { NextStep: done, Variable: '{{ tagIt.State }}', StringEquals: running }
  - name: done
    action: aws:sleep
    inputs: { Duration: PT1S }
    isEnd: true
`;

const FAILING_SCRIPT = `schemaVersion: '0.3'
mainSteps:
  - name: check
    action: aws:executeScript
    inputs:
      Runtime: python3.10
      Handler: handler
      Script: |-
        def handler(events, context):
            print('checking the volumes')
            raise Exception('3 volumes are not encrypted')
`;

const SLOW_SCRIPT = `schemaVersion: '0.3'
mainSteps:
  - name: wait
    action: aws:executeScript
    timeoutSeconds: 60
    inputs:
      Runtime: python3.11
      Handler: handler
      Script: |-
        import time
        def handler(events, context):
            while True:
                time.sleep(10)
`;

const INVOKE_ECHO = `schemaVersion: '0.3'
mainSteps:
  - name: invoke
    action: aws:invokeLambdaFunction
    inputs:
      FunctionName: team-echo
      InputPayload: { greeting: hello }
      LogType: Tail
`;

const STOP_AND_WAIT = `schemaVersion: '0.3'
parameters:
  InstanceId: { type: String }
mainSteps:
  - name: stopAndWait
    action: aws:executeScript
    timeoutSeconds: 300
    inputs:
      Runtime: python3.11
      Handler: handler
      InputPayload:
        InstanceId: '{{ InstanceId }}'
      Script: |-
        import boto3
        from time import sleep

        def handler(events, context):
            ec2 = boto3.client('ec2')
            ec2.stop_instances(InstanceIds=[events['InstanceId']])
            ec2.get_waiter('instance_stopped').wait(InstanceIds=[events['InstanceId']], WaiterConfig={'Delay': 15, 'MaxAttempts': 10})
            ec2.start_instances(InstanceIds=[events['InstanceId']])
            state = 'pending'
            while state != 'running':
                sleep(5)
                state = ec2.describe_instances(InstanceIds=[events['InstanceId']])['Reservations'][0]['Instances'][0]['State']['Name']
            return {'State': state}
    outputs:
      - { Name: State, Selector: $.Payload.State, Type: String }
`;

const EXITING_SCRIPT = `schemaVersion: '0.3'
mainSteps:
  - name: remediate
    action: aws:executeScript
    inputs:
      Runtime: python3.11
      Handler: handler
      Script: |-
        def handler(events, context):
            try:
                raise KeyError('AccountIds')
            except Exception as e:
                exit(f'Failed to describe the document: {str(e)}')
`;

beforeAll(async () => {
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  stage = await startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  stage.cloud.seed({ regions: { 'us-east-1': { images: [{ name: 'base' }], instances: [{ image: 'base', type: 't3.small', tags: { Name: 'scripted' } }] } } });
  stage.cloud.lambda.register({ name: 'team-echo', handler: (event) => Promise.resolve({ echoed: event }) });
  const ssm = new SSMClient(clientConfig(stage.cloud));
  const contents = [TAG_BY_SCRIPT, FAILING_SCRIPT, SLOW_SCRIPT, INVOKE_ECHO, STOP_AND_WAIT, EXITING_SCRIPT];
  for (const [i, name] of documents.entries()) await ssm.send(new CreateDocumentCommand({ Name: name, DocumentType: 'Automation', DocumentFormat: 'YAML', Content: contents[i] }));
  store = new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName);
  ec2 = new EC2Client(clientConfig(stage.cloud));
});
afterAll(async () => {
  await stage.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
});

async function run(documentName: string, parameters: Record<string, unknown> = {}): Promise<Execution> {
  const idempotencyKey = `script-${++seq}`;
  await new EventBridgeClient(clientConfig(stage.cloud)).send(
    new PutEventsCommand({ Entries: [{ Source: 'opsauto.runbooks', DetailType: 'Runbook Execution Requested', Detail: JSON.stringify({ documentName, parameters, idempotencyKey }), EventBusName: eventBusName(stage.tableName) }] }),
  );
  await stage.cloud.settle();
  await stage.cloud.advance('1m');
  const loaded = await store.get(executionIdFor(idempotencyKey));
  if (!loaded) throw new Error(`no execution; worker failures: ${JSON.stringify(stage.cloud.lambda.failures)}`);
  return loaded.execution;
}

async function scriptedInstance(): Promise<{ InstanceId?: string; State?: { Name?: string }; Tags?: { Key?: string; Value?: string }[] }> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['scripted'] }] }));
  return out.Reservations![0].Instances![0];
}

describe('aws:executeScript on the local stage', () => {
  it('runs a script whose boto3 acts on localcloud, with Payload outputs, selectors and the print output as its log', async () => {
    const instance = await scriptedInstance();

    const done = await run('Team-TagByScript', { InstanceId: instance.InstanceId });

    expect(done.status, done.failureMessage ?? JSON.stringify(done.steps)).toBe('Success');
    expect(done.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['tagIt:Success', 'checkIt:Success', 'done:Success']);
    const outputs = done.steps[0].outputs!;
    expect(outputs.Payload).toEqual({ State: 'running', Type: 't3.small' });
    expect(outputs.State).toBe('running');
    expect(outputs.ExecutionLog).toContain(`instance ${instance.InstanceId} is running`);
    expect((await scriptedInstance()).Tags).toContainEqual({ Key: 'scripted', Value: 'yes' });
    expect(stage.cloud.lambda.invocations.some((i) => i.function === 'execute-script' && i.ok)).toBe(true);
  });

  it('fails the step with the exception the script raised, and keeps what it printed in the message', async () => {
    const failed = await run('Team-FailingScript');

    expect(failed.status).toBe('Failed');
    expect(failed.steps[0].status).toBe('Failed');
    expect(failed.steps[0].failureMessage).toMatch(/^Exception: 3 volumes are not encrypted \(script line 3\); the script printed: checking the volumes$/);
  });

  it('ends the step TimedOut when the script runs past the step timeoutSeconds, without waiting on the wall clock', async () => {
    const started = Date.now();

    const timedOut = await run('Team-SlowScript');

    expect(timedOut.steps[0].status).toBe('TimedOut');
    expect(timedOut.steps[0].failureMessage).toMatch(/^Step timed out after 60 seconds/);
    expect(timedOut.status).toBe('TimedOut');
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});

describe('aws:executeScript scripts that wait or exit', () => {
  it('lets a script wait for an instance to stop and start (a boto3 waiter, a sleep loop) on the virtual clock', async () => {
    const instance = await scriptedInstance();
    const started = Date.now();

    const done = await run('Team-StopAndWait', { InstanceId: instance.InstanceId });

    expect(done.status, done.failureMessage ?? JSON.stringify(done.steps)).toBe('Success');
    expect(done.steps[0].outputs?.State).toBe('running');
    expect((await scriptedInstance()).State?.Name).toBe('running');
    // 30 s of stopping and 5 s of pending passed on the virtual clock, not on the wall clock.
    expect(Date.now() - started).toBeLessThan(35_000);
  });

  it("fails the step with the message a script gave exit(), not the runtime's exit status", async () => {
    const failed = await run('Team-ExitingScript');

    expect(failed.status).toBe('Failed');
    expect(failed.steps[0].failureMessage).toBe("SystemExit: Failed to describe the document: 'AccountIds' (script line 5)");
  });
});

describe('aws:invokeLambdaFunction on the local stage', () => {
  it('invokes a function of the stage with InputPayload and outputs StatusCode, Payload, LogResult and ExecutedVersion', async () => {
    const done = await run('Team-InvokeEcho');

    expect(done.status, done.failureMessage).toBe('Success');
    const outputs = done.steps[0].outputs!;
    expect(outputs.StatusCode).toBe(200);
    expect(JSON.parse(outputs.Payload as string)).toEqual({ echoed: { greeting: 'hello' } });
    expect(outputs.ExecutedVersion).toBe('$LATEST');
    expect(Buffer.from(outputs.LogResult as string, 'base64').toString()).toMatch(/^START RequestId/);
    expect(stage.cloud.lambda.invocations.filter((i) => i.function === 'team-echo')).toHaveLength(1);
  });
});
