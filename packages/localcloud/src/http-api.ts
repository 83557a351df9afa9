import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY_BYTES) chunks.push(c);
      });
      req.on('end', () => {
        void (async () => {
          const send = (status: number, body: unknown) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(body));
          };
          if (size > MAX_BODY_BYTES) return send(413, { message: 'Request Entity Too Large' });
          const url = new URL(req.url ?? '/', 'http://localhost');
          const method = (req.method ?? 'GET').toUpperCase();
          const route = this.routes.find((r) => r.method === method && r.regex.test(url.pathname));
          if (!route) return send(404, { message: 'Not Found' });
          const match = route.regex.exec(url.pathname)!;
          const body = Buffer.concat(chunks).toString('utf8');
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
            ...(route.params.length ? { pathParameters: Object.fromEntries(route.params.map((p, i) => [p, decodeURIComponent(match[i + 1])])) } : {}),
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
        })();
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, resolve);
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
