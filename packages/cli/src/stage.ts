import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { ensureTable, tableName } from '@opsauto/aws';
import type { OpsautoConfig } from '@opsauto/core';
import {
  automationActions,
  eventBusName,
  EXECUTE_SCRIPT_RUNNER,
  escalationTopicName,
  functionEnvironment,
  functionPhysicalName,
  notificationTopicName,
  checkAutomations,
  knownRunbooks,
  manifest,
  runbookAutomations,
  runbookRoleName,
  scheduledEventInput,
  type FunctionDefinition,
} from '@opsauto/functions';
import { assertDataDirFree, assertPortsFree, DEFAULT_ACCOUNT, startLocalcloud, type LambdaHandler, type Localcloud } from '@opsauto/localcloud';
import { parse as parseYaml } from 'yaml';
import { serveConsole } from './console-local.js';
import { handlerLocation, projectRoot } from './project.js';
import { LOCAL_STAGE } from './stage-context.js';
import { importTypeScript } from './typescript-import.js';

export { LOCAL_STAGE } from './stage-context.js';

/** The role the local stage's wake-up schedules name (localcloud models no IAM; the ARN is only carried along). */
const LOCAL_WAKE_UP_ROLE = `arn:aws:iam::${DEFAULT_ACCOUNT}:role/opsauto-local-wake-up`;

/** AWS-owned Automation documents localcloud serves (see its README there). */
const AWS_DOCUMENTS_DIR = fileURLToPath(new URL('../../localcloud/aws-documents/', import.meta.url));

function awsDocuments(): { name: string; file: string; owner: 'Amazon'; documentType: 'Automation' | 'Command' }[] {
  const documents = (dir: string, documentType: 'Automation' | 'Command') =>
    readdirSync(join(AWS_DOCUMENTS_DIR, dir))
      .filter((f) => /^AWS-.*\.(json|ya?ml)$/.test(f))
      .map((file) => ({ name: basename(file, extname(file)), file: join(dir, file), owner: 'Amazon' as const, documentType }));
  // Command documents (Run Command's, for aws:runCommand) live in their own folder: runbook roles read the others.
  return [...documents('.', 'Automation'), ...documents('command', 'Command')];
}

/** Creates opsauto's event bus unless it exists (a restored stage keeps it). */
async function ensureEventBus(client: EventBridgeClient, name: string): Promise<void> {
  try {
    await client.send(new CreateEventBusCommand({ Name: name, Description: "opsauto's own events" }));
  } catch (e) {
    if (!(e instanceof ResourceAlreadyExistsException)) throw e;
  } finally {
    client.destroy();
  }
}

/**
 * Creates the stage's notification and escalation topics, encrypted with `alias/aws/sns` as the stacks make them
 * (CreateTopic with the same attributes answers the existing topic: a restored stage keeps them). Returns their ARNs.
 */
async function ensureNoticeTopics(client: SNSClient, table: string): Promise<{ notification: string; escalation: string }> {
  try {
    const create = async (name: string) => (await client.send(new CreateTopicCommand({ Name: name, Attributes: { KmsMasterKeyId: 'alias/aws/sns' } }))).TopicArn!;
    return { notification: await create(notificationTopicName(table)), escalation: await create(escalationTopicName(table)) };
  } finally {
    client.destroy();
  }
}

export interface StageOptions {
  config: OpsautoConfig;
  /** AWS endpoint port (LOCALCLOUD_PORT, default 4566); 0 picks a free port. */
  port?: number;
  /** HTTP API port (API_PORT, default 3000); 0 picks a free port. */
  apiPort?: number;
  /** Where state persists (default .localcloud/); undefined in tests keeps it in memory. */
  dataDir?: string;
  fresh?: boolean;
  /** A fleet file (YAML) to load when the state is new; `false` loads nothing. */
  seed?: string | false;
  log?: (line: string) => void;
  tickMs?: number;
  /** Level of the functions' own logs (POWERTOOLS_LOG_LEVEL). */
  functionLogLevel?: string;
  /** The virtual time a new state starts at (see LocalcloudOptions.startAt); default now. */
  startAt?: Date;
}

export interface Stage {
  cloud: Localcloud;
  apiUrl: string;
  tableName: string;
  functions: FunctionDefinition[];
  /** ARNs of the stage's notification and escalation topics (NOTIFICATION_TOPIC_ARN, ESCALATION_TOPIC_ARN). */
  topics: { notification: string; escalation: string };
  stop(): Promise<void>;
}

/**
 * Brings up the local stage: localcloud, the table, the manifest's functions with their event rules and HTTP
 * routes, exactly as a deployment would wire them in AWS, and the demo fleet on first start.
 */
export async function startStage(options: StageOptions): Promise<Stage> {
  const log = options.log ?? (() => undefined);
  const table = tableName(options.config.app, LOCAL_STAGE);
  const region = options.config.regions[0];
  const ports = { 'AWS endpoint': options.port ?? 4566, 'HTTP API': options.apiPort ?? 3000 };
  // Before anything is written: a stage already running on the data directory is named (PID, ports), and a port in
  // use is refused, rather than a half-provisioned state being left behind.
  if (options.dataDir) assertDataDirFree(options.dataDir);
  await assertPortsFree(Object.entries(ports).map(([what, port]) => ({ what, port })));
  const cloud = await startLocalcloud({
    port: ports['AWS endpoint'],
    lockPorts: ports,
    dataDir: options.dataDir,
    fresh: options.fresh,
    log,
    tickMs: options.tickMs,
    startAt: options.startAt,
    onReset: () => provision(false),
  });
  // Functions run in this process and reach AWS through the SDK's standard settings, pointed at localcloud.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: cloud.url,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: options.functionLogLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    POWERTOOLS_DEV: 'true',
    // No EMF blobs in the stage's log (there is no CloudWatch here to read them); POWERTOOLS_METRICS_DISABLED=false
    // prints them. The stage dimension of any metric printed is `local`.
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    OPSAUTO_STAGE: LOCAL_STAGE,
    // The runbook worker's shipped runbooks (deployed, they are copied into its bundle).
    RUNBOOKS_DIR: join(projectRoot, 'runbooks'),
    // The worker never waits in real time here: every wait (a stopping instance, aws:sleep) is a wake-up on the
    // virtual clock. A worker sleeping in real time would hold up `opsauto clock advance`, whose virtual time cannot
    // move while an invocation it started runs.
    RUNBOOK_INLINE_WAIT_MS: process.env.RUNBOOK_INLINE_WAIT_MS ?? '0',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_CA_BUNDLE;

  let topics = { notification: '', escalation: '' };
  async function provision(restored: boolean) {
    const ddb = new DynamoDBClient({ endpoint: cloud.url, region });
    await ensureTable(ddb, table);
    await ensureEventBus(new EventBridgeClient({ endpoint: cloud.url, region }), eventBusName(table));
    topics = await ensureNoticeTopics(new SNSClient({ endpoint: cloud.url, region }), table);
    registerRunbookRoles(cloud, options.config, table);
    // AWS-owned runbooks exist in every account and region of AWS: in every configured region of the stage too.
    const documents = awsDocuments();
    cloud.seed({ regions: Object.fromEntries(options.config.regions.map((r) => [r, { documents }])) }, AWS_DOCUMENTS_DIR);
    if (!restored && options.seed) {
      const fleet = parseYaml(readFileSync(options.seed, 'utf8')) as unknown;
      const created = cloud.seed(fleet, dirname(options.seed));
      log(`seeded ${options.seed}: ${created}`);
    }
  }

  try {
    await provision(cloud.restored);
    const functions = manifest(options.config);
    // The stage's --log-level wins over the config's, for the functions' own logs.
    // The executeScript runner is registered under its manifest name, as every function of the stage is.
    const environment = { ...functionEnvironment(options.config, table, LOCAL_WAKE_UP_ROLE, topics), POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL!, EXECUTE_SCRIPT_FUNCTION: EXECUTE_SCRIPT_RUNNER };
    for (const fn of functions) {
      if (fn.python) {
        // Run by the machine's python3 (boto3 pointed at localcloud), with credentials of its own role, which may
        // only assume roles, as the stacks grant it.
        const roleArn = `arn:aws:iam::${DEFAULT_ACCOUNT}:role/${functionPhysicalName(table, fn.name)}`;
        cloud.iam.allow({ roleArn, actions: pythonRoleActions(fn) });
        cloud.registerPython({
          name: fn.name,
          runtime: fn.python.runtime,
          codeDirectory: join(projectRoot, fn.python.code),
          handler: fn.handler,
          region,
          roleArn,
          environment: Object.fromEntries(fn.environment.map((k) => [k, environment[k]])),
          timeoutSeconds: fn.timeoutSeconds,
          memoryMB: fn.memoryMB,
        });
        continue;
      }
      const { file, exportName } = handlerLocation(fn.handler);
      const mod = await importTypeScript(file);
      const handler = mod[exportName];
      if (typeof handler !== 'function') throw new Error(`${file} does not export a handler named ${exportName}`);
      cloud.lambda.register({
        name: fn.name,
        handler: handler as LambdaHandler,
        environment: Object.fromEntries(fn.environment.map((k) => [k, environment[k]])),
        timeoutSeconds: fn.timeoutSeconds,
        memoryMB: fn.memoryMB,
      });
      for (const trigger of fn.triggers) {
        // In the home region only, as a deployed stack's rules are: events raised in other regions do not reach it.
        // On the trigger's bus: an event put on the default bus never reaches a rule of opsauto's bus.
        if (trigger.type === 'event') {
          const bus = trigger.bus === 'opsauto' ? { bus: eventBusName(table) } : {};
          cloud.bus.putRule({ name: `${fn.name}.${trigger.name}`, pattern: trigger.pattern, targets: [fn.name], region, ...bus });
        }
        if (trigger.type === 'http') cloud.httpApi.addRoute({ method: trigger.method, path: trigger.path, function: fn.name });
        if (trigger.type === 'schedule') {
          cloud.scheduler.add({
            name: `${fn.name}.${trigger.name}`,
            expression: trigger.expression,
            timezone: trigger.timezone,
            target: fn.name,
            input: scheduledEventInput(region, DEFAULT_ACCOUNT, trigger.name),
          });
        }
      }
    }
    // The console at /console/ and its local-only routes (clock, faults), on the same loopback port as the API.
    serveConsole(cloud);
    const apiPort = await cloud.httpApi.listen(ports['HTTP API']);
    return { cloud, apiUrl: `http://127.0.0.1:${apiPort}`, tableName: table, functions, topics, stop: () => cloud.stop() };
  } catch (e) {
    await cloud.stop();
    throw e;
  }
}

/**
 * The runbook roles, as the stacks create them, registered with localcloud: a step run as a role may call only the
 * actions that role's runbooks need, as in AWS. A role one of whose runbooks opsauto cannot read from the repository
 * (an account document, allow-listed in config) is left unrestricted on the stage: its actions cannot be derived.
 */
export function registerRunbookRoles(cloud: Localcloud, config: OpsautoConfig, table: string): string[] {
  const known = knownRunbooks(projectRoot);
  // As the stacks do at synth: an automation whose runbook or parameters are wrong stops the stage from starting.
  checkAutomations(config, known);
  const unrestricted: string[] = [];
  for (const automation of runbookAutomations(config)) {
    const roleArn = `arn:aws:iam::${DEFAULT_ACCOUNT}:role/${runbookRoleName(table, automation.name)}`;
    if (automation.runbooks.every((name) => known.has(name))) cloud.iam.allow({ roleArn, actions: automationActions(automation, known) });
    else unrestricted.push(roleArn);
  }
  return unrestricted;
}

/** The IAM actions a Python function's role is registered with on the stage: its manifest permissions' actions. */
function pythonRoleActions(fn: FunctionDefinition): string[] {
  return [...new Set(fn.permissions.flatMap((p) => p.actions))].sort();
}
