import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
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

/** Content types of the files a built single-page app holds. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** Static files served under a path prefix (the console's `dist` under `/console/`), and what to say when they are missing. */
export interface StaticMount {
  prefix: string;
  directory: string;
  /** The sentence of the 503 answered while `directory` has no index.html. */
  missing: string;
}

/** Routes the HTTP API answers itself, before the functions' routes (the local stage's `/api/local/*`). */
export type LocalRoute = (req: { method: string; path: string; body: string }) => Promise<{ status: number; body: unknown } | undefined>;

/**
 * An HTTP API (API Gateway v2, payload format 2.0) in front of the Lambda runtime: each request becomes the
 * event API Gateway would send, and the function's result becomes the response.
 */
export class HttpApi {
  private routes: CompiledRoute[] = [];
  private server: Server | undefined;
  private mounts: StaticMount[] = [];
  private local: LocalRoute[] = [];

  /**
   * Serves the files of `directory` under `prefix` (`/console/`): a path that is not a file answers the index.html
   * (a single-page app's own addresses), `..` never leaves the directory, and a directory without index.html
   * answers 503 with `missing`.
   */
  serveStatic(mount: StaticMount): void {
    this.mounts.push({ ...mount, directory: resolve(mount.directory) });
  }

  /** Adds a route answered in process (see LocalRoute); it returns undefined for requests that are not its own. */
  addLocalRoute(route: LocalRoute): void {
    this.local.push(route);
  }

  /** Answers a static file, or returns false when no mount has the path. */
  private serveFile(res: ServerResponse, method: string, pathname: string): boolean {
    const mount = this.mounts.find((m) => pathname === m.prefix.replace(/\/$/, '') || pathname.startsWith(m.prefix));
    if (!mount) return false;
    const index = join(mount.directory, 'index.html');
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'GET, HEAD' });
      res.end(JSON.stringify({ message: 'Method Not Allowed' }));
      return true;
    }
    if (!existsSync(index)) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${mount.missing}\n`);
      return true;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(pathname.slice(mount.prefix.length));
    } catch {
      relative = '';
    }
    const file = resolve(mount.directory, `.${sep}${relative}`);
    // Never outside the directory (`..`, `..%2f`, an absolute path): those get the app's index, as any unknown path.
    const inside = file === mount.directory || file.startsWith(mount.directory + sep);
    const target = inside && relative !== '' && !relative.includes('\0') && existsSync(file) && statSync(file).isFile() ? file : index;
    const type = CONTENT_TYPES[extname(target).toLowerCase()] ?? 'application/octet-stream';
    const body = readFileSync(target);
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'x-content-type-options': 'nosniff', 'cache-control': target === index ? 'no-cache' : 'public, max-age=3600' });
    res.end(method === 'HEAD' ? undefined : body);
    return true;
  }

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
    if (this.serveFile(res, method, url.pathname)) return;
    for (const local of this.local) {
      try {
        const answer = await local({ method, path: url.pathname, body });
        if (answer) return send(answer.status, answer.body);
      } catch (e) {
        return send(500, { error: 'InternalError', message: e instanceof Error ? e.message.slice(0, 500) : 'failed' });
      }
    }
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
