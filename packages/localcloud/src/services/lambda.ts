/**
 * AWS Lambda (restJson1, signing name `lambda`): Invoke (`POST /2015-03-31/functions/{FunctionName}/invocations`)
 * of the functions registered with localcloud's runtime (the stage's own functions, Node in-process and Python).
 *
 * AWS behaviour kept (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): FunctionName as a name, a
 * partial ARN (`123456789012:function:name`) or a full ARN, with an optional version or alias (here only `$LATEST`
 * exists); X-Amz-Invocation-Type `RequestResponse` (200 with the function's payload), `Event` (202, run
 * asynchronously with Lambda's retries) or `DryRun` (204); X-Amz-Log-Type `Tail` returns the last 4 KB of the
 * invocation's log, base64, in X-Amz-Log-Result; a function error is still a 200, with X-Amz-Function-Error
 * `Unhandled` and the error as the payload (`errorMessage`, `errorType`, and `stackTrace` for Python or `trace` for
 * Node.js); an unknown function is ResourceNotFoundException (404); a payload that is not JSON is
 * InvalidRequestContentException (400). X-Amz-Client-Context is accepted and not passed on.
 */
import type { LambdaRuntime } from '../lambda.js';
import { AwsError } from '../errors.js';
import { PythonFunctionError } from '../python-runtime.js';
import { RawRestJsonResponse, type RequestContext, type RestRequest, type ServiceDefinition } from './types.js';

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
// Lambda's FunctionName pattern (API_Invoke): name, partial ARN or ARN, each with an optional qualifier.
const FUNCTION_NAME = /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$/;
const QUALIFIER = /^(\$LATEST|[a-zA-Z0-9-_]+)$/;
/** Lambda's Tail: the last 4 KB of the log. */
export const TAIL_BYTES = 4096;

const validation = (value: string, field: string, constraint: string) =>
  new AwsError('ValidationException', `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`);

/** The registered function a FunctionName (and Qualifier) names, or ResourceNotFoundException as Lambda answers it. */
function resolveFunction(runtime: LambdaRuntime, functionName: string, qualifierParam: string | null, ctx: RequestContext): { name: string; arn: string } {
  if (functionName.length < 1 || functionName.length > 170) throw validation(functionName, 'functionName', 'Member must have length less than or equal to 170');
  const m = FUNCTION_NAME.exec(functionName);
  if (!m) throw validation(functionName, 'functionName', `Member must satisfy regular expression pattern: ${FUNCTION_NAME.source.slice(1, -1)}`);
  if (qualifierParam !== null && !QUALIFIER.test(qualifierParam)) throw validation(qualifierParam, 'qualifier', 'Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)');
  const region = m[3]?.slice(0, -1) ?? ctx.region;
  const account = m[5]?.slice(0, -1) ?? ctx.account;
  const name = m[7];
  const qualifier = m[9] ?? qualifierParam ?? undefined;
  const arn = `arn:aws:lambda:${region}:${account}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
  if (m[9] !== undefined && qualifierParam !== null && m[9] !== qualifierParam) {
    throw new AwsError('InvalidParameterValueException', 'The derived qualifier from the function name does not match the specified qualifier.');
  }
  // The stage's functions live in the caller's account and region, in their one version.
  if (region !== ctx.region || account !== ctx.account || !runtime.has(name) || (qualifier !== undefined && qualifier !== '$LATEST')) {
    throw new AwsError('ResourceNotFoundException', `Function not found: ${arn}`, 404, { Type: 'User' });
  }
  return { name, arn };
}

/** The payload Lambda answers for a function error. */
function errorPayload(error: unknown, requestId: string, now: Date): Record<string, unknown> {
  if (error instanceof PythonFunctionError) {
    if (error.errorType === 'Sandbox.Timedout') return { errorMessage: `${now.toISOString()} ${requestId} ${error.message}`, errorType: error.errorType };
    return { errorMessage: error.message, errorType: error.errorType, requestId, stackTrace: error.stackTrace };
  }
  if (error instanceof Error) {
    if (error.message.startsWith('Task timed out after')) return { errorMessage: `${now.toISOString()} ${requestId} ${error.message}` };
    return { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

/** The last TAIL_BYTES of the log, base64, cut at a character boundary. */
function tail(lines: string[]): string {
  const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
  let start = Math.max(0, bytes.length - TAIL_BYTES);
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('base64');
}

async function invoke(runtime: LambdaRuntime, request: RestRequest, ctx: RequestContext): Promise<RawRestJsonResponse> {
  const functionName = INVOKE_PATH.exec(request.path)![1];
  const fn = resolveFunction(runtime, functionName, request.query.get('Qualifier'), ctx);
  const invocationType = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
  if (!['RequestResponse', 'Event', 'DryRun'].includes(invocationType)) {
    throw validation(invocationType, 'invocationType', 'Member must satisfy enum value set: [Event, RequestResponse, DryRun]');
  }
  const logType = request.headers['x-amz-log-type'] ?? 'None';
  if (!['None', 'Tail'].includes(logType)) throw validation(logType, 'logType', 'Member must satisfy enum value set: [Tail, None]');
  let event: unknown = {};
  if (request.body.trim() !== '') {
    try {
      event = JSON.parse(request.body) as unknown;
    } catch (e) {
      throw new AwsError('InvalidRequestContentException', `Could not parse request body into json: Could not parse payload into json: ${(e as Error).message}`, 400, { Type: 'User' });
    }
  }
  const trigger = `Lambda Invoke by ${ctx.caller.arn}`;
  if (invocationType === 'DryRun') return new RawRestJsonResponse(204, {}, '');
  if (invocationType === 'Event') {
    runtime.invokeAsync(fn.name, event, trigger);
    return new RawRestJsonResponse(202, {}, '');
  }
  const outcome = await runtime.invokeWithLog(fn.name, event, trigger);
  const headers: Record<string, string> = { 'x-amz-executed-version': '$LATEST' };
  if (logType === 'Tail') headers['x-amz-log-result'] = tail(outcome.logs);
  if (outcome.failed) {
    headers['x-amz-function-error'] = 'Unhandled';
    return new RawRestJsonResponse(200, headers, JSON.stringify(errorPayload(outcome.error, outcome.requestId, ctx.clock.now())));
  }
  return new RawRestJsonResponse(200, headers, outcome.result === undefined ? 'null' : JSON.stringify(outcome.result));
}

/** The Lambda operations localcloud serves. */
export const LAMBDA_OPERATIONS = ['Invoke'] as const;

/** The Lambda API over a runtime's functions. */
export function lambdaService(runtime: LambdaRuntime): ServiceDefinition {
  return {
    name: 'lambda',
    protocol: 'rest-json',
    restOperation: (request) => (request.method === 'POST' && INVOKE_PATH.test(request.path) ? 'Invoke' : undefined),
    operations: {
      Invoke: (request: RestRequest, ctx: RequestContext) => invoke(runtime, request, ctx),
    } satisfies Record<(typeof LAMBDA_OPERATIONS)[number], unknown>,
  };
}
