import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateDocumentCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AwsClients, DynamoExecutionStore, DynamoTokenStore } from '@opsauto/aws';
import { defineConfig, newToken } from '@opsauto/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { eventBusName, hybridNodeRoleName } from '../../packages/functions/src/manifest.js';
import { recordFigure } from '../helpers/figures.js';
import { startCapture } from '../helpers/hostile.js';
import { clientConfig } from '../helpers/localcloud.js';

/**
 * Every log line a run of the jobs produces, at DEBUG, on the in-process local stage: the functions' own lines
 * (stdout, stderr, console), the stage's log and localcloud's invocation records. A run: an enrollment token used
 * (a right and a wrong secret, POST and GET), a SecureString with an expiry policy through its notices and a policy
 * change by param-policy-apply, and a runbook started with a secret parameter that reads a SecureString. No line may
 * hold a token, its secret or hash, an activation code or a parameter value.
 */

const DAY = 86_400_000;
const DB_SECRET = 'pA55-db-never-logged-7f3a';
const RUNBOOK_SECRET = 'pA55-runbook-param-never-logged-91c2';
const RUNBOOK = 'lsec-ReadSecret';

let stage: Stage;
/** The stage's own log lines (its `log` option). */
const stageLines: string[] = [];
let capture: ReturnType<typeof startCapture>;
/** Every secret the run handled. */
const secrets = new Set<string>([DB_SECRET, RUNBOOK_SECRET]);
/** Every line written while the stage runs (kept, not printed: the test output stays readable), and the stage's log. */
const logLines = () => [...capture.lines(), ...stageLines];

const runbookDocument = `schemaVersion: '0.3'
description: Reads a SecureString, holding a secret parameter.
parameters:
  DbPassword:
    type: String
    description: A secret passed in.
mainSteps:
  - name: readSecret
    action: aws:executeAwsApi
    inputs:
      Service: ssm
      Api: GetParameter
      Name: /lsec/db/password
      WithDecryption: true
    outputs:
      - Name: Value
        Selector: $.Parameter.Value
        Type: String
  - name: pause
    action: aws:sleep
    isEnd: true
    inputs:
      Duration: PT1S
`;

beforeAll(async () => {
  capture = startCapture();
  process.env.RUNBOOK_INLINE_WAIT_MS = '0';
  stage = await startStage({
    config: defineConfig({ regions: ['us-east-1'], runbooks: { tickSchedule: 'rate(1 day)', allowedRunbooks: [RUNBOOK] } }),
    port: 0,
    apiPort: 0,
    seed: false,
    tickMs: 0,
    functionLogLevel: 'DEBUG',
    log: (line) => void stageLines.push(line),
  });
}, 60_000);

afterAll(async () => {
  await stage?.stop();
  capture?.stop();
  delete process.env.RUNBOOK_INLINE_WAIT_MS;
});

describe('no secret in any log line of a run', () => {
  it('the activation flow: a token used with its secret and with a wrong one, POST and GET', async () => {
    const { token, id, secretHash } = newToken();
    const wrong = `${token.split('.')[0]}.${'A'.repeat(token.split('.')[1].length)}`;
    secrets.add(token).add(token.split('.')[1]).add(secretHash).add(wrong.split('.')[1]);
    const now = new Date(stage.cloud.clock.nowMs());
    await new DynamoTokenStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName).create({
      id,
      name: 'lsec',
      secretHash,
      iamRole: hybridNodeRoleName(stage.tableName),
      namePrefix: 'lsec-',
      tags: {},
      maxUses: 5,
      uses: 0,
      createdAt: now.toISOString(),
      createdBy: 'test',
      expiresAt: new Date(now.getTime() + DAY).toISOString(),
    });
    const post = async (bearer: string) =>
      fetch(`${stage.apiUrl}/activations`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ hostname: 'lsec-web-01' }) });
    const ok = await post(token);
    const issued = (await ok.json()) as { activationCode?: string };
    const get = await fetch(`${stage.apiUrl}/activation?hostname=lsec-web-02`, { headers: { authorization: `Bearer ${token}` } });
    const issuedByGet = (await get.json()) as { activationCode?: string };
    const refused = await post(wrong);
    await refused.text();

    expect([ok.status, get.status, refused.status]).toEqual([200, 200, 401]);
    expect(issued.activationCode).toBeTruthy();
    secrets.add(issued.activationCode!).add(issuedByGet.activationCode!);
  });

  it('parameter expiry: a SecureString with an expiry through its notices, and param-policy-apply re-putting it', async () => {
    const ssm = new SSMClient(clientConfig(stage.cloud));
    const expires = new Date(stage.cloud.clock.nowMs() + 3 * DAY).toISOString();
    await ssm.send(
      new PutParameterCommand({
        Name: '/lsec/db/password',
        Value: DB_SECRET,
        Type: 'SecureString',
        Tier: 'Advanced',
        Policies: JSON.stringify([
          { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: expires } },
          { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '2', Unit: 'Days' } },
        ]),
        Tags: [{ Key: 'owner', Value: 'alice' }],
      }),
    );
    // The function that reads the value (to re-put it with new policies), invoked as an automation would.
    const out = await new LambdaClient(clientConfig(stage.cloud)).send(
      new InvokeCommand({ FunctionName: 'param-policy-apply', Payload: Buffer.from(JSON.stringify({ parameter: '/lsec/db/password', notifyBefore: ['2d', '1d'], expires })) }),
    );
    const answer = JSON.parse(Buffer.from(out.Payload!).toString()) as { status?: string };
    expect(out.FunctionError, JSON.stringify(answer)).toBeUndefined();
    expect(answer.status).toBeDefined();
    // Two days of the virtual clock: the daily sweep and the policy's notification event run.
    await stage.cloud.advance('P2D');
    await stage.cloud.settle();
    const names = stage.cloud.lambda.invocations.map((i) => i.function);
    expect(names).toEqual(expect.arrayContaining(['param-policy-apply', 'param-expiry-sweep']));
    // The value is unchanged: the function put it back as it was.
    expect((await ssm.send(new GetParameterCommand({ Name: '/lsec/db/password', WithDecryption: true }))).Parameter?.Value).toBe(DB_SECRET);
  });

  it('a runbook started with a secret parameter that reads a SecureString', async () => {
    const ssm = new SSMClient(clientConfig(stage.cloud));
    await ssm.send(new CreateDocumentCommand({ Name: RUNBOOK, DocumentType: 'Automation', DocumentFormat: 'YAML', Content: runbookDocument }));
    const before = stage.cloud.lambda.invocations.length;
    const put = await new EventBridgeClient(clientConfig(stage.cloud)).send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: eventBusName(stage.tableName),
            Source: 'opsauto.runbooks',
            DetailType: 'Runbook Execution Requested',
            Detail: JSON.stringify({ documentName: RUNBOOK, parameters: { DbPassword: RUNBOOK_SECRET }, idempotencyKey: 'lsec-1' }),
          },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    await stage.cloud.settle();
    await stage.cloud.advance('PT10M');
    await stage.cloud.settle();
    const worker = stage.cloud.lambda.invocations.slice(before).filter((i) => i.function === 'runbook-worker');
    expect(worker.length).toBeGreaterThan(0);
    // The step did read the value: the secret went through the engine (its outputs), not only its parameters.
    const store = new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(stage.cloud)), stage.tableName);
    // The worker logs the execution's ID when it starts it.
    const executionId = /"message": ?"runbook execution started"[^}]*?"executionId": ?"([\w-]+)"/.exec(logLines().join('\n'))?.[1];
    expect(executionId).toBeDefined();
    const { execution } = (await store.get(executionId!))!;
    expect(execution.status).toBe('Success');
    expect(execution.steps.find((s) => s.name === 'readSecret')).toMatchObject({ status: 'Success', outputs: { Value: DB_SECRET } });
  });

  it('left no token, secret, hash, activation code or parameter value in any line', () => {
    // Localcloud's records of the invocations (errors, results) count as log too.
    const records = stage.cloud.lambda.invocations.map((i) => JSON.stringify(i));
    const all = [...logLines(), ...records];
    recordFigure(import.meta.url, 'secrets', secrets.size);
    recordFigure(import.meta.url, 'log lines scanned', all.length);
    // Not vacuous: the functions logged at DEBUG, the issuance and the runbook among them.
    expect(logLines().join('\n')).toContain('activation issued');
    expect(logLines().join('\n')).toMatch(/runbook execution (started|turn)/);
    expect(all.length).toBeGreaterThan(20);
    const leaks = [...secrets].flatMap((s) => all.filter((l) => l.includes(s)).map((l) => `${s.slice(0, 6)}… in: ${l.slice(0, 300)}`));
    expect(leaks).toEqual([]);
  });
});
