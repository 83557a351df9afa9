import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type middy from '@middy/core';

/**
 * Powertools Tracer (X-Ray), imported only when tracing is on (`observability.tracing`, POWERTOOLS_TRACE_ENABLED):
 * it and aws-xray-sdk-core stay out of every cold start otherwise (tracing.ts). HTTPS calls (the AWS SDK's) become
 * subsegments. Responses are never recorded: one may hold an activation code.
 */
export const tracer = new Tracer({ serviceName: 'opsauto' });

/** The handler's segment, with the cold-start and service annotations and errors as metadata; no response. */
export function captureHandler(): middy.MiddlewareObj {
  return captureLambdaHandler(tracer, { captureResponse: false });
}
