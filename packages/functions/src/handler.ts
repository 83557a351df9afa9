import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '@opsauto/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { logger } from './logger.js';
import { metrics } from './metrics.js';
import { tracing } from './tracing.js';

/** The event did not match its schema: the message names each field that is wrong. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

/** Turns the parser's ParseError ("Failed to parse schema") into an InvalidEventError that names the fields. */
interface SchemaIssue {
  path?: unknown[];
  message: string;
  code?: string;
  note?: string;
  keys?: string[];
  errors?: SchemaIssue[][];
}

/** Control characters, and the bidi controls that reorder a terminal's text. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * At most `max` characters of a caller's value, for an error message or a log line, with control characters
 * escaped (an event's keys and values are the caller's: a 1 MB key must not become a 1 MB message).
 *
 * @example
 * excerpt('a\nb') // 'a\\u000ab'
 * excerpt('x'.repeat(100), 4) // 'xxxx…(100 characters)'
 */
export function excerpt(value: string, max = 64): string {
  const cut = value.length > max ? `${value.slice(0, max)}…(${value.length} characters)` : value;
  return cut.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Issues named in an InvalidEventError; the others are counted. */
const MAX_ISSUES = 10;

/** Of a union's branches, the one that came closest (fewest issues) explains the failure best. */
function flatten(issues: SchemaIssue[], prefix: unknown[] = []): SchemaIssue[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...(i.path ?? [])];
    if (i.code === 'invalid_union' && i.errors?.length) {
      const closest = i.errors.reduce((best, branch) => (branch.length < best.length ? branch : best));
      return flatten(closest, path);
    }
    // Zod names unknown keys in its message: the keys are the caller's, so they are named here, bounded.
    const message = i.code === 'unrecognized_keys' && i.keys ? `Unrecognized key${i.keys.length === 1 ? '' : 's'}: ${i.keys.slice(0, 3).map((k) => `"${excerpt(k)}"`).join(', ')}${i.keys.length > 3 ? ` and ${i.keys.length - 3} more` : ''}` : excerpt(i.message, 300);
    return [{ ...i, path, message: i.note ? `${message} (${excerpt(i.note, 300)})` : message }];
  });
}

const explainParseErrors = (): middy.MiddlewareObj => ({
  onError: (request) => {
    const error = request.error as (Error & { cause?: unknown }) | null;
    // Powertools puts the Standard Schema issues in `cause`; path segments are keys or `{ key }`.
    const issues = error?.name === 'ParseError' && Array.isArray(error.cause) ? flatten(error.cause as SchemaIssue[]) : undefined;
    if (!issues) return;
    const at = (path: unknown[] = []) => path.map((p) => excerpt(String(typeof p === 'object' && p !== null ? (p as { key: PropertyKey }).key : p))).join('.') || '(event)';
    const more = issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more` : '';
    const fields = issues.slice(0, MAX_ISSUES).map((i) => `${at(i.path)}: ${i.message}`).join('; ') + more;
    request.error = new InvalidEventError(`invalid event: ${fields}`, { cause: error });
  },
});

/** An error's message for a log line: at most 2,000 characters (messages may quote an event's values). */
export function boundedMessage(error: unknown): string | undefined {
  const message = (error as Error | null | undefined)?.message;
  if (typeof message !== 'string') return undefined;
  return message.length > 2000 ? `${message.slice(0, 2000)}…(${message.length} characters)` : message;
}

/** Logs a failure with its class and message only: events may carry values that must not reach a log. */
const logFailure = (): middy.MiddlewareObj => ({
  onError: (request) => {
    const error = request.error;
    logger.error('invocation failed', { errorName: error?.name, errorMessage: boundedMessage(error) });
  },
});

/**
 * An asynchronously invoked handler (EventBridge rule or schedule): the event is parsed with `schema`
 * (a ParseError names the field that is wrong), the Lambda context is added to every log line, the metrics the
 * handler added are flushed (EMF) whether it succeeds or fails, and a failure is thrown so that Lambda retries it and, after its retries, sends it to the failure destination.
 *
 * @example
 * export const handler = eventHandler(amiPublisherEvent, async (event) => publish(event));
 */
export function eventHandler<S extends z.ZodMiniType, R>(
  schema: S,
  handle: (event: z.infer<S>, context: Context) => Promise<R>,
): MiddyfiedHandler<unknown, R, Error, Context> {
  return middy<z.infer<S>, R>()
    .use(tracing())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(logFailure())
    .use(explainParseErrors())
    .use(parser({ schema }))
    .handler(handle);
}

/** A JSON response of the HTTP API. */
export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The request's body as text (API Gateway base64-encodes a body it takes for binary); '' when there is none. */
export function bodyText(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): string {
  if (event.body === undefined) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** The HTTP status httpHandler answers for an error: 400, 403, 404 or 409 for the domain's errors, 500 for anything else. */
export function httpStatusOf(error: unknown): number {
  if (error instanceof ValidationError || error instanceof InvalidEventError || (error as Error)?.name === 'ParseError') return 400;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof ConflictError) return 409;
  return 500;
}

/**
 * An HTTP API (payload 2.0) handler: domain errors become 4xx with a JSON body `{error, message}`,
 * anything else a 500 that names the request ID and never the cause. Metrics are flushed after each request.
 */
export function httpHandler(handle: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(tracing())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (event, context) => {
      try {
        return await handle(event, context);
      } catch (error) {
        const status = httpStatusOf(error);
        if (status === 500) {
          logger.error('request failed', { errorName: (error as Error)?.name, errorMessage: boundedMessage(error) });
          return json(500, { error: 'InternalError', message: `the request failed; quote request ID ${context.awsRequestId}` });
        }
        const e = error as Error & { field?: string };
        return json(status, { error: e.name, message: e.message, ...(e.field ? { field: e.field } : {}) });
      }
    });
}
