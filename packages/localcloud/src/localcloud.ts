import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import { EventBus } from './bus.js';
import { ClockMoveCancelled, VirtualClock, parseDuration } from './clock.js';
import { DynamoTtl } from './dynamo-ttl.js';
import { CallCounter, Faults, parseFaultRules } from './faults.js';
import { HttpApi } from './http-api.js';
import { Scheduler } from './scheduler.js';
import { seedFleet } from './seed.js';
import { ComplianceInputError, listCompliance, parseComplianceResults, recordCompliance } from './config-rules.js';
import { publishedMessages } from './services/sns.js';
import { registerFromControlApi } from './services/ssm.js';
import { LambdaRuntime, type InvocationRecord } from './lambda.js';
import { pythonHandler, type PythonCode } from './python-runtime.js';
import { issueRoleCredentials } from './services/sts.js';
import { createRequestListener, DEFAULT_ACCOUNT, DEFAULT_REGION } from './server.js';
import { serviceDefinitions } from './services/registry.js';
import type { ServiceDefinition } from './services/types.js';
import { Store } from './store.js';
import { assertDataDirFree, lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { listenOn } from './port-in-use.js';
import { AwsError } from './errors.js';
import { iamControl, IamPolicies } from './iam.js';

export interface LocalcloudOptions {
  /** Port of the AWS endpoint; 0 picks a free one (tests). Default 4566. */
  port?: number;
  host?: string;
  /** Folder for persisted state (`state.json`, DynamoDB files); absent keeps everything in memory. */
  dataDir?: string;
  /** Ignore and overwrite persisted state. */
  fresh?: boolean;
  /** Where the one-line logs go (invocations, lifecycle). */
  log?: (line: string) => void;
  /** Real-time tick that runs due virtual-clock work; 0 disables it (tests drive the clock). Default 250 ms. */
  tickMs?: number;
  /** Called after POST /_localcloud/reset has emptied everything, so the stage can provision again. */
  onReset?: () => Promise<void>;
  /**
   * The ports the data directory's lock file names for this process (a second stage on the directory is told them);
   * default the AWS endpoint's port.
   */
  lockPorts?: Record<string, number>;
  /**
   * The virtual time to start at, when the state is new (not restored from the data directory): tests pin the
   * weekday and hour they run on, so that what a move of the clock runs does not depend on the day they run.
   */
  startAt?: Date;
}

export interface Localcloud {
  url: string;
  port: number;
  clock: VirtualClock;
  lambda: LambdaRuntime;
  bus: EventBus;
  /** The project's HTTP API (API Gateway v2); `listen` it on API_PORT. */
  httpApi: HttpApi;
  /** EventBridge Scheduler: the stage's schedules and those created through the Scheduler API, on the virtual clock. */
  scheduler: Scheduler;
  faults: Faults;
  calls: CallCounter;
  /** Optional IAM enforcement for registered roles (see iam.ts; also `/_localcloud/iam/…`). */
  iam: IamPolicies;
  store: Store;
  /** True when state was loaded from disk rather than started empty. */
  restored: boolean;
  /**
   * Registers a Python function (`python3.x`, a code directory, `module.function`), run by the machine's python3
   * with boto3 pointed at localcloud (see python-runtime.ts). With `roleArn`, it gets credentials of that role (IAM
   * enforcement applies to them when the role is registered); without, any-credentials keys.
   */
  registerPython(fn: PythonFunctionRegistration): void;
  /** Loads a fleet (see seed.ts) into the running emulator; `baseDir` resolves its document files. Returns a summary. */
  seed(fleet: unknown, baseDir?: string): string;
  /** Runs due timers and waits until no invocation is running, repeatedly, until all is quiet. */
  settle(): Promise<void>;
  /** Moves the virtual clock forward (`P46D`, `2m`, or ms), running everything due on the way, then settles. */
  advance(duration: string | number): Promise<void>;
  stop(): Promise<void>;
}

export interface PythonFunctionRegistration extends PythonCode {
  name: string;
  environment?: Record<string, string>;
  /** The region the function runs in (AWS_REGION); default localcloud's default region. */
  region?: string;
  /** The function's execution role: its credentials are the function's. */
  roleArn?: string;
  timeoutSeconds?: number;
  memoryMB?: number;
}

/** The environment variable through which functions in this process read the virtual clock. */
export const CLOCK_OFFSET_ENV = 'LOCALCLOUD_CLOCK_OFFSET_MS';

/**
 * Starts localcloud: the AWS endpoint (real wire protocols), the control API under `/_localcloud`, the Lambda
 * runtime and the event bus. Functions, rules and routes are registered by the caller, as a deployment would.
 */
export async function startLocalcloud(options: LocalcloudOptions = {}): Promise<Localcloud> {
  const log = options.log ?? (() => undefined);
  // One localcloud per data directory: a second one would have dynalite fail on the first one's open database.
  const lock: DataDirLock | undefined = options.dataDir ? lockDataDir(options.dataDir, options.lockPorts ?? { 'AWS endpoint': options.port ?? 4566 }) : undefined;
  if (lock?.tookOverFrom !== undefined) log(`took over ${options.dataDir}: the stage that held it (PID ${lock.tookOverFrom}) is no longer running`);
  try {
    return await startOnLockedDataDir(options, log, lock);
  } catch (e) {
    lock?.release();
    throw e;
  }
}

export { assertDataDirFree };

async function startOnLockedDataDir(options: LocalcloudOptions, log: (line: string) => void, lock: DataDirLock | undefined): Promise<Localcloud> {
  const store = new Store(options.dataDir ? join(options.dataDir, 'state.json') : undefined);
  const restored = options.fresh ? false : store.load();
  const clock = new VirtualClock();
  if (!restored && options.startAt) store.clockOffsetMs = options.startAt.getTime() - Date.now();
  clock.setOffset(store.clockOffsetMs);
  clock.onChange((offset) => {
    store.clockOffsetMs = offset;
    process.env[CLOCK_OFFSET_ENV] = String(offset);
    store.changed();
  });
  process.env[CLOCK_OFFSET_ENV] = String(clock.offset);

  const lambda = new LambdaRuntime(clock, log, DEFAULT_ACCOUNT, DEFAULT_REGION);
  const bus = new EventBus(clock, lambda);
  const httpApi = new HttpApi(lambda, clock, DEFAULT_ACCOUNT);
  const scheduler = new Scheduler(clock, lambda, DEFAULT_ACCOUNT, DEFAULT_REGION);
  const faults = new Faults();
  const calls = new CallCounter();
  const iam = new IamPolicies(store, clock);
  const services: ServiceDefinition[] = serviceDefinitions(scheduler, lambda);
  const context = { clock, store, bus };
  const dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir ? { path: join(options.dataDir, 'dynamodb') } : {}),
  });
  const dynamoListener = dynamo.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
  // dynalite closes its database only when its own server was listening: give it a loopback port it is never
  // asked on by clients (they come through our endpoint), and use it for housekeeping.
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
  const dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  if (options.fresh && options.dataDir) await clearDynamo(dynamoUrl);
  const dynamoTtl = new DynamoTtl(store, clock, dynamoUrl, log);

  const settle = async () => {
    for (let round = 0; round < 100; round++) {
      const ran = await clock.runDue();
      await lambda.idle();
      if (ran === 0 && (await clock.runDue()) === 0) return void (await dynamoTtl.sweepIfDue());
    }
  };
  const startServices = () => services.forEach((s) => s.start?.(context));
  startServices();

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body, null, 2));
  };

  const control = async (req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> => {
    const path = (req.url ?? '').split('?')[0].replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return json(res, 400, { error: 'the body must be JSON' });
    }
    if (typeof body !== 'object' || body === null) return json(res, 400, { error: 'the body must be a JSON object' });
    try {
      if (path === '/_localcloud/health') {
        return json(res, 200, { status: 'ok', now: clock.now().toISOString(), services: services.map((s) => s.name).concat('dynamodb'), functions: lambda.list(), rules: bus.listRules().map((r) => r.name), routes: httpApi.listRoutes(), schedules: scheduler.list() });
      }
      if (path === '/_localcloud/clock') {
        if (method === 'POST') {
          // A client that gives up (Ctrl-C, a timeout) stops the move: nobody is left to wait for it.
          const gone = new AbortController();
          res.once('close', () => res.writableEnded || gone.abort());
          try {
            if (typeof body.atLeast === 'string') {
              // A sleeping Python function wakes at this time (python-bootstrap.ts, driven clock): due work runs on
              // the way, without waiting for running invocations (the caller is one) and without going back.
              const at = Date.parse(body.atLeast);
              if (Number.isNaN(at)) return json(res, 400, { error: 'atLeast must be an ISO-8601 time' });
              if (at > clock.nowMs()) await clock.advance(at - clock.nowMs());
              return json(res, 200, { now: clock.now().toISOString(), offsetMs: clock.offset });
            }
            if (typeof body.advance === 'string') await clock.advance(parseDuration(body.advance), () => lambda.idle(), gone.signal);
            else if (typeof body.set === 'string') await clock.set(new Date(body.set), () => lambda.idle(), gone.signal);
            else return json(res, 400, { error: 'POST /_localcloud/clock takes {"advance":"P46D"}, {"set":"2027-01-01T00:00:00Z"} or {"atLeast":"2027-01-01T00:00:00Z"}' });
          } catch (e) {
            if (!(e instanceof ClockMoveCancelled)) throw e;
            log(`clock: ${e.message} (its client went away)`);
            return;
          }
          await settle();
        }
        return json(res, 200, { now: clock.now().toISOString(), offsetMs: clock.offset });
      }
      if (path === '/_localcloud/faults') {
        if (method === 'POST') faults.set(parseFaultRules(body, services.map((s) => s.name).concat('dynamodb')));
        if (method === 'DELETE') faults.set([]);
        return json(res, 200, { rules: faults.list() });
      }
      if (path === '/_localcloud/calls') {
        if (method === 'DELETE') calls.reset();
        return json(res, 200, calls.snapshot());
      }
      if (path.startsWith('/_localcloud/invoke/') && method === 'POST') {
        const name = decodeURIComponent(path.slice('/_localcloud/invoke/'.length));
        if (!lambda.has(name)) return json(res, 404, { error: `no function named ${name} (functions: ${lambda.list().join(', ') || 'none'})`, functions: lambda.list() });
        try {
          const result = await lambda.invoke(name, body, 'control API');
          await settle();
          return json(res, 200, result ?? null);
        } catch (e) {
          return json(res, 500, { errorType: (e as Error).name, errorMessage: (e as Error).message });
        }
      }
      if (path === '/_localcloud/events') {
        if (method === 'POST') {
          // Lets a developer emit what only AWS can (aws.* sources), e.g. an Image Builder state change.
          const { source, 'detail-type': detailType, detail, resources, region } = body;
          if (typeof source !== 'string' || typeof detailType !== 'string' || typeof detail !== 'object' || detail === null) {
            return json(res, 400, { error: 'POST /_localcloud/events takes {"source":…,"detail-type":…,"detail":{…}}' });
          }
          const event = bus.publish({ source, detailType, detail, resources: resources as string[] | undefined, account: DEFAULT_ACCOUNT, region: typeof region === 'string' ? region : DEFAULT_REGION });
          await settle();
          return json(res, 200, event);
        }
        return json(res, 200, bus.recent);
      }
      if (path === '/_localcloud/sns/messages') {
        const topicArn = new URL(req.url ?? '', 'http://localhost').searchParams.get('topicArn') ?? undefined;
        return json(res, 200, publishedMessages(store, DEFAULT_ACCOUNT, regionParam(req), topicArn));
      }
      if (path === '/_localcloud/ssm/register' && method === 'POST') {
        // What the SSM agent of an on-premises server does with an activation: become a managed node (mi-…).
        try {
          const out = registerFromControlApi(store, DEFAULT_ACCOUNT, DEFAULT_REGION, body);
          store.changed();
          return json(res, 200, out);
        } catch (e) {
          if (e instanceof AwsError) return json(res, e.status, { error: e.code, message: e.message });
          throw e;
        }
      }
      if (path === '/_localcloud/config/compliance') {
        if (method === 'POST') {
          try {
            const events = recordCompliance({ clock, store, bus }, parseComplianceResults(body), { account: DEFAULT_ACCOUNT, region: DEFAULT_REGION }, { notify: body.notify !== false });
            store.changed();
            await settle();
            return json(res, 200, { events });
          } catch (e) {
            if (e instanceof ComplianceInputError) return json(res, 400, { error: e.message });
            throw e;
          }
        }
        return json(res, 200, listCompliance(store));
      }
      if (path === '/_localcloud/invocations' || path === '/_localcloud/failures') {
        // `?since=<ISO time>`: only the records started then or later (virtual time), e.g. one day of a long advance.
        const since = new URL(req.url ?? '', 'http://localhost').searchParams.get('since');
        const records: InvocationRecord[] = path.endsWith('failures') ? lambda.failures : lambda.invocations;
        if (since === null) return json(res, 200, records);
        const from = Date.parse(since);
        if (Number.isNaN(from)) return json(res, 400, { error: `since must be an ISO-8601 time, not ${JSON.stringify(since)}` });
        return json(res, 200, records.filter((r) => Date.parse(r.startedAt) >= from));
      }
      if (path === '/_localcloud/settle' && method === 'POST') {
        await settle();
        return json(res, 200, { now: clock.now().toISOString() });
      }
      if (path === '/_localcloud/reset' && method === 'POST') {
        store.reset();
        clock.clearTimers();
        clock.setOffset(0);
        calls.reset();
        faults.set([]);
        await clearDynamo(dynamoUrl);
        await options.onReset?.();
        startServices();
        scheduler.rearm();
        return json(res, 200, { reset: true });
      }
      if (path.startsWith('/_localcloud/iam/')) {
        const answer = iamControl(iam, method, path, new URL(req.url ?? '', 'http://localhost').searchParams, body);
        if (answer) return json(res, answer.status, answer.body);
      }
      return json(res, 404, { error: `no control endpoint ${method} ${path}` });
    } catch (e) {
      return json(res, 400, { error: e instanceof Error ? e.message : String(e) });
    }
  };

  const server: Server = createServer(
    createRequestListener({ services, faults, calls, iam, dynamodb: dynamoListener, dynamodbTtl: dynamoTtl, control, context, changed: () => store.changed(), log }),
  );
  server.keepAliveTimeout = 5000;
  try {
    await listenOn(server, options.port ?? 4566, options.host ?? '127.0.0.1', 'AWS endpoint');
  } catch (e) {
    // Nothing was served: close the database dynalite opened, or it holds the process (and the data directory).
    await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const tickMs = options.tickMs ?? 250;
  const ticker = tickMs > 0 ? setInterval(() => void clock.runDue().then(() => dynamoTtl.sweepIfDue()), tickMs) : undefined;
  ticker?.unref();

  const url = `http://127.0.0.1:${port}`;
  /** Role credentials per function, renewed when less than 15 minutes of them are left. */
  const roleCredentials = new Map<string, ReturnType<typeof issueRoleCredentials>>();
  const credentialsOf = (fn: PythonFunctionRegistration) => () => {
    if (!fn.roleArn) return { accessKeyId: 'local', secretAccessKey: 'local' };
    let issued = roleCredentials.get(fn.name);
    if (!issued || issued.expiresAt - clock.nowMs() < 15 * 60_000) {
      issued = issueRoleCredentials(store, clock, fn.roleArn, fn.name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64).padEnd(2, '-'));
      roleCredentials.set(fn.name, issued);
      store.changed();
    }
    return issued;
  };

  return {
    url,
    port,
    clock,
    lambda,
    bus,
    httpApi,
    scheduler,
    faults,
    calls,
    iam,
    store,
    restored,
    registerPython(fn) {
      const timeoutSeconds = fn.timeoutSeconds ?? 3;
      const memoryMB = fn.memoryMB ?? 128;
      lambda.register({
        name: fn.name,
        timeoutSeconds,
        memoryMB,
        handler: pythonHandler(fn, {
          endpoint: url,
          region: fn.region ?? DEFAULT_REGION,
          functionArn: `arn:aws:lambda:${fn.region ?? DEFAULT_REGION}:${DEFAULT_ACCOUNT}:function:${fn.name}`,
          memoryMB,
          timeoutSeconds,
          clockOffsetMs: () => clock.offset,
          clockMode: tickMs > 0 ? 'realtime' : 'driven',
          credentials: credentialsOf(fn),
          environment: fn.environment,
        }),
      });
    },
    seed(fleet, baseDir) {
      const summary = seedFleet(store, fleet, baseDir);
      startServices();
      store.changed();
      return summary;
    },
    settle,
    async advance(duration) {
      await clock.advance(typeof duration === 'number' ? duration : parseDuration(duration), () => lambda.idle());
      await settle();
    },
    async stop() {
      if (ticker) clearInterval(ticker);
      await httpApi.close();
      store.flush();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
      lock?.release();
    },
  };
}

/** Deletes every DynamoDB table, through dynalite's own API (which wants a date beside the signature), and waits until they are gone. */
async function clearDynamo(url: string): Promise<void> {
  const call = async (op: string, body: unknown) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'x-amz-target': `DynamoDB_20120810.${op}`,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
        authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=x',
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`could not empty DynamoDB (${op}): ${text}`);
    return JSON.parse(text) as { TableNames?: string[] };
  };
  const { TableNames = [] } = await call('ListTables', {});
  for (const name of TableNames) await call('DeleteTable', { TableName: name });
  // DeleteTable answers while the table is still DELETING: wait until it is gone.
  for (let attempt = 0; ; attempt++) {
    const left = (await call('ListTables', {})).TableNames ?? [];
    if (left.length === 0) return;
    if (attempt === 200) throw new Error(`could not empty DynamoDB: ${left.join(', ')} still listed`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `?region=` of a control API request, default the default region. */
function regionParam(req: IncomingMessage): string {
  return new URL(req.url ?? '', 'http://localhost').searchParams.get('region') ?? DEFAULT_REGION;
}
