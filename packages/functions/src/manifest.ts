import { amiParameterPrefix, automationPatterns, noticeTopics, POLICY_ACTION_DETAIL_TYPE, POLICY_ACTION_SOURCE, automationRunbooks, EXECUTION_STATUS_DETAIL_TYPE, PUBLISHER_TIMEOUT_MS, RUNBOOK_EVENT_SOURCE, TERMINAL_EXECUTION_STATUSES, triggerSchedule, type OpsautoConfig } from '@opsauto/core';

/**
 * The one source of truth for wiring: every function, its triggers, its environment and the AWS actions it calls.
 * `stacks/` turns this into SST constructs and least-privilege IAM; `opsauto local` registers the same
 * definitions with localcloud. A trigger in one and not the other is a bug (test/stacks checks both).
 */

/** An EventBridge event pattern (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html). */
export type EventPattern = { [field: string]: unknown };

export type Trigger =
  /** An EventBridge Scheduler schedule: `cron(...)` or `rate(...)`, evaluated in `timezone` (IANA). */
  | { type: 'schedule'; name: string; expression: string; timezone: string }
  /**
   * An EventBridge rule on the region's default bus (AWS services' events) or on opsauto's own bus (`eventBusName`),
   * whose resource policy admits only the stack's roles: events that make opsauto act come from there. Default 'default'.
   */
  | { type: 'event'; name: string; pattern: EventPattern; bus?: 'default' | 'opsauto' }
  /**
   * An HTTP API route (payload format 2.0). `auth` 'iam' (the default) lets only SigV4-signed requests of principals
   * allowed execute-api:Invoke through; 'jwt' only requests with a valid access or ID token of the stage's Cognito
   * user pool (the console's users: a browser has no SigV4 credentials); 'none' is for routes that carry their own
   * proof (a token). The local stage runs every route without an authorizer, on loopback.
   */
  | {
      type: 'http';
      method: 'GET' | 'POST' | 'PUT' | 'DELETE';
      path: string;
      auth?: 'iam' | 'jwt' | 'none';
      /** Route-level throttling (the stage's route settings), tighter than the API-wide default. */
      throttle?: { rateLimit: number; burstLimit: number };
    };

/** Where an action may be used; rendered into ARNs by the stacks (region and account of the deployment). */
export type ResourceScope =
  | { kind: 'table' }
  /** Parameters below `path` in each of `regions` (the AMI publisher writes in each image's region). */
  | { kind: 'ssm-parameter-path'; path: string; regions: string[] }
  /** OpsItems in each of `regions` (`arn:aws:ssm:<region>:<account>:opsitem/*`). */
  | { kind: 'ssm-opsitems'; regions: string[] }
  /** The function's own wake-up schedules (`schedule/default/<WAKE_UP_PREFIX>*`), see `wakeUp`. */
  | { kind: 'wake-up-schedules' }
  /** The role EventBridge Scheduler acts as to invoke the function (for iam:PassRole), see `wakeUp`. */
  | { kind: 'wake-up-role' }
  /** The default event bus of the function's region. */
  | { kind: 'default-bus' }
  /** opsauto's own event bus (`eventBusName`), in the function's region. */
  | { kind: 'opsauto-bus' }
  /** The runbook roles of every automation (`runbookRoleName`), which the worker assumes to run steps. */
  | { kind: 'runbook-roles' }
  /** SSM documents of the function's region: AWS-owned (`arn:aws:ssm:<region>::document/*`) and the account's. */
  | { kind: 'ssm-documents' }
  /** One function of the manifest, by its manifest name (its physical name is `functionPhysicalName`). */
  | { kind: 'function'; name: string }
  /** Exactly these ARNs (e.g. roles in other accounts to assume). */
  | { kind: 'arns'; arns: string[] }
  /**
   * Parameters below each of `paths` in the function's region: `/` is every parameter (`parameter/*`), `/app/` is
   * `/app` and everything below it.
   */
  | { kind: 'ssm-parameter-paths'; paths: string[] }
  /** Hybrid managed nodes (`mi-…`) of the function's region: `arn:aws:ssm:<region>:<account>:managed-instance/*`. */
  | { kind: 'ssm-managed-instances' }
  /** The stage's notification and escalation topics (`notificationTopicName`, `escalationTopicName`), which the stacks create. */
  | { kind: 'notification-topics' }
  /**
   * The roles activations may give hybrid nodes: the stage's own (`hybridNodeRoleName`, which the stacks create) and
   * the config's `activations.iamRoles` (names, in the deployment's account).
   */
  | { kind: 'hybrid-node-roles' }
  /** For APIs that support no resource-level permissions (e.g. ec2:DescribeImages). */
  | { kind: 'any' };

export interface Permission {
  actions: string[];
  resources: ResourceScope[];
  /** An IAM Condition block (operator -> key -> value(s)), rendered as is. */
  conditions?: Record<string, Record<string, string | string[]>>;
}

/** Environment variables the backend sets for functions; values come from `functionEnvironment()`. */
export type EnvKey =
  | 'TABLE_NAME'
  | 'OPSAUTO_CONFIG'
  | 'POWERTOOLS_LOG_LEVEL'
  | 'WAKE_UP_ROLE_ARN'
  | 'WAKE_UP_PREFIX'
  | 'EVENT_BUS_NAME'
  | 'EXECUTE_SCRIPT_FUNCTION'
  | 'NOTIFICATION_TOPIC_ARN'
  | 'ESCALATION_TOPIC_ARN';

export interface FunctionDefinition {
  /** kebab-case; also the local stage's function name (`opsauto invoke <name>`). */
  name: string;
  /**
   * Node.js: `<file without extension>.<export>`, relative to the repository root, as SST v2 expects. Python:
   * `module.function` inside `code`.
   */
  handler: string;
  /**
   * A Python function (`python3.12`): its code is the directory `code` (relative to the repository root), deployed
   * as is (no bundling, no dependencies beyond the runtime's boto3), under the name `functionPhysicalName`. Absent:
   * a Node.js function bundled by SST.
   */
  python?: { runtime: 'python3.12'; code: string };
  description: string;
  timeoutSeconds: number;
  memoryMB: number;
  triggers: Trigger[];
  environment: EnvKey[];
  permissions: Permission[];
  /**
   * The function schedules its own later invocations (one-time EventBridge Scheduler schedules): the stacks give it
   * a role Scheduler acts as to invoke it, and WAKE_UP_ROLE_ARN / WAKE_UP_PREFIX to name them.
   */
  wakeUp?: boolean;
  /**
   * Files or directories copied into the deployed bundle, `from` relative to the repository root, `to` relative to
   * the bundle root (SST v2's `copyFiles`).
   */
  files?: { from: string; to: string }[];
}

const table: ResourceScope = { kind: 'table' };

/** Every function of the backend for a given config. */
export function manifest(config: OpsautoConfig): FunctionDefinition[] {
  return [
    {
      name: 'ami-publisher',
      handler: 'packages/functions/src/handlers/ami-publisher.handler',
      description: 'Publishes new AMI IDs into Parameter Store, forward only',
      // Sized from the publisher's own waits (a lease, a validation); longer waits end early and go to a retry.
      timeoutSeconds: PUBLISHER_TIMEOUT_MS / 1000,
      memoryMB: 256,
      triggers: [
        {
          type: 'event',
          name: 'ami-state-change',
          pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 AMI State Change'], detail: { State: ['available', 'deregistered', 'disabled'] } },
        },
        {
          type: 'event',
          name: 'image-builder-available',
          pattern: {
            source: ['aws.imagebuilder'],
            'detail-type': ['EC2 Image Builder Image State Change'],
            detail: { state: { status: ['AVAILABLE'] } },
          },
        },
        {
          type: 'event',
          name: 'runbook-image-created',
          pattern: { source: ['opsauto.runbooks'], 'detail-type': ['Runbook Image Created'] },
          // Only the stack's roles may put events on opsauto's bus: nobody else can forge an image for it.
          bus: 'opsauto',
        },
      ],
      environment: ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL'],
      permissions: [
        { actions: ['ec2:DescribeImages'], resources: [{ kind: 'any' }] },
        {
          actions: ['ssm:PutParameter', 'ssm:GetParameter', 'ssm:LabelParameterVersion', 'ssm:GetParameterHistory', 'ssm:UnlabelParameterVersion'],
          resources: [{ kind: 'ssm-parameter-path', path: amiParameterPrefix(config), regions: config.regions }],
        },
        { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'], resources: [table] },
      ],
    },
    staleVolumeScan(config),
    paramExpirySweep(config),
    paramPolicyApply(config),
    activationSweep(config),
    runbookWorker(config),
    automationTrigger(config),
    executeScriptRunner(config),
    runbookApi(),
    activationsApi(config),
    paramPolicyEvents(config),
    consoleApi(config),
    {
      name: 'status',
      handler: 'packages/functions/src/handlers/status.handler',
      description: 'HTTP: the currently published AMI of every family',
      timeoutSeconds: 10,
      memoryMB: 256,
      triggers: [{ type: 'http', method: 'GET', path: '/status', auth: 'iam' }],
      environment: ['TABLE_NAME', 'POWERTOOLS_LOG_LEVEL'],
      permissions: [{ actions: ['dynamodb:Query'], resources: [table] }],
    },
  ];
}

/** The daily stale-EBS scan: schedule from the config; scans the configured regions and accounts. */
function staleVolumeScan(config: OpsautoConfig): FunctionDefinition {
  const { staleVolumes } = config;
  const regions = staleVolumes.regions ?? config.regions;
  const roles = staleVolumes.accounts.map((a) => a.roleArn);
  return {
    name: 'stale-volume-scan',
    handler: 'packages/functions/src/handlers/stale-volume-scan.handler',
    description: 'Files unattached EBS volumes as OpsItems once stale, resolves them when fixed',
    timeoutSeconds: 900,
    memoryMB: 512,
    triggers: [{ type: 'schedule', name: 'daily', expression: staleVolumes.schedule, timezone: staleVolumes.timezone }],
    environment: ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL'],
    permissions: [
      { actions: ['ec2:DescribeVolumes'], resources: [{ kind: 'any' }] },
      // CreateOpsItem is granted on any resource: an OpsItem has no ARN before it exists.
      // DescribeOpsItems has no resource-level permissions either.
      { actions: ['ssm:CreateOpsItem', 'ssm:DescribeOpsItems'], resources: [{ kind: 'any' }] },
      // Every OpsItem of the regions, not only opsauto's, for now. IAM could narrow it (UpdateOpsItem takes the
      // `aws:ResourceTag/<key>` condition on `opsitem`), but the scanner does not tag the items it files yet
      // (CreateOpsItem in packages/aws/src/ebs/ssm-ops-center.ts, which would then also need ssm:AddTagsToResource
      // with an `aws:RequestTag` condition), and the items filed before have no tag: a tag condition today would stop
      // the scanner from resolving every one of them. See the README ("Deploying with SST").
      { actions: ['ssm:UpdateOpsItem'], resources: [{ kind: 'ssm-opsitems', regions }] },
      { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'], resources: [table] },
      ...(roles.length ? [{ actions: ['sts:AssumeRole'], resources: [{ kind: 'arns' as const, arns: roles }] }] : []),
    ],
  };
}

/**
 * The daily parameter-expiry sweep: lists parameters with policies or the expiry tag in the home region, sends the
 * notices that are due and the digests. Reads metadata and tags, never a value (no ssm:GetParameter).
 */
function paramExpirySweep(config: OpsautoConfig): FunctionDefinition {
  const { parameterExpiry } = config;
  return {
    name: 'param-expiry-sweep',
    handler: 'packages/functions/src/handlers/param-expiry-sweep.handler',
    description: 'Sends due parameter expiry and no-change notices and a digest per owner, daily',
    timeoutSeconds: 900,
    memoryMB: 512,
    triggers: [{ type: 'schedule', name: 'daily', expression: parameterExpiry.schedule, timezone: parameterExpiry.timezone }],
    environment: NOTICE_ENVIRONMENT,
    permissions: noticePermissions(config),
  };
}

/**
 * `opsauto params policy set|clear` for automations (invoked directly, no trigger). The one parameter-expiry function
 * that reads a value: PutParameter needs it to re-put the parameter with new policies (GetParameter with decryption,
 * held for that call). KMS through SSM only (kms:ViaService), for SecureStrings under a customer key.
 */
function paramPolicyApply(config: OpsautoConfig): FunctionDefinition {
  const paths = [...config.parameterExpiry.paths];
  return {
    name: 'param-policy-apply',
    handler: 'packages/functions/src/handlers/param-policy-apply.handler',
    description: "Sets or clears a parameter's expiry and notification policies for automations, keeping the rest of it",
    timeoutSeconds: 30,
    memoryMB: 256,
    triggers: [],
    environment: ['OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL'],
    permissions: [
      // DescribeParameters supports no resource-level permissions.
      { actions: ['ssm:DescribeParameters'], resources: [{ kind: 'any' }] },
      { actions: ['ssm:GetParameter', 'ssm:PutParameter'], resources: [{ kind: 'ssm-parameter-paths', paths }] },
      { actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], resources: [{ kind: 'any' }], conditions: { StringEquals: { 'kms:ViaService': `ssm.${config.regions[0]}.amazonaws.com` } } },
    ],
  };
}

/**
 * The hybrid activations' clean-up sweep (docs/activations.md): tags nodes that registered through an activation,
 * deletes used and expired activations, reports failed boots and stale nodes. DeregisterManagedInstance only when
 * the config asks for stale nodes to be deregistered.
 */
function activationSweep(config: OpsautoConfig): FunctionDefinition {
  const { activations } = config;
  return {
    name: 'activation-sweep',
    handler: 'packages/functions/src/handlers/activation-sweep.handler',
    description: 'Cleans up hybrid activations: tags registered nodes, deletes used and expired activations, reports failed boots and stale nodes',
    timeoutSeconds: 300,
    memoryMB: 256,
    triggers: [{ type: 'schedule', name: 'sweep', expression: activations.sweepSchedule, timezone: 'UTC' }],
    environment: ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL'],
    permissions: [
      // Neither supports resource-level permissions.
      { actions: ['ssm:DescribeInstanceInformation', 'ssm:DeleteActivation'], resources: [{ kind: 'any' }] },
      { actions: ['ssm:AddTagsToResource'], resources: [{ kind: 'ssm-managed-instances' }] },
      ...(activations.deregisterStaleNodes ? [{ actions: ['ssm:DeregisterManagedInstance'], resources: [{ kind: 'ssm-managed-instances' as const }] }] : []),
      // Open issuances listed (gsi2 keys, then BatchGetItem) and updated, tokens read for their tags.
      { actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], resources: [table] },
    ],
  };
}

/** A set of runbooks started the same way, whose executions run as one role (`runbookRoleName`). */
export interface RunbookAutomation {
  /** Names the role: `<stage prefix>-runbook-<name>`. */
  name: string;
  /** Documents (in `runbooks/` or AWS-owned) whose steps the role may carry out. */
  runbooks: string[];
}

/**
 * The automations that start runbooks, each with a role the stacks derive from its runbooks: `cli`, the executions
 * started by name from the CLI and `POST /runbooks/executions` (limited to `runbooks.allowedRunbooks`), and every
 * automation of the config that does not name a role of its own.
 */
export function runbookAutomations(config: OpsautoConfig): RunbookAutomation[] {
  return [
    { name: 'cli', runbooks: [...config.runbooks.allowedRunbooks] },
    ...config.automations.filter((a) => !a.role).map((a) => ({ name: a.name, runbooks: automationRunbooks(a) })),
  ];
}

/** Roles the worker may assume besides the derived runbook roles: the config's assumeRoles and automations' own roles. */
function otherRunbookRoles(config: OpsautoConfig): string[] {
  return [...new Set([...config.runbooks.assumeRoles, ...config.automations.flatMap((a) => (a.role ? [a.role] : []))])];
}

/** The manifest name of the function that turns automations' schedules and events into runbook executions. */
export const AUTOMATION_TRIGGER = 'automation-trigger';

/**
 * Automations' triggers: one EventBridge Scheduler schedule per timed automation (its name in the scheduled
 * event's `detail.trigger`), one rule on the default bus per event-driven one (a Config rule's compliance change
 * included). Each firing becomes one execution of the automation's runbook, as the automation's role; the function
 * plans and records it and dispatches it to the worker, running no step itself.
 */
function automationTrigger(config: OpsautoConfig): FunctionDefinition {
  const triggers: Trigger[] = config.automations
    .filter((a) => a.enabled)
    .flatMap((a) => {
      const schedule = triggerSchedule(a.trigger);
      const patterns = automationPatterns(a);
      return [
        ...(schedule ? [{ type: 'schedule' as const, name: a.name, ...schedule }] : []),
        ...patterns.map((pattern, i) => ({ type: 'event' as const, name: schedule || i > 0 ? `${a.name}-${i + (schedule ? 1 : 0)}` : a.name, pattern })),
      ];
    });
  // OpsItem remediations: the end of their executions settles the item (resolved, or open again).
  const remediating = config.automations.filter((a) => 'opsItems' in a.trigger);
  if (remediating.length > 0) {
    triggers.push({
      type: 'event',
      name: 'opsitem-remediation-ended',
      bus: 'opsauto',
      pattern: {
        source: [RUNBOOK_EVENT_SOURCE],
        'detail-type': [EXECUTION_STATUS_DETAIL_TYPE],
        detail: { Definition: [...new Set(remediating.flatMap(automationRunbooks))].sort(), Status: [...TERMINAL_EXECUTION_STATUSES] },
      },
    });
  }
  return {
    name: AUTOMATION_TRIGGER,
    handler: 'packages/functions/src/handlers/automation-trigger.handler',
    description: "Starts automations' runbooks on their schedules, events and Config rules",
    timeoutSeconds: 60,
    memoryMB: 512,
    triggers,
    environment: ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL', 'EVENT_BUS_NAME'],
    files: [{ from: 'runbooks', to: 'runbooks' }],
    permissions: [
      // Executions (conditional create, read back by idempotency key) and remediation records (conditional put).
      { actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query'], resources: [table] },
      // Dispatches only: it cannot ask for a runbook or announce an image on opsauto's bus.
      { actions: ['events:PutEvents'], resources: [{ kind: 'opsauto-bus' }], conditions: { StringEquals: { 'events:detail-type': 'Runbook Execution Dispatched' } } },
      { actions: ['ssm:GetDocument'], resources: [{ kind: 'ssm-documents' }] },
      // Targets by tag; DescribeInstances supports no resource-level permissions.
      { actions: ['ec2:DescribeInstances'], resources: [{ kind: 'any' }] },
      // Managed-node targets by tag (patching); DescribeInstanceInformation has no resource-level permissions either.
      ...(config.automations.some((a) => a.targets?.managedNodes) ? [{ actions: ['ssm:DescribeInstanceInformation'], resources: [{ kind: 'any' as const }] }] : []),
      // OpsItem remediations read the item and note the execution on it, then resolve it.
      ...(remediating.length > 0 ? [{ actions: ['ssm:GetOpsItem', 'ssm:UpdateOpsItem'], resources: [{ kind: 'ssm-opsitems' as const, regions: config.regions }] }] : []),
      // Office hours report a resource they could not start on an OpsItem (no ARN before it exists: any resource).
      ...(config.automations.some((a) => a.officeHours) ? [{ actions: ['ssm:CreateOpsItem'], resources: [{ kind: 'any' as const }] }] : []),
      // Office hours read the tagged RDS instances and Aurora clusters (their tags come with them).
      ...(config.automations.some((a) => a.officeHours?.resources.includes('rds')) ? [{ actions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters'], resources: [{ kind: 'any' as const }] }] : []),
    ],
  };
}

/**
 * The runbook engine's worker: starts executions asked for on the bus, runs dispatched ones, resumes those whose
 * wake-up came, and every 5 minutes picks up any that are due (a lost wake-up, a worker that died).
 */
function runbookWorker(config: OpsautoConfig): FunctionDefinition {
  const roles = otherRunbookRoles(config);
  return {
    name: 'runbook-worker',
    handler: 'packages/functions/src/handlers/runbook-worker.handler',
    description: 'Runs Automation runbooks step by step, durably, with rate control',
    timeoutSeconds: 900,
    memoryMB: 512,
    // On opsauto's bus only: a request on the default bus (which any principal with events:PutEvents can use)
    // starts nothing.
    triggers: [
      { type: 'event', name: 'runbook-requested', pattern: { source: ['opsauto.runbooks'], 'detail-type': ['Runbook Execution Requested'] }, bus: 'opsauto' },
      { type: 'event', name: 'runbook-dispatched', pattern: { source: ['opsauto.runbooks'], 'detail-type': ['Runbook Execution Dispatched'] }, bus: 'opsauto' },
      { type: 'schedule', name: 'runbook-tick', expression: config.runbooks.tickSchedule, timezone: 'UTC' },
    ],
    environment: ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL', 'WAKE_UP_ROLE_ARN', 'WAKE_UP_PREFIX', 'EVENT_BUS_NAME', 'EXECUTE_SCRIPT_FUNCTION'],
    wakeUp: true,
    // The runbooks shipped in the repository, read by the worker at run time.
    files: [{ from: 'runbooks', to: 'runbooks' }],
    // No AWS action of a runbook's steps: every execution runs its steps as a runbook role (its automation's, or
    // the document's assumeRole when the config lists it), so the worker can do only what those roles can.
    permissions: [
      { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'], resources: [table] },
      { actions: ['events:PutEvents'], resources: [{ kind: 'opsauto-bus' }] },
      { actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'], resources: [{ kind: 'wake-up-schedules' }] },
      // Only to EventBridge Scheduler: the role is for wake-up schedules and nothing else.
      { actions: ['iam:PassRole'], resources: [{ kind: 'wake-up-role' }], conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } } },
      { actions: ['ssm:GetDocument'], resources: [{ kind: 'ssm-documents' }] },
      { actions: ['sts:AssumeRole'], resources: [{ kind: 'runbook-roles' }, ...(roles.length ? [{ kind: 'arns' as const, arns: roles }] : [])] },
      // aws:executeScript steps run in the runner, which the worker invokes (as itself: the runner assumes the role).
      { actions: ['lambda:InvokeFunction'], resources: [{ kind: 'function', name: EXECUTE_SCRIPT_RUNNER }] },
    ],
  };
}

/** The manifest name of the aws:executeScript runner. */
export const EXECUTE_SCRIPT_RUNNER = 'execute-script';

/**
 * aws:executeScript's runner: a Python function (packages/functions/python/execute_script) the worker invokes with a
 * step's script. It assumes the execution's role (the runbook roles, or a role the config allows) and runs the script
 * with those credentials as boto3's default; its own role may do nothing else. Timeout: the longest script (600 s)
 * and the AssumeRole before it.
 */
function executeScriptRunner(config: OpsautoConfig): FunctionDefinition {
  const roles = otherRunbookRoles(config);
  return {
    name: EXECUTE_SCRIPT_RUNNER,
    handler: 'handler.handler',
    python: { runtime: 'python3.12', code: 'packages/functions/python/execute_script' },
    description: "Runs aws:executeScript steps' Python scripts as the execution's role",
    timeoutSeconds: 660,
    memoryMB: 512,
    triggers: [],
    environment: [],
    permissions: [{ actions: ['sts:AssumeRole'], resources: [{ kind: 'runbook-roles' }, ...(roles.length ? [{ kind: 'arns' as const, arns: roles }] : [])] }],
  };
}

/**
 * `POST /runbooks/executions`: starts a runbook by name for an IAM-authenticated caller, as the CLI does. Loads the
 * document and finds targets, creates the execution, and dispatches it on opsauto's bus; runs nothing itself.
 */
function runbookApi(): FunctionDefinition {
  return {
    name: 'runbook-api',
    handler: 'packages/functions/src/handlers/runbook-api.handler',
    description: 'HTTP: starts a runbook execution for an IAM-authorised caller',
    timeoutSeconds: 30,
    memoryMB: 512,
    triggers: [{ type: 'http', method: 'POST', path: '/runbooks/executions', auth: 'iam' }],
    environment: ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL', 'EVENT_BUS_NAME'],
    // Runbooks are loaded by name as the worker loads them: the shipped ones first.
    files: [{ from: 'runbooks', to: 'runbooks' }],
    permissions: [
      // Create (conditional put), and read back an execution whose idempotency key was used before.
      { actions: ['dynamodb:PutItem', 'dynamodb:Query'], resources: [table] },
      { actions: ['events:PutEvents'], resources: [{ kind: 'opsauto-bus' }] },
      { actions: ['ssm:GetDocument'], resources: [{ kind: 'ssm-documents' }] },
      // Targets by tag or ID; DescribeInstances supports no resource-level permissions.
      { actions: ['ec2:DescribeInstances'], resources: [{ kind: 'any' }] },
    ],
  };
}

/** The manifest name of the activation API for booting servers. */
export const ACTIVATIONS_API = 'activations-api';

/**
 * `POST /activations` and `GET /activation`: a booting server proves an enrollment token and gets an SSM hybrid
 * activation (docs/activations.md). The routes are `auth: 'none'` (the token is the proof) and throttled from
 * `activations.throttle`.
 */
function activationsApi(config: OpsautoConfig): FunctionDefinition {
  const throttle = { rateLimit: config.activations.throttle.rateLimit, burstLimit: config.activations.throttle.burstLimit };
  return {
    name: ACTIVATIONS_API,
    handler: 'packages/functions/src/handlers/activations-api.handler',
    description: 'HTTP: issues an SSM hybrid activation to a server that proves an enrollment token',
    // Also how long a request's idempotency claim blocks a retry with its key if the function dies (Powertools).
    timeoutSeconds: 15,
    memoryMB: 256,
    triggers: [
      { type: 'http', method: 'POST', path: '/activations', auth: 'none', throttle },
      { type: 'http', method: 'GET', path: '/activation', auth: 'none', throttle },
    ],
    environment: ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL'],
    permissions: [
      // Activations have no ARN: CreateActivation, DeleteActivation (withdrawing one that could not be recorded, or
      // whose answer was lost) and DescribeActivations (whether a node registered with that one) support no
      // resource-level permissions. CreateActivation with Tags also needs AddTagsToResource, whose resource is the
      // activation being created: no ARN to scope it to either.
      { actions: ['ssm:CreateActivation', 'ssm:DeleteActivation', 'ssm:DescribeActivations', 'ssm:AddTagsToResource'], resources: [{ kind: 'any' }] },
      // The only roles an activation may give a node, and only to SSM.
      { actions: ['iam:PassRole'], resources: [{ kind: 'hybrid-node-roles' }], conditions: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } } },
      // Tokens (read, use consumed and given back), issuances, the idempotency records (Powertools: put, get,
      // update, delete on failure), the failure counters.
      { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'], resources: [table] },
    ],
  };
}

/** The manifest name of the console's API. */
export const CONSOLE_API = 'console-api';

/** The console API's routes (docs/console-api.md), each behind the stage's Cognito JWT authorizer. */
export const CONSOLE_ROUTES: { method: 'GET' | 'POST'; path: string }[] = [
  { method: 'GET', path: '/api/now' },
  { method: 'GET', path: '/api/executions' },
  { method: 'GET', path: '/api/executions/{id}' },
  { method: 'POST', path: '/api/executions/{id}/signal' },
  { method: 'GET', path: '/api/findings' },
  { method: 'GET', path: '/api/images' },
  { method: 'GET', path: '/api/parameters' },
  { method: 'GET', path: '/api/activations' },
];

/**
 * The operator console's read-only JSON API and its buttons: reads what the CLI's listings read (executions, stale
 * volumes, AMI families, parameter deadlines and notices, tokens and issuances) and sends operators' signals. Reads
 * only, except a signal (and a refused decision's record) put in the table and the dispatch on opsauto's bus.
 */
function consoleApi(config: OpsautoConfig): FunctionDefinition {
  const roles = config.staleVolumes.accounts.map((a) => a.roleArn);
  return {
    name: CONSOLE_API,
    handler: 'packages/functions/src/handlers/console-api.handler',
    description: "HTTP: the operator console's read-only API and its signals",
    timeoutSeconds: 30,
    memoryMB: 512,
    triggers: CONSOLE_ROUTES.map((r) => ({ type: 'http' as const, method: r.method, path: r.path, auth: 'jwt' as const })),
    environment: ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL', 'EVENT_BUS_NAME'],
    permissions: [
      // Reads; PutItem only for a signal and the record of a refused decision.
      { actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'], resources: [table] },
      // Only the dispatch that wakes the worker for a signal: never a guarded event (a start, an image).
      { actions: ['events:PutEvents'], resources: [{ kind: 'opsauto-bus' }], conditions: { StringEquals: { 'events:detail-type': 'Runbook Execution Dispatched' } } },
      // Neither supports resource-level permissions.
      { actions: ['ec2:DescribeVolumes', 'ssm:DescribeParameters'], resources: [{ kind: 'any' }] },
      { actions: ['ssm:ListTagsForResource'], resources: [{ kind: 'ssm-parameter-paths', paths: [...config.parameterExpiry.paths] }] },
      ...(roles.length ? [{ actions: ['sts:AssumeRole'], resources: [{ kind: 'arns' as const, arns: roles }] }] : []),
    ],
  };
}

/** What both notice senders (the policy-event handler and the daily sweep) read from their environment. */
const NOTICE_ENVIRONMENT: EnvKey[] = ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL', 'NOTIFICATION_TOPIC_ARN', 'ESCALATION_TOPIC_ARN'];

/**
 * The grants of a function that sends parameter notices: metadata and tags of the configured parameters (never a
 * value: no ssm:GetParameter), Publish on the stage's topics and the config's, and the notice records.
 */
function noticePermissions(config: OpsautoConfig): Permission[] {
  const { parameterExpiry } = config;
  // Topics of the config (default, escalation, routes); the stage's own are the 'notification-topics' scope.
  const configured = noticeTopics(parameterExpiry, { default: '', escalation: '' });
  return [
    // DescribeParameters supports no resource-level permissions.
    { actions: ['ssm:DescribeParameters'], resources: [{ kind: 'any' }] },
    { actions: ['ssm:ListTagsForResource'], resources: [{ kind: 'ssm-parameter-paths', paths: [...parameterExpiry.paths] }] },
    { actions: ['sns:Publish'], resources: [{ kind: 'notification-topics' }, ...(configured.length ? [{ kind: 'arns' as const, arns: configured }] : [])] },
    // Notices claimed (conditional put), marked sent or released; expiries and last summaries; the first notice of an expiry.
    { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'], resources: [table] },
  ];
}

/** The manifest name of the function that turns Parameter Store policy events into notices. */
export const PARAM_POLICY_EVENTS = 'param-policy-events';

/**
 * Parameter Store's policy events (on the default bus: AWS services put their events there) become notices to the
 * parameter's owner. Reads metadata and tags, never a value: no ssm:GetParameter*.
 */
function paramPolicyEvents(config: OpsautoConfig): FunctionDefinition {
  return {
    name: PARAM_POLICY_EVENTS,
    handler: 'packages/functions/src/handlers/param-policy-events.handler',
    description: "Turns Parameter Store policy events into notices to the parameter's owner, each sent once",
    timeoutSeconds: 60,
    memoryMB: 256,
    triggers: [{ type: 'event', name: 'parameter-policy-action', pattern: { source: [POLICY_ACTION_SOURCE], 'detail-type': [POLICY_ACTION_DETAIL_TYPE] } }],
    environment: NOTICE_ENVIRONMENT,
    permissions: noticePermissions(config),
  };
}

/** The stage's notification topic: `<app>-<stage>-notifications`. */
export function notificationTopicName(tableName: string): string {
  return `${stagePrefix(tableName)}-notifications`;
}

/** The stage's escalation topic: `<app>-<stage>-escalations`. */
export function escalationTopicName(tableName: string): string {
  return `${stagePrefix(tableName)}-escalations`;
}

/** The ARNs of the stage's topics, as functions receive them (NOTIFICATION_TOPIC_ARN, ESCALATION_TOPIC_ARN). */
export interface StageTopicArns {
  notification: string;
  escalation: string;
}

/** The environment every function receives (wake-up settings only matter to functions with `wakeUp`). */
export function functionEnvironment(config: OpsautoConfig, tableName: string, wakeUpRoleArn = '', topics: StageTopicArns = { notification: '', escalation: '' }): Record<EnvKey, string> {
  return {
    NOTIFICATION_TOPIC_ARN: topics.notification,
    ESCALATION_TOPIC_ARN: topics.escalation,
    TABLE_NAME: tableName,
    // Without the automations' descriptions, which no function reads: Lambda allows 4 KB of environment in all.
    OPSAUTO_CONFIG: JSON.stringify({ ...config, automations: config.automations.map(({ description: _description, ...rest }) => rest) }),
    POWERTOOLS_LOG_LEVEL: config.logLevel,
    WAKE_UP_ROLE_ARN: wakeUpRoleArn,
    WAKE_UP_PREFIX: wakeUpPrefix(tableName),
    EVENT_BUS_NAME: eventBusName(tableName),
    EXECUTE_SCRIPT_FUNCTION: functionPhysicalName(tableName, EXECUTE_SCRIPT_RUNNER),
  };
}

/**
 * The deployed name of a manifest function that has a fixed one (the Python runner, which the worker names in its
 * environment and its policy): `<app>-<stage>-<name>`.
 *
 * @example
 * functionPhysicalName('opsauto-prod-state', 'execute-script') // 'opsauto-prod-execute-script'
 */
export function functionPhysicalName(tableName: string, name: string): string {
  return `${stagePrefix(tableName)}-${name}`;
}

/**
 * The stage's IAM service role for hybrid nodes (`<app>-<stage>-hybrid-node`: trusted by ssm.amazonaws.com, with
 * AmazonSSMManagedInstanceCore), the default role of enrollment tokens.
 *
 * @example
 * hybridNodeRoleName('opsauto-prod-state') // 'opsauto-prod-hybrid-node'
 */
export function hybridNodeRoleName(tableName: string): string {
  return `${stagePrefix(tableName)}-hybrid-node`;
}

/** Wake-up schedule names start with the stage's table name minus `-state` (unique per app and stage). */
export function wakeUpPrefix(tableName: string): string {
  return `${stagePrefix(tableName)}-wake-`;
}

/** The stage's prefix of resource names: the table name minus `-state` (unique per app and stage). */
export function stagePrefix(tableName: string): string {
  return tableName.replace(/-state$/, '');
}

/**
 * The console's name, `<app>-<stage>-console`: its Cognito user pool, the pool's hosted-UI domain, and the role name
 * console users decide as at an aws:approve step (see console-auth.ts; no such IAM role exists).
 */
export function consoleName(tableName: string): string {
  return `${stagePrefix(tableName)}-console`;
}

/** The Cognito group whose members may send signals from the console. */
export const CONSOLE_OPERATORS_GROUP = 'operators';
/** The console's Cognito groups: operators may send signals, readers may only look. */
export const CONSOLE_GROUPS = [CONSOLE_OPERATORS_GROUP, 'readers'] as const;

/** opsauto's own EventBridge bus: `<app>-<stage>-bus`. Only the stack's roles may put events on it. */
export function eventBusName(tableName: string): string {
  return `${stagePrefix(tableName)}-bus`;
}

/** IAM's limit on role names, and the characters it allows. */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/**
 * The role an automation's executions run their steps as: `<app>-<stage>-runbook-<automation>`.
 *
 * @throws Error naming the role when it is longer than IAM's 64 characters or uses a character IAM refuses (a
 *   shorter app or stage name, or automation name, fixes it).
 * @example
 * runbookRoleName('opsauto-prod-state', 'cli') // 'opsauto-prod-runbook-cli'
 */
export function runbookRoleName(tableName: string, automation: string): string {
  const name = `${stagePrefix(tableName)}-runbook-${automation}`;
  if (!ROLE_NAME.test(name)) {
    throw new Error(
      `runbook role name "${name}" is not a valid IAM role name (at most 64 letters, digits and +=,.@_-; it has ${name.length}): shorten the app, stage or automation name`,
    );
  }
  return name;
}

/**
 * The Input every schedule sends its function: the EventBridge `Scheduled Event` envelope, filled in by
 * EventBridge Scheduler's context attributes (and by localcloud's scheduler in the local stage), with the
 * trigger's name in `detail` because one function may have several schedules.
 */
export function scheduledEventInput(region: string, account: string, trigger: string): string {
  return JSON.stringify({
    version: '0',
    id: '<aws.scheduler.execution-id>',
    'detail-type': 'Scheduled Event',
    source: 'aws.scheduler',
    account,
    time: '<aws.scheduler.scheduled-time>',
    region,
    resources: ['<aws.scheduler.schedule-arn>'],
    detail: { trigger },
  });
}
