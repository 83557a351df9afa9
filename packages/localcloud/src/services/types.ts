import type { EventBus } from '../bus.js';
import type { VirtualClock } from '../clock.js';
import type { Store } from '../store.js';
import type { Caller } from './sts.js';

/** What an operation knows of its request and of the emulator around it. */
export interface RequestContext {
  service: string;
  operation: string;
  region: string;
  account: string;
  requestId: string;
  /** Who signed the request: an assumed role's keys carry `roleArn`; any other key acts as the account's root. */
  caller: Caller;
  clock: VirtualClock;
  store: Store;
  bus: EventBus;
}

// Inputs arrive as parsed wire data; each operation declares the shape it reads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Operation = (input: any, ctx: RequestContext) => unknown;

/** An emulated AWS service: its wire protocol and its operations by name. */
export interface ServiceDefinition {
  /** The signing name (`ssm`, `ec2`, `sts` …), which also names it in faults and call counts. */
  name: string;
  protocol: 'json' | 'ec2' | 'query' | 'rest-xml' | 'rest-json';
  /** awsJson: the X-Amz-Target prefix (`AmazonSSM`); query/ec2: the response namespace. */
  targetPrefix?: string;
  xmlns?: string;
  operations: Record<string, Operation>;
  /**
   * rest-xml (S3): names the operation of a request from its method, path, query and headers (undefined when the
   * request matches none). The operation then receives the whole `RestRequest` as its input and answers a
   * `RestResponse`; errors are thrown as AwsError and written as `<Error><Code>…</Code><Message>…</Message></Error>`.
   *
   * rest-json (EventBridge Scheduler): the same, except that an operation answers the response body as a plain
   * object (Dates are sent as epoch seconds), and errors are written as `x-amzn-errortype` with a `{"Message": …}` body.
   */
  restOperation?(request: RestRequest): string | undefined;
  /** Called when the emulator starts and after the clock moves: re-arm lifecycle timers from persisted state. */
  start?(ctx: Omit<RequestContext, 'service' | 'operation' | 'region' | 'account' | 'requestId' | 'caller'>): void;
}

/** An HTTP request of a rest-xml or rest-json service, as its operation receives it. */
export interface RestRequest {
  method: string;
  /** Decoded path, e.g. `/my-bucket` (path-style addressing). */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
}

/** What a rest-xml operation answers; `body` is sent as is (XML text, or empty). */
export interface RestResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * What a rest-json operation answers when its response is not a JSON object of members (Lambda Invoke: the
 * function's own payload, its status code and its `X-Amz-*` headers): sent as is.
 */
export class RawRestJsonResponse {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly body: string,
  ) {}
}
