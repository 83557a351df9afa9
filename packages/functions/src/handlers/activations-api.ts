import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { DynamoSourceFailures } from '@opsauto/aws';
import { ActivationError, activationLifetimeMs, issueActivation, type IssueActivationInput } from '@opsauto/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { powertoolsIssueOnce } from '../activation-idempotency.js';
import { activationWiring, type ActivationWiring, type ActivationWiringFactory } from '../activation-wiring.js';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { bodyText, excerpt } from '../handler.js';
import { logger } from '../logger.js';
import { tracing } from '../tracing.js';
import { count, metrics, METRIC_NAMES } from '../metrics.js';

/** A request is a hostname and a key: anything near this size is not one (refused before it is parsed). */
export const MAX_BODY_BYTES = 4096;

/** `POST /activations`: strict, the values themselves are checked after the token (400 naming the field). */
const postBody = z.strictObject({ hostname: z.unknown(), idempotencyKey: z.optional(z.unknown()) });
/** `GET /activation?hostname=…&idempotencyKey=…`: the same two fields, nothing else. */
const query = z.strictObject({ hostname: z.optional(z.string()), idempotencyKey: z.optional(z.string()) });

type Request = Pick<IssueActivationInput, 'hostname' | 'idempotencyKey'>;

const invalid = (field: string, message: string) => new ActivationError('InvalidRequest', `${field}: ${message}`, { field });

function firstIssue(error: z.core.$ZodError, fallback: string): ActivationError {
  const issue = error.issues[0];
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  // Keys are the caller's: an unknown one is named by a bounded, escaped excerpt (a 1 MB key is no 1 MB answer).
  const field = [...issue.path, ...keys.slice(0, 1)].map((k) => excerpt(String(k))).join('.') || fallback;
  return invalid(field, keys.length ? 'is not a field of this request (hostname, idempotencyKey)' : issue.message);
}

/** The hostname and idempotency key of either route; ActivationError InvalidRequest naming the field otherwise. */
function parseRequest(event: APIGatewayProxyEventV2): Request {
  if (event.requestContext.http.method === 'GET') {
    const result = query.safeParse(event.queryStringParameters ?? {});
    if (!result.success) throw firstIssue(result.error, 'query');
    return { hostname: result.data.hostname, idempotencyKey: result.data.idempotencyKey };
  }
  const raw = bodyText(event);
  if (raw === '') throw invalid('body', 'the request needs a JSON body {"hostname": "...", "idempotencyKey"?: "..."}');
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) throw invalid('body', `must be at most ${MAX_BODY_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid('body', 'is not valid JSON');
  }
  const result = postBody.safeParse(parsed);
  if (!result.success) throw firstIssue(result.error, 'body');
  return result.data;
}

/** A header of the request, whatever its case (API Gateway v2 lowercases them; other gateways may not). */
function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
}

/** JSON, never cached: a response may hold an activation code. */
function reply(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(body) };
}

function refusal(e: ActivationError): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = {};
  if (e.options.retryAfterSeconds !== undefined) headers['retry-after'] = String(e.options.retryAfterSeconds);
  if (e.status === 401) headers['www-authenticate'] = 'Bearer realm="opsauto-activations"';
  return reply(e.status, { error: e.code, message: e.message, ...(e.options.field ? { field: e.options.field } : {}) }, headers);
}

/**
 * The activation API for booting servers (docs/activations.md, "API"): `POST /activations` with a JSON body and
 * `GET /activation?hostname=…` for the simplest boot scripts, both with `Authorization: Bearer <enrollment token>`
 * (the routes are `auth: 'none'`: the token is the proof). Answers 200 `{activationId, activationCode, region,
 * expiresAt, instanceName}`, or `{error, message}` with 400/401/403/409/429/503 (Retry-After where a retry helps; a
 * request that runs short of time before CreateActivation answers 503 rather than timing out with an activation made).
 *
 * No log line carries the token, its hash or the activation code: the event is never logged (`logEvent: false`
 * whatever POWERTOOLS_LOGGER_LOG_EVENT says), refusals log their code and the source, successes the ids. Metrics
 * ActivationsIssued and ActivationsRefused count the answers (no dimension but the stage: never a hostname or token).
 */
export function activationsApi(wire: ActivationWiringFactory) {
  let wiring: ActivationWiring | undefined;
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(tracing())
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(logMetrics(metrics))
    .handler(async (event: APIGatewayProxyEventV2, context: Context) => {
      const sourceIp = event.requestContext.http.sourceIp;
      try {
        const request = parseRequest(event);
        const region = process.env.AWS_REGION ?? 'us-east-1';
        const tableName = requireEnv('TABLE_NAME');
        wiring ??= wire({ clients, tableName, region });
        const lifetimeMs = activationLifetimeMs(loadConfig());
        const { response, tokenId, hostname } = await issueActivation(
          { ...request, authorization: header(event, 'authorization'), sourceIp, userAgent: (event.requestContext.http.userAgent ?? '').slice(0, 256) },
          {
            ...wiring,
            failures: new DynamoSourceFailures(clients, tableName),
            issueOnce: powertoolsIssueOnce(clients, tableName, lifetimeMs / 1000, context),
            clock: systemClock,
            region,
            lifetimeMs,
            remainingMs: () => context.getRemainingTimeInMillis(),
          },
        );
        count(METRIC_NAMES.activationsIssued);
        logger.info('activation issued', { tokenId, hostname, activationId: response.activationId, expiresAt: response.expiresAt, sourceIp });
        return reply(200, response);
      } catch (e) {
        if (e instanceof ActivationError) {
          count(METRIC_NAMES.activationsRefused);
          logger.warn('activation refused', { status: e.status, error: e.code, field: e.options.field, sourceIp });
          return refusal(e);
        }
        logger.error('activation request failed', { errorName: (e as Error)?.name, errorMessage: (e as Error)?.message, sourceIp });
        return reply(500, { error: 'InternalError', message: `the request failed; quote request ID ${context.awsRequestId}` });
      }
    });
}

export const handler = activationsApi(activationWiring);
