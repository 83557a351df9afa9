import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLarge, readBody, refuseAndClose } from './body-limit.js';
import { listenOn } from './port-in-use.js';
import type { VirtualClock } from './clock.js';
import type { LambdaRuntime } from './lambda.js';

export interface RouteRegistration {
  method: string;
  /** `/activations`, `/items/{id}`: API Gateway path syntax. */
  path: string;
  function: string;
}

interface CompiledRoute extends RouteRegistration {
  regex: RegExp;
  params: string[];
}

interface ProxyResult {
  statusCode?: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * An HTTP API (API Gateway v2, payload format 2.0) in front of the Lambda runtime: each request becomes the
 * event API Gateway would send, and the function's result becomes the response.
 */
export class HttpApi {
  private routes: CompiledRoute[] = [];
  private server: Server | undefined;

  constructor(
    private readonly lambda: LambdaRuntime,
    private readonly clock: VirtualClock,
    private readonly account: string,
  ) {}

  addRoute(route: RouteRegistration): void {
    const params: string[] = [];
    const pattern = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\+?\}/g, (_, name: string) => {
      params.push(name);
      return '([^/]+)';
    });
    this.routes.push({ ...route, method: route.method.toUpperCase(), regex: new RegExp(`^${pattern}$`), params });
  }

  listRoutes(): RouteRegistration[] {
    return this.routes.map(({ method, path, function: fn }) => ({ method, path, function: fn }));
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    this.server = createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      readBody(req, MAX_BODY_BYTES).then(
        (body) => void this.handle(req, res, body, send),
        (e: unknown) => {
          if (e instanceof BodyTooLarge) refuseAndClose(req, res, () => send(413, { message: 'Request Entity Too Large' }));
          else send(400, { message: 'Bad Request' });
        },
      );
    });
    await listenOn(this.server, port, host, 'HTTP API');
    return (this.server.address() as AddressInfo).port;
  }

  /** Turns one request into the function's event, and its result into the response. */
  private async handle(req: IncomingMessage, res: ServerResponse, body: string, send: (status: number, body: unknown) => void): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const route = this.routes.find((r) => r.method === method && r.regex.test(url.pathname));
    if (!route) return send(404, { message: 'Not Found' });
    const match = route.regex.exec(url.pathname)!;
    let pathParameters: Record<string, string>;
    try {
      pathParameters = Object.fromEntries(route.params.map((p, i) => [p, decodeURIComponent(match[i + 1])]));
    } catch {
      // API Gateway answers a path it cannot decode before any function runs.
      return send(400, { message: 'Bad Request' });
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const now = this.clock.now();
    const routeKey = `${route.method} ${route.path}`;
    const event = {
      version: '2.0',
      routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      ...(req.headers.cookie ? { cookies: req.headers.cookie.split(/;\s*/) } : {}),
      headers,
      ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
      ...(route.params.length ? { pathParameters } : {}),
      requestContext: {
        accountId: this.account,
        apiId: 'local',
        domainName: headers.host ?? 'localhost',
        domainPrefix: 'local',
        http: { method, path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
        requestId: randomUUID(),
        routeKey,
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      },
      ...(body ? { body, isBase64Encoded: false } : { isBase64Encoded: false }),
    };
    try {
      const result = (await this.lambda.invoke(route.function, event, `${routeKey}`)) as ProxyResult | string | undefined;
      // Payload 2.0: a result without statusCode is a 200 JSON body.
      if (typeof result !== 'object' || result === null || result.statusCode === undefined) return send(200, result ?? null);
      res.writeHead(result.statusCode, { 'content-type': 'application/json', ...result.headers });
      res.end(result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
    } catch {
      send(500, { message: 'Internal Server Error' });
    }
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
