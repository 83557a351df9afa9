import { createSocket, type Socket } from 'node:dgram';
import type { Localcloud } from '@opsauto/localcloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { fakeContext } from '../helpers/lambda-context.js';
import { startTestCloud } from '../helpers/localcloud.js';
import { functionEnvironment } from '../helpers/table.js';

type Handler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
interface XraySegment {
  name: string;
  annotations?: Record<string, unknown>;
  metadata?: Record<string, Record<string, unknown>>;
  subsegments?: XraySegment[];
  http?: { request?: { url?: string; method?: string } };
  namespace?: string;
}

// Powertools Tracer as `observability.tracing` deploys it, in a Lambda-like environment whose X-Ray daemon is a UDP
// socket of the test: what the function sends to X-Ray is read back and checked.

let cloud: Localcloud;
let daemon: Socket;
const segments: XraySegment[] = [];

beforeAll(async () => {
  cloud = await startTestCloud();
  await functionEnvironment(cloud);
  daemon = createSocket('udp4');
  daemon.on('message', (packet) => {
    // `{"format":"json","version":1}\n{segment}`
    const [, body] = packet.toString('utf8').split('\n');
    segments.push(JSON.parse(body) as XraySegment);
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    POWERTOOLS_TRACE_ENABLED: 'true',
    POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    LAMBDA_TASK_ROOT: process.cwd(),
    _HANDLER: 'packages/functions/src/handlers/status.handler',
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  });
});
afterAll(async () => {
  for (const key of ['POWERTOOLS_TRACE_ENABLED', 'POWERTOOLS_TRACER_CAPTURE_RESPONSE', 'AWS_EXECUTION_ENV', 'AWS_LAMBDA_INITIALIZATION_TYPE', 'LAMBDA_TASK_ROOT', '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_XRAY_DAEMON_ADDRESS', 'AWS_XRAY_CONTEXT_MISSING']) delete process.env[key];
  daemon.close();
  await cloud.stop();
});

/** Waits (in real time: a UDP packet has no virtual clock) until a segment matching `test` has arrived. */
async function segment(test: (s: XraySegment) => boolean): Promise<XraySegment> {
  for (let i = 0; i < 200; i++) {
    const found = segments.find(test);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no such segment among ${JSON.stringify(segments)}`);
}

describe('tracing with observability.tracing on', () => {
  it("sends the handler's subsegment with its cold start and service, its AWS calls as subsegments, and never the response", async () => {
    // Prepare
    const { handler } = (await import('../../packages/functions/src/handlers/status.js')) as { handler: Handler };
    // Act
    const response = await handler(fixture('apigw/powertools-ts__apigw-http_no-auth.json'), fakeContext('status'));
    // Assess
    expect(response.statusCode).toBe(200);
    const handlerSegment = await segment((s) => s.name === '## packages/functions/src/handlers/status.handler');
    expect(handlerSegment.annotations).toEqual({ ColdStart: true, Service: 'opsauto' });
    expect(JSON.stringify(handlerSegment.metadata ?? {})).not.toContain('amiFamilies');
    // The DynamoDB Query of the status page, traced through Node's HTTP module (the SDK's calls to localcloud).
    // X-Ray records the host without its port: the handler's child, a POST to localcloud's address.
    const parent = (handlerSegment as XraySegment & { id: string }).id;
    const calls = await segment((s) => s.namespace === 'remote' && (s as XraySegment & { parent_id?: string }).parent_id === parent);
    expect(calls.http?.request).toEqual({ url: `http://${new URL(cloud.url).hostname}/`, method: 'POST' });
  });
});

describe('tracing off (the default)', () => {
  it('adds no middleware and loads no tracer, and a handler built so still runs', async () => {
    // Prepare
    const saved = process.env.POWERTOOLS_TRACE_ENABLED;
    delete process.env.POWERTOOLS_TRACE_ENABLED;
    const { tracing } = await import('../../packages/functions/src/tracing.js');
    const { httpHandler, json } = await import('../../packages/functions/src/handler.js');
    // Act
    const middleware = tracing();
    const handler = httpHandler(() => Promise.resolve(json(200, { ok: true }))) as unknown as Handler;
    const response = await handler(fixture('apigw/powertools-ts__apigw-http_no-auth.json'), fakeContext('status'));
    process.env.POWERTOOLS_TRACE_ENABLED = saved;
    // Assess
    expect(middleware).toEqual([]);
    expect(response).toMatchObject({ statusCode: 200, body: '{"ok":true}' });
  });
});
