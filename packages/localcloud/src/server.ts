import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { DynamoTtl } from './dynamo-ttl.js';
import { AwsError, notEmulated, OPERATION_NAME } from './errors.js';
import { TimeoutFault, type Faults, type CallCounter } from './faults.js';
import type { IamPolicies } from './iam.js';
import { emptyPage, pageable, unwrapToken } from './paging-fault.js';
import { BodyTooLarge, readBody, refuseAndClose } from './body-limit.js';
import { decodeQuery, excerpt } from './protocols/query.js';
import { parseJsonBody } from './protocols/json.js';
import { checkJsonShape } from './protocols/json-shapes.js';
import { escapeXml, toXml, type XmlValue } from './protocols/xml.js';
import { callerFor, type Caller } from './services/sts.js';
import { RawRestJsonResponse, type RequestContext, type RestRequest, type RestResponse, type ServiceDefinition } from './services/types.js';

export const DEFAULT_ACCOUNT = '000000000000';
export const DEFAULT_REGION = 'us-east-1';

/**
 * Largest request body read for the services localcloud parses itself. The largest requests the emulated
 * operations take are a few hundred KB (PutEvents and Publish: 256 KB; CreateDocument: 64 KB of content).
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** DynamoDB's own request size limit (BatchWriteItem); dynalite reads those bodies. */
export const MAX_DYNAMODB_BODY_BYTES = 16 * 1024 * 1024;
/** The control API (`/_localcloud/…`): Lambda's synchronous invoke payload limit, since invoke bodies are events. */
export const MAX_CONTROL_BODY_BYTES = 6 * 1024 * 1024;

/** The emulator around the services: what every request context shares. */
export type EmulatorContext = Omit<RequestContext, 'service' | 'operation' | 'region' | 'account' | 'requestId' | 'caller'>;

export interface Dispatcher {
  services: ServiceDefinition[];
  faults: Faults;
  calls: CallCounter;
  iam: IamPolicies;
  /** dynalite's request listener: DynamoDB requests are passed to it untouched. */
  dynamodb: RequestListener;
  /** DynamoDB operations answered in front of dynalite (TTL). */
  dynamodbTtl?: DynamoTtl;
  control: (req: IncomingMessage, res: ServerResponse, body: string) => Promise<void>;
  context: EmulatorContext;
  /** Called after every successful mutating call, so state is persisted. */
  changed: () => void;
  /** Where internal failures are reported (the stage log); never sent to the client. */
  log?: (line: string) => void;
}

/** How a request is answered: the wire protocol of its service (DynamoDB's awsJson1_0 is dynalite's). */
type Wire = ServiceDefinition['protocol'] | 'dynamodb';

/** AWS region names (`us-east-1`, `us-gov-west-1`, `cn-north-1`); anything else in a signature is refused. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCESS_KEY = /^[\w+=,.@:/-]{1,128}$/;

/**
 * `Credential=AKID/20261122/eu-west-1/ssm/aws4_request` -> access key, region and signing name, from the
 * Authorization header or a presigned URL's `X-Amz-Credential`; plus the session token of temporary credentials.
 */
function signingScope(req: IncomingMessage, query: URLSearchParams): { accessKeyId?: string; region?: string; service?: string; sessionToken?: string } {
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
function authError(e: AwsError, protocol: Wire): AwsError {
  if (protocol !== 'json' && protocol !== 'rest-json' && protocol !== 'dynamodb') return e;
  const names: Record<string, string> = { ExpiredToken: 'ExpiredTokenException', InvalidClientTokenId: 'UnrecognizedClientException' };
  return Object.hasOwn(names, e.code) ? new AwsError(names[e.code], e.message, e.status) : e;
}

/** JSON with timestamps as epoch seconds, as the awsJson protocols send them. */
function awsJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const original = this[key];
    return original instanceof Date ? original.getTime() / 1000 : v;
  });
}

const READ_ONLY = /^(Get|Describe|List|Head)/;

/**
 * What a request that went wrong answers, in the protocol of its service: awsJson `{"__type":…}`, rest-json
 * `x-amzn-errortype` with `{"Message":…}`, S3's `<Error>`, EC2's `<Response><Errors>`, query's `<ErrorResponse>`.
 */
function writeError(res: ServerResponse, wire: Wire, err: AwsError, requestId: string): void {
  if (res.headersSent) return void res.end();
  if (wire === 'json' || wire === 'dynamodb') {
    res.writeHead(err.status, { 'content-type': wire === 'dynamodb' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId, 'x-amzn-errortype': err.code });
    const type = wire === 'dynamodb' ? `com.amazonaws.dynamodb.v20120810#${err.code}` : err.code;
    return void res.end(awsJson({ ...err.members, __type: type, message: err.message }));
  }
  if (wire === 'rest-json') {
    res.writeHead(err.status, { 'content-type': 'application/json', 'x-amzn-requestid': requestId, 'x-amzn-errortype': err.code });
    return void res.end(JSON.stringify({ ...err.members, Message: err.message }));
  }
  if (wire === 'rest-xml') {
    res.writeHead(err.status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
    return void res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message><RequestId>${requestId}</RequestId></Error>`);
  }
  res.writeHead(err.status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
      (wire === 'ec2'
        ? `<Response><Errors><Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
        : `<ErrorResponse><Error><Type>${err.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`),
  );
}

/** Each protocol's answer to a body over the limit (S3: EntityTooLarge, which it sends as a 400). */
function tooLarge(wire: Wire, limit: number): AwsError {
  const message = `The request body exceeds the maximum allowed size of ${limit} bytes`;
  if (wire === 'rest-xml') return new AwsError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.', 400, { MaxSizeAllowed: limit });
  if (wire === 'json' || wire === 'rest-json' || wire === 'dynamodb') return new AwsError('RequestEntityTooLargeException', message, 413);
  return new AwsError('RequestEntityTooLarge', message, 413);
}

/** The request listener of localcloud's AWS endpoint. */
export function createRequestListener(d: Dispatcher): RequestListener {
  const byTarget = new Map(d.services.filter((s) => s.targetPrefix).map((s) => [s.targetPrefix!, s]));
  const byName = new Map(d.services.map((s) => [s.name, s]));

  return (req, res) => {
    const requestId = randomUUID();
    // The protocol the answer is written in; refined as the request is recognised, so that even a failure nobody
    // foresaw is answered in the format the client reads.
    let wire: Wire = 'query';
    void (async () => {
      const url = req.url ?? '/';
      if (url.startsWith('/_localcloud')) {
        let body: string;
        try {
          body = await readBody(req, MAX_CONTROL_BODY_BYTES);
        } catch (e) {
          if (!(e instanceof BodyTooLarge)) throw e;
          return refuseAndClose(req, res, () => {
            res.writeHead(413, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: e.message }));
          });
        }
        await d.control(req, res, body);
        return;
      }
      const parsedUrl = new URL(url, 'http://localhost');
      const target = req.headers['x-amz-target'];
      const scope = signingScope(req, parsedUrl.searchParams);
      const signed = typeof target === 'string' ? undefined : byName.get(scope.service ?? '');
      const rest = signed?.protocol === 'rest-json' || signed?.protocol === 'rest-xml' ? signed : undefined;
      wire = typeof target === 'string' ? (target.startsWith('DynamoDB_20120810.') ? 'dynamodb' : 'json') : (rest?.protocol ?? (scope.service === 'ec2' ? 'ec2' : 'query'));
      if (scope.region !== undefined && !REGION.test(scope.region)) {
        throw new AwsError(wire === 'json' || wire === 'dynamodb' || wire === 'rest-json' ? 'InvalidSignatureException' : 'SignatureDoesNotMatch', `Credential should be scoped to a valid region, not '${excerpt(scope.region)}'.`, 403);
      }
      if (scope.accessKeyId !== undefined && !ACCESS_KEY.test(scope.accessKeyId)) {
        throw new AwsError(wire === 'json' || wire === 'dynamodb' || wire === 'rest-json' ? 'UnrecognizedClientException' : 'InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
      }
      const region = scope.region ?? DEFAULT_REGION;
      const identify = () => callerFor(d.context.store, d.context.clock, DEFAULT_ACCOUNT, scope.accessKeyId ?? 'anonymous', scope.sessionToken);

      if (wire === 'dynamodb') {
        const operation = (target as string).slice('DynamoDB_20120810.'.length);
        let body: string;
        try {
          body = await readBody(req, MAX_DYNAMODB_BODY_BYTES);
        } catch (e) {
          if (!(e instanceof BodyTooLarge)) throw e;
          return refuseAndClose(req, res, () => writeError(res, 'dynamodb', tooLarge('dynamodb', e.limit), requestId));
        }
        d.calls.record('dynamodb', operation);
        try {
          // dynalite keeps one set of tables for every account and region; the credentials are still checked.
          const caller = identify();
          d.iam.authorize(caller.roleArn, caller.arn, 'dynamodb', operation, 'json');
          await d.faults.apply('dynamodb', operation);
        } catch (e) {
          if (e instanceof TimeoutFault) return holdThenDrop(req, e);
          throw e instanceof AwsError ? authError(e, 'dynamodb') : e;
        }
        // dynalite throws (and would take the process down) on a body that is not a JSON object: only objects reach it.
        parseJsonBody(body);
        if (d.dynamodbTtl?.handles(operation)) return void (await d.dynamodbTtl.serve(operation, body, res));
        return passToDynalite(req, res, body, requestId);
      }

      let body: string;
      try {
        body = await readBody(req, MAX_BODY_BYTES);
      } catch (e) {
        if (!(e instanceof BodyTooLarge)) throw e;
        const w = wire;
        return refuseAndClose(req, res, () => writeError(res, w, tooLarge(w, e.limit), requestId));
      }

      if (typeof target === 'string') {
        const dot = target.indexOf('.');
        const prefix = dot < 0 ? target : target.slice(0, dot);
        const operation = dot < 0 ? '' : target.slice(dot + 1);
        const service = byTarget.get(prefix);
        if (!service) throw new AwsError('UnknownOperationException', `localcloud does not emulate ${excerpt(target)}`);
        try {
          const input = parseJsonBody(body);
          const out = await call(service, operation, input, region, requestId, identify);
          res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId });
          res.end(awsJson(out ?? {}));
        } catch (e) {
          if (e instanceof TimeoutFault) return holdThenDrop(req, e);
          writeError(res, wire, asAwsError(e, service, operation), requestId);
        }
        return;
      }

      if (rest) {
        let path: string;
        try {
          path = decodeURIComponent(parsedUrl.pathname);
        } catch {
          throw rest.protocol === 'rest-xml' ? new AwsError('InvalidURI', "Couldn't parse the specified URI.") : new AwsError('ValidationException', 'The request path is not a valid URI.');
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
        const request: RestRequest = { method: req.method ?? 'GET', path, query: parsedUrl.searchParams, headers, body };
        const operation = rest.restOperation?.(request);
        try {
          if (!operation) {
            throw rest.protocol === 'rest-xml'
              ? new AwsError('NotImplemented', `localcloud does not emulate ${request.method} ${excerpt(request.path)}${excerpt(parsedUrl.search)} on ${rest.name}`, 501)
              : new AwsError('UnknownOperationException', `localcloud does not emulate ${request.method} ${excerpt(request.path)} on ${rest.name}`);
          }
          const out = await call(rest, operation, request, region, requestId, identify);
          if (out instanceof RawRestJsonResponse) {
            res.writeHead(out.status, { 'content-type': 'application/json', 'x-amzn-requestid': requestId, ...out.headers });
            res.end(out.body);
          } else if (rest.protocol === 'rest-json') {
            res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': requestId });
            res.end(awsJson(out ?? {}));
          } else {
            const answer = (out ?? {}) as RestResponse;
            res.writeHead(answer.status ?? 200, { 'x-amz-request-id': requestId, ...(answer.body ? { 'content-type': 'application/xml' } : {}), ...answer.headers });
            res.end(answer.body ?? '');
          }
        } catch (e) {
          if (e instanceof TimeoutFault) return holdThenDrop(req, e);
          writeError(res, wire, asAwsError(e, rest, operation ?? '(none)'), requestId);
        }
        return;
      }

      const { action, input } = decodeQuery(body || parsedUrl.search.slice(1));
      const service = byName.get(scope.service ?? '') ?? (action ? guessQueryService(action) : undefined);
      if (service?.protocol === 'ec2') wire = 'ec2';
      if (!service) {
        throw new AwsError('InvalidAction', `localcloud does not emulate the service of this request (signing name ${excerpt(scope.service ?? 'none')}, Action ${excerpt(action || 'none')})`);
      }
      const sendXml = (xml: string) => {
        res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
      };
      try {
        const out = (await call(service, action, input, region, requestId, identify)) as Record<string, XmlValue> | undefined;
        if (service.protocol === 'ec2') {
          const inner = Object.entries(out ?? {}).map(([k, v]) => toXml(k, v, 'item')).join('');
          sendXml(`<${action}Response xmlns="${service.xmlns}"><requestId>${requestId}</requestId>${inner}</${action}Response>`);
        } else {
          sendXml(`<${action}Response xmlns="${service.xmlns}">${toXml(`${action}Result`, out ?? {}, 'member')}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`);
        }
      } catch (e) {
        if (e instanceof TimeoutFault) return holdThenDrop(req, e);
        writeError(res, wire, asAwsError(e, service, action), requestId);
      }
    })().catch((e: unknown) => {
      // Never a hang, and never JavaScript internals: whatever went wrong is answered in the request's protocol.
      if (e instanceof AwsError) return writeError(res, wire, e, requestId);
      d.log?.(`localcloud: internal failure on request ${requestId}: ${e instanceof Error ? `${e.name}: ${excerpt(e.message, 200)}` : 'unknown'}`);
      writeError(res, wire, new AwsError(wire === 'ec2' ? 'InternalError' : 'InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500), requestId);
    });
  };

  /**
   * Runs one operation: counts it, checks the credentials (`identify` names the caller, whose account the
   * operation acts in) and, for a registered role, its permission; applies faults, and marks the state changed
   * after a mutating call.
   */
  async function call(service: ServiceDefinition, operation: string, input: unknown, region: string, requestId: string, identify: () => Caller): Promise<unknown> {
    // Operation names are data: only the table's own entries are operations (never `constructor` or `__proto__`).
    const op = Object.hasOwn(service.operations, operation) ? service.operations[operation] : undefined;
    d.calls.record(service.name, op ? operation : '(unknown)');
    if (!op) {
      // A name of AWS's form is an operation AWS may have and localcloud does not emulate (UnsupportedOperation,
      // naming it); anything else (`constructor`, `toString`) is no operation at all, as AWS answers those.
      if (OPERATION_NAME.test(operation)) throw notEmulated(service.protocol, `${service.name}:${operation}`);
      throw service.protocol === 'json' || service.protocol === 'rest-json'
        ? new AwsError('UnknownOperationException', `localcloud does not emulate ${service.name}:${excerpt(operation)}`)
        : new AwsError('InvalidAction', `The action ${excerpt(operation)} is not valid for this web service (localcloud does not emulate ${service.name}:${excerpt(operation)}).`);
    }
    let caller: Caller;
    try {
      caller = identify();
    } catch (e) {
      throw e instanceof AwsError ? authError(e, service.protocol) : e;
    }
    d.iam.authorize(caller.roleArn, caller.arn, service.name, operation, service.protocol);
    await d.faults.apply(service.name, operation);
    if (service.protocol === 'json') await checkJsonShape(service.name, operation, input as Record<string, unknown>);
    const ctx: RequestContext = { ...d.context, service: service.name, operation, region, account: caller.account, requestId, caller };
    // The empty-page fault: a token from an empty page leads to the page it stood for; a filtered listing may be drawn to answer one.
    const { input: served, followed } = unwrapToken(service.name, input);
    const empty = !followed && pageable(service.name, operation, served) && d.faults.emptyPage(service.name, operation);
    const out = await op(served, ctx);
    if (!READ_ONLY.test(operation)) d.changed();
    return empty ? emptyPage(service.name, out, served) : out;
  }

  /**
   * Hands a DynamoDB request, whose body has been read, to dynalite: a stand-in request replays the body. dynalite
   * checks member types as the body ends, synchronously, and throws on shapes it does not expect; that is the
   * client's SerializationException here, where in dynalite it would be an uncaught exception.
   */
  function passToDynalite(req: IncomingMessage, res: ServerResponse, body: string, requestId: string): void {
    const replay = Object.assign(new EventEmitter(), { headers: req.headers, method: req.method, url: req.url, socket: req.socket, httpVersion: req.httpVersion });
    d.dynamodb(replay as unknown as IncomingMessage, res);
    try {
      if (body) replay.emit('data', Buffer.from(body, 'utf8'));
      replay.emit('end');
    } catch (e) {
      d.log?.(`localcloud: dynamodb could not use its input: ${e instanceof Error ? `${e.name}: ${excerpt(e.message, 200)}` : 'unknown'}`);
      writeError(res, 'dynamodb', new AwsError('SerializationException', 'A member of the request has a type or shape DynamoDB does not accept.'), requestId);
    }
  }

  function guessQueryService(action: string): ServiceDefinition | undefined {
    return d.services.find((s) => s.protocol !== 'json' && s.protocol !== 'rest-json' && Object.hasOwn(s.operations, action));
  }

  /**
   * An operation's failure as the service's error. A JavaScript error thrown while an operation read its input
   * means the input had a shape the operation did not expect (a member of the wrong type, a list where a value
   * belongs): that is the client's error in the protocol's own words, never JavaScript internals; the detail goes
   * to the stage log, where a localcloud defect would show too.
   */
  function asAwsError(e: unknown, service: ServiceDefinition, operation: string): AwsError {
    if (e instanceof AwsError) return e;
    d.log?.(`localcloud: ${service.name}:${operation} could not use its input: ${e instanceof Error ? `${e.name}: ${excerpt(e.message, 200)}` : 'unknown'}`);
    const message = `A member of the ${operation} request has a type or shape the operation does not accept.`;
    if (service.protocol === 'json' || service.protocol === 'rest-json') return new AwsError(service.protocol === 'json' ? 'SerializationException' : 'ValidationException', message);
    if (service.protocol === 'ec2') return new AwsError('InvalidParameterValue', message);
    if (service.protocol === 'rest-xml') return new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    return new AwsError('ValidationError', message);
  }
}
