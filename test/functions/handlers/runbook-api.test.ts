import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { AwsClients, DynamoExecutionStore } from '@opsauto/aws';
import { eventBusName } from '@opsauto/functions';
import type { Localcloud } from '@opsauto/localcloud';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../../helpers/fixtures.js';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { functionEnvironment } from '../../helpers/table.js';

type Response = { statusCode: number; headers?: Record<string, string>; body: string };
type Handler = (event: unknown, context: unknown) => Promise<Response>;

const ALICE = 'arn:aws:iam::123456789012:user/alice';
let cloud: Localcloud;
let handler: Handler;
let store: DynamoExecutionStore;
/** The events the rule on opsauto's bus delivered, in order. */
let dispatched: { 'detail-type': string; detail: { executionIds: string[] } }[];

beforeAll(async () => {
  cloud = await startTestCloud();
  const table = await functionEnvironment(cloud);
  process.env.EVENT_BUS_NAME = eventBusName(table);
  // Allowed but not to be found anywhere: Missing-Runbook.
  process.env.OPSAUTO_CONFIG = JSON.stringify({ regions: ['us-east-1'], runbooks: { allowedRunbooks: ['opsauto-DeleteVolume', 'Missing-Runbook'] } });
  process.env.RUNBOOKS_DIR = fileURLToPath(new URL('../../../runbooks', import.meta.url));
  await new EventBridgeClient(clientConfig(cloud)).send(new CreateEventBusCommand({ Name: eventBusName(table) }));
  cloud.lambda.register({ name: 'worker', handler: (event) => Promise.resolve(void dispatched.push(event as (typeof dispatched)[number])) });
  cloud.bus.putRule({ name: 'dispatched', pattern: { 'detail-type': ['Runbook Execution Dispatched'] }, targets: ['worker'], bus: eventBusName(table) });
  store = new DynamoExecutionStore(new AwsClients('us-east-1', clientConfig(cloud)), table);
  ({ handler } = (await import('../../../packages/functions/src/handlers/runbook-api.js')) as { handler: Handler });
});
afterAll(async () => {
  delete process.env.EVENT_BUS_NAME;
  delete process.env.RUNBOOKS_DIR;
  await cloud.stop();
});
beforeEach(() => {
  dispatched = [];
});

/** Powertools' API Gateway v2 sample, as `POST /runbooks/executions` with `body`, signed by `userArn` when given. */
function request(body: unknown, userArn: string | undefined = ALICE): unknown {
  const event = fixture('apigw/powertools-ts__apigw-http_no-auth.json');
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  event.routeKey = 'POST /runbooks/executions';
  event.rawPath = '/runbooks/executions';
  event.requestContext.routeKey = 'POST /runbooks/executions';
  event.requestContext.http.path = '/runbooks/executions';
  event.requestContext.authorizer = userArn ? { iam: { accessKey: 'AKIAEXAMPLE', accountId: '123456789012', callerId: 'AIDAEXAMPLE', userArn, userId: 'AIDAEXAMPLE' } } : undefined;
  event.headers['content-type'] = 'application/json';
  event.body = text;
  return event;
}

const invoke = async (body: unknown, userArn?: string) => {
  const response = await handler(request(body, userArn), fakeContext('runbook-api'));
  await cloud.settle();
  return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
};

describe('runbook-api handler', () => {
  it('creates the execution for the signed caller, dispatches it on opsauto bus and answers 201 when the body is valid', async () => {
    // Act
    const { status, body } = await invoke({ documentName: 'opsauto-DeleteVolume', parameters: { VolumeId: 'vol-0123456789abcdef0' } });

    // Assess
    expect(status).toBe(201);
    expect(body).toEqual({ executionId: expect.any(String), status: 'Pending' });
    const stored = await store.get(body.executionId as string);
    expect(stored?.execution).toMatchObject({ documentName: 'opsauto-DeleteVolume', triggeredBy: ALICE, parameters: { VolumeId: 'vol-0123456789abcdef0' } });
    expect(dispatched.map((e) => [e['detail-type'], e.detail.executionIds])).toEqual([['Runbook Execution Dispatched', [body.executionId]]]);
  });

  it('answers 200 with the same execution when the idempotency key is used again', async () => {
    // Prepare
    const start = { documentName: 'opsauto-DeleteVolume', parameters: { VolumeId: 'vol-0aaaaaaaaaaaaaaaa' }, idempotencyKey: 'ticket-42' };
    const first = await invoke(start);

    // Act
    const again = await invoke(start);

    // Assess
    expect(first.status).toBe(201);
    expect(again).toEqual({ status: 200, body: first.body });
  });

  it('records the caller as api when the request carries no IAM identity', async () => {
    const { status, body } = await invoke({ documentName: 'opsauto-DeleteVolume', parameters: { VolumeId: 'vol-0bbbbbbbbbbbbbbbb' } }, '');

    expect(status).toBe(201);
    expect((await store.get(body.executionId as string))?.execution.triggeredBy).toBe('api');
  });

  it.each([
    ['a body that is not JSON', '{"documentName": ', 'body'],
    ['no body', '', 'body'],
    ['no documentName', { parameters: {} }, 'documentName'],
    ['a documentName that is not a document name', { documentName: '../etc/passwd' }, 'documentName'],
    ['parameters of the wrong type', { documentName: 'opsauto-DeleteVolume', parameters: ['vol-1'] }, 'parameters'],
    ['a key the API does not know', { documentName: 'opsauto-DeleteVolume', assumeRole: 'arn:aws:iam::123456789012:role/admin' }, 'assumeRole'],
    ['an idempotency key with spaces', { documentName: 'opsauto-DeleteVolume', idempotencyKey: 'a b' }, 'idempotencyKey'],
    ['a parameter value the runbook refuses', { documentName: 'opsauto-DeleteVolume', parameters: { VolumeId: 'not-a-volume' } }, 'VolumeId'],
    ['a huge body', { documentName: 'opsauto-DeleteVolume', parameters: { VolumeId: 'x'.repeat(70_000) } }, 'body'],
  ])('answers 400 naming the field and starts nothing when the request has %s', async (_label, body, field) => {
    // Act
    const response = await invoke(body);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ field: expect.stringContaining(field) });
    expect(response.body.message).toEqual(expect.any(String));
    expect(dispatched).toEqual([]);
  });

  it('answers 404 and starts nothing when an allowed runbook does not exist', async () => {
    const response = await invoke({ documentName: 'Missing-Runbook' });

    expect(response.status).toBe(404);
    expect(dispatched).toEqual([]);
  });

  it('answers 403 and starts nothing when the runbook is not allowed to be started by name', async () => {
    const response = await invoke({ documentName: 'AWS-TerminateEC2Instance', parameters: { InstanceId: 'i-0123456789abcdef0' } });

    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ error: 'ForbiddenError' });
    expect(dispatched).toEqual([]);
  });
});
