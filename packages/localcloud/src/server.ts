import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { DynamoTtl } from './dynamo-ttl.js';
import { AwsError } from './errors.js';
import { TimeoutFault, type Faults, type CallCounter } from './faults.js';
import { decodeQuery } from './protocols/query.js';
import { escapeXml, toXml, type XmlValue } from './protocols/xml.js';
import { callerFor, type Caller } from './services/sts.js';
import type { RequestContext, RestRequest, RestResponse, ServiceDefinition } from './services/types.js';

export const DEFAULT_ACCOUNT = '000000000000';
export const DEFAULT_REGION = 'us-east-1';

export interface Dispatcher {
  services: ServiceDefinition[];
  faults: Faults;
  calls: CallCounter;
  /** dynalite's request listener: DynamoDB requests are passed to it untouched. */
  dynamodb: RequestListener;
  /** DynamoDB operations answered in front of dynalite (TTL). */
  dynamodbTtl?: DynamoTtl;
  control: (req: IncomingMessage, res: ServerResponse, body: string) => Promise<void>;
  context: Omit<RequestContext, 'service' | 'operation' | 'region' | 'account' | 'requestId'>;
  /** Called after every successful mutating call, so state is persisted. */
  changed: () => void;
}

/**
 * `Credential=AKID/20261122/eu-west-1/ssm/aws4_request` -> access key, region and signing name, from the
 * Authorization header or a presigned URL's `X-Amz-Credential`; plus the session token of temporary credentials.
 */
function signingScope(req: IncomingMessage): { accessKeyId?: string; region?: string; service?: string; sessionToken?: string } {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const credential = /Credential=([^,\s]+)/.exec(req.headers.authorization ?? '')?.[1] ?? query.get('X-Amz-Credential') ?? '';
  const m = /^([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request$/.exec(credential);
  const token = req.headers['x-amz-security-token'];
  const sessionToken = (typeof token === 'string' ? token : undefined) ?? query.get('X-Amz-Security-Token') ?? undefined;
  return m ? { accessKeyId: m[1], region: m[2], service: m[3], sessionToken } : { sessionToken };
}

/**
 * A call drawn to time out: no answer; the connection is dropped once `holdMs` have passed (sooner if the client
 * gives up first), so the client sees its own timeout or a reset connection and retries as it would with AWS.
 */
function holdThenDrop(req: IncomingMessage, fault: TimeoutFault): void {
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), fault.holdMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** Authentication errors under the names each protocol uses (awsJson and restJson: `…Exception`). */
function authError(e: AwsError, protocol: ServiceDefinition['protocol'] | 'dynamodb'): AwsError {
  if (protocol !== 'json' && protocol !== 'rest-json' && protocol !== 'dynamodb') return e;
  const code = { ExpiredToken: 'ExpiredTokenException', InvalidClientTokenId: 'UnrecognizedClientException' }[e.code];
  return code ? new AwsError(code, e.message, e.status) : e;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** JSON with timestamps as epoch seconds, as the awsJson protocols send them. */
function awsJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const original = this[key];
    return original instanceof Date ? original.getTime() / 1000 : v;
  });
}

const READ_ONLY = /^(Get|Describe|List)/;

/** The request listener of localcloud's AWS endpoint. */
export function createRequestListener(d: Dispatcher): RequestListener {
  const byTarget = new Map(d.services.filter((s) => s.targetPrefix).map((s) => [s.targetPrefix!, s]));
  const byName = new Map(d.services.map((s) => [s.name, s]));

  return (req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      if (url.startsWith('/_localcloud')) {
        await d.control(req, res, await readBody(req));
        return;
      }
      const target = req.headers['x-amz-target'];
      const scope = signingScope(req);
      const region = scope.region ?? DEFAULT_REGION;
      const identify = () => callerFor(d.context.store, d.context.clock, DEFAULT_ACCOUNT, scope.accessKeyId ?? 'anonymous', scope.sessionToken);
      if (typeof target === 'string' && target.startsWith('DynamoDB_20120810.')) {
        const operation = target.slice('DynamoDB_20120810.'.length);
        d.calls.record('dynamodb', operation);
        try {
          // dynalite keeps one set of tables for every account and region; the credentials are still checked.
          identify();
          await d.faults.apply('dynamodb', operation);
        } catch (e) {
          if (e instanceof TimeoutFault) return holdThenDrop(req, e);
          const err = authError(e as AwsError, 'dynamodb');
          res.writeHead(err.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
          res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${err.code}`, message: err.message }));
          return;
        }
        if (d.dynamodbTtl?.handles(operation)) return void (await d.dynamodbTtl.serve(operation, await readBody(req), res));
        d.dynamodb(req, res);
        return;
      }
      const body = await readBody(req);
      const requestId = randomUUID();
      if (typeof target === 'string') {
        const [prefix, operation = ''] = target.split('.');
        const service = byTarget.get(prefix ?? '');
        const contentType = req.headers['content-type'] ?? 'application/x-amz-json-1.1';
        const send = (status: number, payload: unknown, errorType?: string) => {
          res.writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': requestId, ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
          res.end(awsJson(payload));
        };
        if (!service) return send(400, { __type: 'UnknownOperationException', message: `localcloud does not emulate ${target}` }, 'UnknownOperationException');
        try {
          const input = body ? (JSON.parse(body) as unknown) : {};
          const out = await call(service, operation, input, region, requestId, identify);
          send(200, out ?? {});
        } catch (e) {
          if (e instanceof TimeoutFault) return holdThenDrop(req, e);
          const err = asAwsError(e, service.name, operation);
          send(err.status, { ...err.members, __type: err.code, message: err.message }, err.code);
        }
        return;
      }
      const rest = byName.get(scope.service ?? '');
      const restRequest = (): RestRequest => {
        const parsed = new URL(url, 'http://localhost');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
        return { method: req.method ?? 'GET', path: decodeURIComponent(parsed.pathname), query: parsed.searchParams, headers, body };
      };
      if (rest?.protocol === 'rest-json') {
        const request = restRequest();
        const operation = rest.restOperation?.(request);
        const send = (status: number, payload: string, errorType?: string) => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': requestId, ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
          res.end(payload);
        };
        try {
          if (!operation) throw new AwsError('UnknownOperationException', `localcloud does not emulate ${request.method} ${request.path} on ${rest.name}`);
          send(200, awsJson((await call(rest, operation, request, region, requestId, identify)) ?? {}));
        } catch (e) {
          if (e instanceof TimeoutFault) return holdThenDrop(req, e);
          const err = asAwsError(e, rest.name, operation ?? '(none)');
          send(err.status, JSON.stringify({ ...err.members, Message: err.message }), err.code);
        }
        return;
      }
      if (rest?.protocol === 'rest-xml') {
        const request = restRequest();
        const parsed = new URL(url, 'http://localhost');
        const operation = rest.restOperation?.(request);
        try {
          if (!operation) throw new AwsError('NotImplemented', `localcloud does not emulate ${request.method} ${request.path}${parsed.search} on ${rest.name}`, 501);
          const out = ((await call(rest, operation, request, region, requestId, identify)) ?? {}) as RestResponse;
          res.writeHead(out.status ?? 200, { 'x-amz-request-id': requestId, ...(out.body ? { 'content-type': 'application/xml' } : {}), ...out.headers });
          res.end(out.body ?? '');
        } catch (e) {
          if (e instanceof TimeoutFault) return holdThenDrop(req, e);
          const err = asAwsError(e, rest.name, operation ?? '(none)');
          res.writeHead(err.status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
          res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message><RequestId>${requestId}</RequestId></Error>`);
        }
        return;
      }
      const { action, input } = decodeQuery(body || (url.split('?')[1] ?? ''));
      const service = byName.get(scope.service ?? '') ?? (action ? guessQueryService(action) : undefined);
      const isEc2 = service?.protocol === 'ec2';
      const sendXml = (status: number, xml: string) => {
        res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
      };
      const sendError = (err: AwsError) =>
        sendXml(
          err.status,
          isEc2
            ? `<Response><Errors><Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
            : `<ErrorResponse><Error><Type>${err.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      if (!service) {
        sendError(new AwsError('InvalidAction', `localcloud does not emulate the service of this request (signing name ${scope.service ?? 'none'}, Action ${action || 'none'})`));
        return;
      }
      try {
        const out = (await call(service, action, input, region, requestId, identify)) as Record<string, XmlValue> | undefined;
        if (isEc2) {
          const inner = Object.entries(out ?? {}).map(([k, v]) => toXml(k, v, 'item')).join('');
          sendXml(200, `<${action}Response xmlns="${service.xmlns}"><requestId>${requestId}</requestId>${inner}</${action}Response>`);
        } else {
          sendXml(
            200,
            `<${action}Response xmlns="${service.xmlns}">${toXml(`${action}Result`, out ?? {}, 'member')}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
          );
        }
      } catch (e) {
        if (e instanceof TimeoutFault) return holdThenDrop(req, e);
        sendError(asAwsError(e, service.name, action));
      }
    })().catch((e: unknown) => {
      // Never a hang: whatever went wrong is answered.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ __type: 'InternalFailure', message: e instanceof Error ? e.message : String(e) }));
    });
  };

  /**
   * Runs one operation: counts it, checks the credentials (`identify` names the caller, whose account the
   * operation acts in), applies faults, and marks the state changed after a mutating call.
   */
  async function call(service: ServiceDefinition, operation: string, input: unknown, region: string, requestId: string, identify: () => Caller): Promise<unknown> {
    const op = service.operations[operation];
    d.calls.record(service.name, operation || '(none)');
    if (!op) {
      throw service.protocol === 'json' || service.protocol === 'rest-json'
        ? new AwsError('UnknownOperationException', `localcloud does not emulate ${service.name}:${operation}`)
        : new AwsError('InvalidAction', `The action ${operation} is not valid for this web service (localcloud does not emulate ${service.name}:${operation}).`);
    }
    let caller: Caller;
    try {
      caller = identify();
    } catch (e) {
      throw e instanceof AwsError ? authError(e, service.protocol) : e;
    }
    await d.faults.apply(service.name, operation);
    // `caller` goes beyond RequestContext: STS reads it (GetCallerIdentity, role chaining in AssumeRole).
    const ctx: RequestContext & { caller: Caller } = { ...d.context, service: service.name, operation, region, account: caller.account, requestId, caller };
    const out = await op(input, ctx);
    if (!READ_ONLY.test(operation)) d.changed();
    return out;
  }

  function guessQueryService(action: string): ServiceDefinition | undefined {
    return d.services.find((s) => s.protocol !== 'json' && action in s.operations);
  }
}

function asAwsError(e: unknown, service: string, operation: string): AwsError {
  if (e instanceof AwsError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new AwsError('InternalFailure', `localcloud ${service}:${operation} failed: ${message}`, 500);
}
