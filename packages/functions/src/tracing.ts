import type middy from '@middy/core';

/** Whether this function traces (POWERTOOLS_TRACE_ENABLED=true, set by the stacks from `observability.tracing`). */
export const tracingEnabled = (): boolean => process.env.POWERTOOLS_TRACE_ENABLED === 'true';

/**
 * Powertools Tracer's `captureLambdaHandler`, loaded on the first invocation and only when tracing is on: with
 * tracing off (the default) there is no middleware (an empty list, which middy's `use` takes) and the tracer's
 * modules (tracer.ts, aws-xray-sdk-core) are never read, a chunk of their own in the deployed bundle.
 *
 * @example
 * middy().use(tracing()).handler(handle);
 */
export function tracing(): middy.MiddlewareObj[] {
  if (!tracingEnabled()) return [];
  let loaded: Promise<middy.MiddlewareObj> | undefined;
  const middleware = () => (loaded ??= import('./tracer.js').then((m) => m.captureHandler()));
  return [
    {
      before: async (request) => {
        await (await middleware()).before?.(request);
      },
      after: async (request) => {
        await (await middleware()).after?.(request);
      },
      onError: async (request) => {
        await (await middleware()).onError?.(request);
      },
    },
  ];
}
