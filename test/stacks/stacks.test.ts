import { createTableInput, tableDefinition, tableName } from '@opsauto/aws';
import { parseRunbook, runbookIamActions, type Runbook } from '@opsauto/core';
import { CONSOLE_ROUTES, functionEnvironment, manifest, METRIC_NAMES, runbookAutomations, type EnvKey, type FunctionDefinition, type Permission, type ResourceScope } from '@opsauto/functions';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Function as SstFunction, getStack, use, useFunctions, useSites, type FunctionProps, type StackContext } from 'sst/constructs';
import { initProject, useProject } from 'sst/project.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import config from '../../opsauto.config.js';
import sstConfig from '../../sst.config.js';
import { Api, buildApi } from '../../stacks/api.js';
import { Automation, buildAutomation, GUARDED_DETAIL_TYPES, isHttpOnly } from '../../stacks/automation.js';
import { functionDefaults, functionTag } from '../../stacks/function-from-manifest.js';
import { buildObservability, METRIC_ALARMS, Observability } from '../../stacks/observability.js';
import { Storage } from '../../stacks/storage.js';

/*
 * Synthesises the SST app offline and checks the CloudFormation it would deploy against the manifest.
 * Expected values are derived from the manifest (and the table definition), so that a trigger or permission added
 * there and not wired here fails a test. A second app, built from fixture entries, covers the trigger kinds the
 * manifest does not use yet (schedules, a function with both HTTP and other triggers, a function without triggers).
 */

const stage = 'test';
const region = 'us-east-1';
const account = '123456789012';
// Every variable the backend can set, read from functionEnvironment itself so a new one is checked too.
const allEnvKeys = Object.keys(functionEnvironment(config, 'x')) as EnvKey[];
/** The stage's topics, as every function that is told about them must name them. */
const stageTopics = {
  notification: `arn:aws:sns:${region}:${account}:${config.app}-${stage}-notifications`,
  escalation: `arn:aws:sns:${region}:${account}:${config.app}-${stage}-escalations`,
};

// ---------------------------------------------------------------------------------------------------------------
// Synthesis
// ---------------------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface CfnResource {
  Type: string;
  Properties?: Record<string, Json>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: Json; Export?: { Name: Json } }>;
}
/** Templates by functional stack name (`Storage`, `Automation`, `Api`). */
type Templates = Record<string, CfnTemplate>;
type FunctionalStack = Parameters<typeof getStack>[0];

/**
 * The props SST builds each function from (what `sst deploy` bundles and copies files by), keyed by
 * `<stack>/<logical id>` of the function; recorded per synthesised app because the placeholder code in the template
 * does not show them.
 */
const buildProps = new WeakMap<Templates, Map<string, FunctionProps>>();
/** The static sites of each synthesised app, with their props (a site's build and files are not in the template). */
const siteProps = new WeakMap<Templates, ReturnType<typeof useSites>['all']>();

/**
 * Synthesises an app in deploy mode. `isActiveStack: () => false` makes SST give functions placeholder code instead of
 * running esbuild on their handlers (as `sst deploy <other stack>` does), so handler files need not exist; every
 * other resource, property and IAM statement is synthesised as for a real deployment. NODE_ENV=test makes
 * `app.finish()` skip its AWS calls (bootstrap bucket lookup for sourcemaps).
 */
async function synthesise(define: (app: App) => void | Promise<void>, stacks: FunctionalStack[]): Promise<Templates> {
  const app = new App({
    mode: 'deploy',
    stage,
    name: useProject().config.name,
    region,
    account,
    isActiveStack: () => false,
  });
  await define(app);
  await app.finish();
  const templates: Templates = Object.fromEntries(stacks.map((s) => [s.name, Template.fromStack(getStack(s)).toJSON() as CfnTemplate]));
  const props = new Map<string, FunctionProps>();
  for (const s of stacks) {
    const stack = getStack(s);
    for (const construct of stack.node.findAll()) {
      // SST's build reads a function's props by its construct address; read them the same way, while this app is current.
      const built = construct instanceof SstFunction ? useFunctions().fromID(construct.node.addr) : undefined;
      if (built) props.set(`${s.name}/${stack.getLogicalId((construct as SstFunction).node.defaultChild as CfnElement)}`, built);
    }
  }
  buildProps.set(templates, props);
  // The static sites SST registered for this app (read while it is current, as the props above).
  siteProps.set(templates, [...useSites().all]);
  return templates;
}

let appTemplates: Promise<Templates> | undefined;
/** The real app (sst.config.ts), synthesised once for every test that reads it. */
function synthesiseApp(): Promise<Templates> {
  appTemplates ??= synthesise((app) => sstConfig.stacks(app), [Storage, Automation, Api, Observability]);
  return appTemplates;
}

beforeAll(async () => {
  vi.stubEnv('NODE_ENV', 'test');
  // Loads sst.config.ts the way the SST CLI does (its config() part), so the app name comes from it.
  await initProject({ stage, region });
});

afterAll(() => {
  vi.unstubAllEnvs();
});

// ---------------------------------------------------------------------------------------------------------------
// Reading templates
// ---------------------------------------------------------------------------------------------------------------

interface Located {
  stack: string;
  id: string;
  resource: CfnResource;
}

function resources(templates: Templates, type: string): Located[] {
  return Object.entries(templates).flatMap(([stack, template]) =>
    Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([id, resource]) => ({ stack, id, resource })),
  );
}

function props(located: Located): Record<string, Json> {
  return located.resource.Properties ?? {};
}

/**
 * Renders an intrinsic as a readable string: `Ref` -> `${Id}`, `Fn::GetAtt` -> `${Id.Attr}`, imports as
 * `${import:Name}`; the partition pseudo parameter becomes `aws` so that expected ARNs read like real ones.
 */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if ('Ref' in value) return value.Ref === 'AWS::Partition' ? 'aws' : `\${${render(value.Ref)}}`;
    if ('Fn::GetAtt' in value) {
      const [id, attribute] = value['Fn::GetAtt'] as [string, string];
      return `\${${id}.${attribute}}`;
    }
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'] as [string, Json[]];
      return parts.map(render).join(separator);
    }
    if ('Fn::ImportValue' in value) return `\${import:${render(value['Fn::ImportValue'])}}`;
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** The resource a `Ref`, `Fn::GetAtt` or cross-stack `Fn::ImportValue` points at, seen from `stack`. */
function resolve(templates: Templates, stack: string, value: Json): Located | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const id = 'Ref' in value ? value.Ref : 'Fn::GetAtt' in value ? (value['Fn::GetAtt'] as Json[])[0] : undefined;
    if (typeof id === 'string') {
      const resource = templates[stack]?.Resources[id];
      return resource && { stack, id, resource };
    }
    if ('Fn::ImportValue' in value) {
      const exportName = render(value['Fn::ImportValue']);
      for (const [producer, template] of Object.entries(templates)) {
        for (const output of Object.values(template.Outputs ?? {})) {
          if (output.Export && render(output.Export.Name) === exportName) return resolve(templates, producer, output.Value);
        }
      }
    }
  }
  return undefined;
}

function same(a: Located | undefined, b: Located): boolean {
  return a !== undefined && a.stack === b.stack && a.id === b.id;
}

function asList(value: Json | undefined): Json[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Every function resource tagged as a manifest function, by manifest name. */
function manifestFunctions(templates: Templates): Map<string, Located[]> {
  const byName = new Map<string, Located[]>();
  for (const fn of resources(templates, 'AWS::Lambda::Function')) {
    const tags = (props(fn).Tags ?? []) as { Key: string; Value: string }[];
    const name = tags.find((tag) => tag.Key === functionTag)?.Value;
    if (name) byName.set(name, [...(byName.get(name) ?? []), fn]);
  }
  return byName;
}

function functionOf(templates: Templates, name: string): Located {
  const found = manifestFunctions(templates).get(name) ?? [];
  expect(found, `function ${name}`).toHaveLength(1);
  return found[0];
}

function roleOf(templates: Templates, fn: Located): Located {
  const role = resolve(templates, fn.stack, props(fn).Role);
  expect(role?.resource.Type, `role of ${fn.id}`).toBe('AWS::IAM::Role');
  return role!;
}

interface Statement {
  Effect: string;
  Action?: Json;
  Resource?: Json;
  [key: string]: Json | undefined;
}

/** Statements of the role's inline policies and of every AWS::IAM::Policy attached to it, in any stack. */
function roleStatements(templates: Templates, role: Located): Statement[] {
  const documents: Json[] = asList(props(role).Policies).map((policy) => (policy as { PolicyDocument: Json }).PolicyDocument);
  for (const policy of [...resources(templates, 'AWS::IAM::Policy'), ...resources(templates, 'AWS::IAM::ManagedPolicy')]) {
    const attached = asList(props(policy).Roles).some((ref) => same(resolve(templates, policy.stack, ref), role));
    if (attached) documents.push(props(policy).PolicyDocument);
  }
  return documents.flatMap((document) => asList((document as { Statement: Json }).Statement) as unknown as Statement[]);
}

/** ` if <condition JSON>` after a grant that holds only under a condition; empty without one. */
function conditionSuffix(condition: Json | undefined): string {
  return condition === undefined ? '' : ` if ${JSON.stringify(condition)}`;
}

/**
 * Allow statements flattened into `action resource[ if condition]` entries; anything but plain
 * Allow/Action/Resource/Condition is refused.
 */
function grants(statements: Statement[]): string[] {
  const pairs = new Set<string>();
  for (const statement of statements) {
    expect(Object.keys(statement).filter((key) => !['Effect', 'Action', 'Resource', 'Sid', 'Condition'].includes(key))).toEqual([]);
    expect(statement.Effect).toBe('Allow');
    for (const action of asList(statement.Action)) {
      for (const resource of asList(statement.Resource)) pairs.add(`${render(action)} ${render(resource)}${conditionSuffix(statement.Condition)}`);
    }
  }
  return [...pairs].sort();
}

/**
 * What a manifest resource scope must become, written out independently of the stacks' rendering code.
 * `wakeUpRole` is the rendered ARN of the function's wake-up role (see `wakeUpRoleOf`).
 */
function expectedArns(scope: ResourceScope, wakeUpRole: string | undefined): string[] {
  switch (scope.kind) {
    case 'table': {
      const table = `arn:aws:dynamodb:${region}:${account}:table/${tableName(config.app, stage)}`;
      return [table, `${table}/index/*`];
    }
    case 'default-bus':
      return [`arn:aws:events:${region}:${account}:event-bus/default`];
    case 'opsauto-bus':
      return [`arn:aws:events:${region}:${account}:event-bus/${config.app}-${stage}-bus`];
    case 'runbook-roles':
      return runbookAutomations(config).map((a) => `arn:aws:iam::${account}:role/${config.app}-${stage}-runbook-${a.name}`);
    case 'ssm-documents':
      return [`arn:aws:ssm:${region}::document/*`, `arn:aws:ssm:${region}:${account}:document/*`];
    case 'wake-up-schedules':
      return [`arn:aws:scheduler:${region}:${account}:schedule/default/${config.app}-${stage}-wake-*`];
    case 'wake-up-role':
      expect(wakeUpRole, 'a wake-up-role scope needs a wake-up role').toBeDefined();
      return [wakeUpRole!];
    case 'ssm-parameter-path':
      return scope.regions.map((r) => `arn:aws:ssm:${r}:${account}:parameter${scope.path}*`);
    case 'ssm-opsitems':
      return scope.regions.map((r) => `arn:aws:ssm:${r}:${account}:opsitem/*`);
    case 'ssm-managed-instances':
      return [`arn:aws:ssm:${region}:${account}:managed-instance/*`];
    case 'ssm-parameter-paths':
      return [
        ...new Set(
          scope.paths.flatMap((path) => {
            const p = path.replace(/\/+$/, '');
            return p === '' ? [`arn:aws:ssm:${region}:${account}:parameter/*`] : [`arn:aws:ssm:${region}:${account}:parameter${p}`, `arn:aws:ssm:${region}:${account}:parameter${p}/*`];
          }),
        ),
      ];
    case 'notification-topics':
      return [stageTopics.notification, stageTopics.escalation];
    case 'hybrid-node-roles':
      return [...new Set([`${config.app}-${stage}-hybrid-node`, ...config.activations.iamRoles])].map((name) => `arn:aws:iam::${account}:role/${name}`);
    case 'function':
      return [`arn:aws:lambda:${region}:${account}:function:${config.app}-${stage}-${scope.name}`];
    case 'arns':
      return scope.arns;
    case 'any':
      return ['*'];
  }
}

function manifestGrants(definition: FunctionDefinition, wakeUpRole: string | undefined): string[] {
  return definition.permissions.flatMap((permission: Permission) =>
    permission.actions.flatMap((action) =>
      permission.resources.flatMap((scope) =>
        expectedArns(scope, wakeUpRole).map((arn) => `${action} ${arn}${conditionSuffix(permission.conditions as Json | undefined)}`),
      ),
    ),
  );
}

const schedulerTrust = (value: Json | undefined): boolean =>
  asList((value as { Statement?: Json } | undefined)?.Statement).some(
    (statement) => (statement as { Principal?: { Service?: Json } }).Principal?.Service === 'scheduler.amazonaws.com',
  );

/**
 * Roles EventBridge Scheduler may assume that no deployed schedule uses: the roles functions pass to the schedules
 * they create themselves (wake-ups).
 */
function wakeUpRoles(templates: Templates): Located[] {
  const scheduleRoles = resources(templates, 'AWS::Scheduler::Schedule').map((schedule) =>
    resolve(templates, schedule.stack, (props(schedule).Target as { RoleArn: Json }).RoleArn),
  );
  return resources(templates, 'AWS::IAM::Role').filter(
    (role) => schedulerTrust(props(role).AssumeRolePolicyDocument) && !scheduleRoles.some((used) => same(used, role)),
  );
}

/** The wake-up role that may invoke `fn`, found by what it grants (not by the function's environment). */
function wakeUpRoleOf(templates: Templates, fn: Located): Located | undefined {
  const matching = wakeUpRoles(templates).filter((role) =>
    grants(roleStatements(templates, role)).includes(`lambda:InvokeFunction \${${fn.id}.Arn}`),
  );
  expect(matching.length, `wake-up roles of ${fn.id}`).toBeLessThanOrEqual(1);
  return matching[0];
}

/** A role the stacks create for runbook steps (`<app>-<stage>-runbook-<automation>`). */
function isRunbookRole(role: Located): boolean {
  return typeof props(role).RoleName === 'string' && (props(role).RoleName as string).startsWith(`${config.app}-${stage}-runbook-`);
}

/** `${Id.Arn}`: how `render` shows the ARN of a resource in the same stack. */
function arnOf(located: Located): string {
  return `\${${located.id}.Arn}`;
}

/** The props SST builds and bundles a function with (see `buildProps`). */
function buildPropsOf(templates: Templates, fn: Located): FunctionProps {
  const found = buildProps.get(templates)?.get(`${fn.stack}/${fn.id}`);
  expect(found, `build props of ${fn.id}`).toBeDefined();
  return found!;
}

function invokeConfigOf(templates: Templates, fn: Located): Located[] {
  return resources(templates, 'AWS::Lambda::EventInvokeConfig').filter((config) =>
    same(resolve(templates, config.stack, props(config).FunctionName), fn),
  );
}

/** The SST metadata entry of a function: the runtime and handler SST builds it with (not the placeholder's). */
function sstMetadataOf(templates: Templates, fn: Located): { runtime: string; handler: string } {
  const output = templates[fn.stack].Outputs!.SSTMetadata;
  const metadata = JSON.parse(render(output.Value)) as { metadata: { type: string; data: { arn: string; runtime: string; handler: string } }[] };
  const entry = metadata.metadata.find((item) => item.type === 'Function' && item.data.arn === `\${${fn.id}.Arn}`);
  expect(entry, `SST metadata of ${fn.id}`).toBeDefined();
  return entry!.data;
}

// ---------------------------------------------------------------------------------------------------------------
// Fixture app: trigger kinds the manifest does not use yet
// ---------------------------------------------------------------------------------------------------------------

const fixtureDefinitions: FunctionDefinition[] = [
  {
    name: 'office-hours',
    handler: 'packages/functions/src/handlers/office-hours.handler',
    description: 'fixture: two schedules in two timezones',
    timeoutSeconds: 120,
    memoryMB: 512,
    triggers: [
      { type: 'schedule', name: 'start', expression: 'cron(0 8 ? * MON-FRI *)', timezone: 'Europe/Berlin' },
      { type: 'schedule', name: 'stop', expression: 'cron(0 19 ? * MON-FRI *)', timezone: 'America/New_York' },
    ],
    environment: ['POWERTOOLS_LOG_LEVEL'],
    permissions: [
      { actions: ['ec2:StartInstances', 'ec2:StopInstances'], resources: [{ kind: 'any' }] },
      { actions: ['ssm:GetParametersByPath'], resources: [{ kind: 'ssm-parameter-path', path: '/opsauto/schedules/', regions: ['us-east-1', 'eu-west-1'] }] },
    ],
  },
  {
    name: 'activation-issuer',
    handler: 'packages/functions/src/handlers/activation-issuer.handler',
    description: 'fixture: HTTP routes plus a daily sweep',
    timeoutSeconds: 15,
    memoryMB: 256,
    triggers: [
      { type: 'http', method: 'POST', path: '/activations' },
      { type: 'http', method: 'GET', path: '/activation' },
      { type: 'schedule', name: 'sweep', expression: 'rate(1 day)', timezone: 'UTC' },
    ],
    environment: ['TABLE_NAME', 'POWERTOOLS_LOG_LEVEL'],
    permissions: [
      { actions: ['ssm:CreateActivation', 'ssm:DeleteActivation'], resources: [{ kind: 'any' }] },
      { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [{ kind: 'table' }] },
    ],
  },
  {
    name: 'runbook-worker',
    handler: 'packages/functions/src/handlers/runbook-worker.handler',
    description: 'fixture: an event trigger with a content-filtering pattern',
    timeoutSeconds: 900,
    memoryMB: 1024,
    triggers: [
      {
        type: 'event',
        name: 'compliance-change',
        pattern: {
          source: ['aws.config'],
          'detail-type': ['Config Rules Compliance Change'],
          detail: { newEvaluationResult: { complianceType: ['NON_COMPLIANT'] }, configRuleName: [{ prefix: 'opsauto-' }] },
        },
      },
    ],
    environment: ['TABLE_NAME', 'OPSAUTO_CONFIG', 'POWERTOOLS_LOG_LEVEL'],
    permissions: [{ actions: ['dynamodb:Query', 'dynamodb:PutItem'], resources: [{ kind: 'table' }] }],
  },
  {
    name: 'token-admin',
    handler: 'packages/functions/src/handlers/token-admin.handler',
    description: 'fixture: no trigger, invoked directly',
    timeoutSeconds: 10,
    memoryMB: 128,
    triggers: [],
    environment: ['TABLE_NAME'],
    permissions: [{ actions: ['dynamodb:PutItem'], resources: [{ kind: 'table' }] }],
  },
];

const fixtureWiring = { config, stage, tableName: tableName(config.app, stage) };

function FixtureAutomation({ stack }: StackContext) {
  return buildAutomation(
    stack,
    fixtureDefinitions.filter((definition) => !isHttpOnly(definition)),
    fixtureWiring,
  );
}

function FixtureApi({ stack }: StackContext) {
  return { api: buildApi(stack, fixtureDefinitions, fixtureWiring, use(FixtureAutomation).functions) };
}

// ---------------------------------------------------------------------------------------------------------------
// Checks that hold for any set of manifest entries
// ---------------------------------------------------------------------------------------------------------------

const cases: { label: string; definitions: () => FunctionDefinition[]; synth: () => Promise<Templates> }[] = [
  {
    label: 'the manifest',
    definitions: () => manifest(config),
    synth: synthesiseApp,
  },
  {
    label: 'fixture entries with schedules, mixed and trigger-less functions',
    definitions: () => fixtureDefinitions,
    synth: () =>
      synthesise(
        (app) => {
          app.setDefaultFunctionProps(functionDefaults);
          app.stack(FixtureAutomation).stack(FixtureApi);
        },
        [FixtureAutomation, FixtureApi],
      ),
  },
];

describe.each(cases)('stacks built from $label', ({ definitions: defs, synth }) => {
  let templates: Templates;
  let definitions: FunctionDefinition[];

  beforeAll(async () => {
    definitions = defs();
    templates = await synth();
  });

  it('creates each manifest function exactly once when the app is synthesised', () => {
    // Prepare
    const expected = definitions.map((d) => d.name).sort();

    // Act
    const found = manifestFunctions(templates);

    // Assess
    expect([...found.keys()].sort()).toEqual(expected);
    for (const [name, copies] of found) expect(copies, name).toHaveLength(1);
  });

  it('uses nodejs22.x on arm64 with the manifest handler, timeout, memory and environment when building a function', () => {
    for (const definition of definitions) {
      const fn = functionOf(templates, definition.name);
      const p = props(fn);
      const environment = (p.Environment as { Variables: Record<string, Json> } | undefined)?.Variables ?? {};
      // The wake-up role's ARN is a reference to the role the stacks create; every other value is a plain string.
      const wakeUpRole = wakeUpRoleOf(templates, fn);
      const expectedEnvironment = functionEnvironment(config, tableName(config.app, stage), wakeUpRole && arnOf(wakeUpRole), stageTopics);

      if (definition.python) {
        // A plain CDK function: the manifest's Python runtime and handler, deployed under its fixed name.
        expect(p.Runtime, definition.name).toBe(definition.python.runtime);
        expect(p.Handler, definition.name).toBe(definition.handler);
        expect(p.FunctionName, definition.name).toBe(`${config.app}-${stage}-${definition.name}`);
      } else {
        // Placeholder code always carries nodejs22.x; SST's metadata holds the runtime it would build and deploy with.
        expect(p.Runtime, definition.name).toBe('nodejs22.x');
        expect(sstMetadataOf(templates, fn), definition.name).toMatchObject({ runtime: 'nodejs22.x', handler: definition.handler });
      }
      expect(p.Architectures, definition.name).toEqual(['arm64']);
      expect(p.Timeout, definition.name).toBe(definition.timeoutSeconds);
      expect(p.MemorySize, definition.name).toBe(definition.memoryMB);
      for (const key of allEnvKeys) {
        const value = environment[key];
        expect(value === undefined ? undefined : render(value), `${definition.name} ${key}`).toBe(
          definition.environment.includes(key) ? expectedEnvironment[key] : undefined,
        );
      }
    }
  });

  it('has an AWS::Events::Rule on the trigger bus with the exact manifest pattern when a function has an event trigger', () => {
    const eventTriggers = definitions.flatMap((d) => d.triggers.flatMap((t) => (t.type === 'event' ? [{ d, t }] : [])));
    const rules = resources(templates, 'AWS::Events::Rule');

    for (const { d, t } of eventTriggers) {
      const fn = functionOf(templates, d.name);
      const matching = rules.filter(
        (rule) =>
          JSON.stringify(props(rule).EventPattern) === JSON.stringify(t.pattern) &&
          asList(props(rule).Targets).some((target) => same(resolve(templates, rule.stack, (target as { Arn: Json }).Arn), fn)),
      );
      expect(matching, `${d.name}/${t.name}`).toHaveLength(1);
      const rule = matching[0];
      expect(props(rule).EventPattern).toEqual(t.pattern);
      if ((t.bus ?? 'default') === 'default') expect(props(rule).EventBusName, `${d.name}/${t.name} on the default bus`).toBeUndefined();
      else {
        const bus = resolve(templates, rule.stack, props(rule).EventBusName);
        expect(bus?.resource.Type, `${d.name}/${t.name} on opsauto's bus`).toBe('AWS::Events::EventBus');
        expect(props(bus!).Name).toBe(`${config.app}-${stage}-bus`);
      }
      expect(props(rule).State).toBe('ENABLED');
      const invokePermissions = resources(templates, 'AWS::Lambda::Permission').filter(
        (permission) =>
          props(permission).Principal === 'events.amazonaws.com' &&
          same(resolve(templates, permission.stack, props(permission).SourceArn), rule) &&
          same(resolve(templates, permission.stack, props(permission).FunctionName), fn),
      );
      expect(invokePermissions, `${d.name}/${t.name} lambda permission`).toHaveLength(1);
    }
    expect(rules).toHaveLength(eventTriggers.length);
  });

  it('has an EventBridge Scheduler schedule with its timezone and a role that may only invoke that function when a function has a schedule trigger', () => {
    const scheduleTriggers = definitions.flatMap((d) => d.triggers.flatMap((t) => (t.type === 'schedule' ? [{ d, t }] : [])));
    const schedules = resources(templates, 'AWS::Scheduler::Schedule');

    for (const { d, t } of scheduleTriggers) {
      const fn = functionOf(templates, d.name);
      const matching = schedules.filter(
        (schedule) =>
          props(schedule).ScheduleExpression === t.expression &&
          props(schedule).ScheduleExpressionTimezone === t.timezone &&
          same(resolve(templates, schedule.stack, (props(schedule).Target as { Arn: Json }).Arn), fn),
      );
      expect(matching, `${d.name}/${t.name}`).toHaveLength(1);
      const schedule = matching[0];
      const target = props(schedule).Target as { RoleArn: Json; Input: Json };
      expect(props(schedule).State).toBe('ENABLED');
      expect(props(schedule).FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      expect(JSON.parse(render(target.Input))).toMatchObject({
        'detail-type': 'Scheduled Event',
        source: 'aws.scheduler',
        account,
        region,
        detail: { trigger: t.name },
      });

      const role = resolve(templates, schedule.stack, target.RoleArn)!;
      expect(role.resource.Type).toBe('AWS::IAM::Role');
      expect(props(role).AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': account } },
          },
        ],
      });
      expect(props(role).ManagedPolicyArns).toBeUndefined();
      expect(grants(roleStatements(templates, role))).toEqual([`lambda:InvokeFunction \${${fn.id}.Arn}`]);
    }
    expect(schedules).toHaveLength(scheduleTriggers.length);
  });

  it('routes each HTTP trigger to its function when a function has an http trigger', () => {
    const httpTriggers = definitions.flatMap((d) => d.triggers.flatMap((t) => (t.type === 'http' ? [{ d, t }] : [])));
    const routes = resources(templates, 'AWS::ApiGatewayV2::Route');

    for (const { d, t } of httpTriggers) {
      const fn = functionOf(templates, d.name);
      const matching = routes.filter((route) => props(route).RouteKey === `${t.method} ${t.path}`);
      expect(matching, `${t.method} ${t.path}`).toHaveLength(1);
      const route = matching[0];
      const integrationRef = (props(route).Target as { 'Fn::Join': [string, Json[]] })['Fn::Join'][1][1]!;
      const integration = resolve(templates, route.stack, integrationRef)!;
      expect(props(integration).IntegrationType).toBe('AWS_PROXY');
      expect(props(integration).PayloadFormatVersion).toBe('2.0');
      expect(resolve(templates, integration.stack, props(integration).IntegrationUri), `${t.method} ${t.path} target`).toEqual(fn);
      // IAM unless the trigger says 'none' or 'jwt': SigV4-signed requests of principals allowed execute-api:Invoke only.
      expect(props(route).AuthorizationType, `${t.method} ${t.path} authorizer`).toBe({ iam: 'AWS_IAM', jwt: 'JWT', none: 'NONE' }[t.auth ?? 'iam']);
    }
    expect(routes).toHaveLength(httpTriggers.length);
  });

  it('grants each function exactly its manifest permissions plus logging and its failure queue when the role is synthesised', () => {
    for (const definition of definitions) {
      const fn = functionOf(templates, definition.name);
      const role = roleOf(templates, fn);
      const failureQueue = isHttpOnly(definition)
        ? []
        : invokeConfigOf(templates, fn).map((config) =>
            render((props(config).DestinationConfig as { OnFailure: { Destination: Json } }).OnFailure.Destination),
          );
      // Lambda's on-failure destination needs the function role to send to the queue (CDK's grantSendMessages).
      const destinationGrants = failureQueue.flatMap((queue) =>
        ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'].map((action) => `${action} ${queue}`),
      );

      expect(props(role).ManagedPolicyArns, definition.name).toEqual([
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']] },
      ]);
      const wakeUpRole = wakeUpRoleOf(templates, fn);
      expect(grants(roleStatements(templates, role)), definition.name).toEqual(
        [...new Set([...manifestGrants(definition, wakeUpRole && arnOf(wakeUpRole)), ...destinationGrants])].sort(),
      );
    }
  });

  it('never allows Action "*" and allows Resource "*" only for actions the manifest scopes as any', () => {
    const anyActionsByRole = new Map<string, Set<string>>();
    for (const definition of definitions) {
      const role = roleOf(templates, functionOf(templates, definition.name));
      const anyActions = definition.permissions.filter((p) => p.resources.some((r) => r.kind === 'any')).flatMap((p) => p.actions);
      anyActionsByRole.set(`${role.stack}/${role.id}`, new Set(anyActions));
    }

    for (const role of resources(templates, 'AWS::IAM::Role')) {
      const allowedOnAny = anyActionsByRole.get(`${role.stack}/${role.id}`) ?? new Set<string>();
      for (const grant of grants(roleStatements(templates, role))) {
        const [action, resource] = grant.split(' ') as [string, string];
        expect(action, `${role.id}: ${grant}`).not.toBe('*');
        // A runbook role's only unscoped grants are calls that support no resource-level permissions: EC2 Describe*,
        // and reading Run Command's commands and nodes' patch states.
        if (resource === '*' && isRunbookRole(role)) expect(action, `${role.id}: ${grant}`).toMatch(/^(ec2:Describe[A-Za-z]+|ssm:ListCommands|ssm:ListCommandInvocations|ssm:DescribeInstancePatchStates)$/);
        else if (resource === '*') expect(allowedOnAny.has(action), `${role.id}: ${grant}`).toBe(true);
      }
    }
  });

  it('gives each function with wakeUp, and no other, a role Scheduler assumes for this account that may only invoke it', () => {
    const withRoles: Located[] = [];
    for (const definition of definitions) {
      const fn = functionOf(templates, definition.name);
      const role = wakeUpRoleOf(templates, fn);
      if (!definition.wakeUp) {
        expect(role, `${definition.name} has no wake-up role`).toBeUndefined();
        continue;
      }
      expect(role, `${definition.name} wake-up role`).toBeDefined();
      withRoles.push(role!);
      expect(props(role!).AssumeRolePolicyDocument, definition.name).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': account } },
          },
        ],
      });
      expect(props(role!).ManagedPolicyArns, definition.name).toBeUndefined();
      expect(grants(roleStatements(templates, role!)), definition.name).toEqual([
        `lambda:InvokeFunction ${arnOf(fn)}`,
        `lambda:InvokeFunction ${arnOf(fn)}:*`,
      ]);
      // The role is the one the function is told to pass, and in the function's stack (no cross-stack export).
      expect(role!.stack, definition.name).toBe(fn.stack);
      expect(render((props(fn).Environment as { Variables: Record<string, Json> }).Variables.WAKE_UP_ROLE_ARN), definition.name).toBe(arnOf(role!));
    }
    expect(wakeUpRoles(templates), 'wake-up roles').toHaveLength(withRoles.length);
  });

  it('copies the manifest files into the bundle SST builds when a function lists files', () => {
    for (const definition of definitions) {
      const fn = functionOf(templates, definition.name);
      // A Python function is its directory as is: SST builds no bundle for it.
      if (definition.python) {
        expect(definition.files, definition.name).toBeUndefined();
        continue;
      }

      expect(buildPropsOf(templates, fn).copyFiles, definition.name).toEqual(definition.files);
    }
  });

  it('retries twice and sends failures to a queue when a function is invoked asynchronously', () => {
    for (const definition of definitions) {
      const fn = functionOf(templates, definition.name);
      const configs = invokeConfigOf(templates, fn);
      if (isHttpOnly(definition)) {
        expect(configs, definition.name).toEqual([]);
        continue;
      }
      expect(configs, definition.name).toHaveLength(1);
      const config = configs[0];
      expect(props(config).MaximumRetryAttempts).toBe(2);
      const destination = (props(config).DestinationConfig as { OnFailure: { Destination: Json } }).OnFailure.Destination;
      expect(resolve(templates, config.stack, destination)?.resource.Type).toBe('AWS::SQS::Queue');
    }
  });

  it('alarms on the Errors metric of every function', () => {
    const alarms = resources(templates, 'AWS::CloudWatch::Alarm').filter(
      (alarm) => props(alarm).Namespace === 'AWS/Lambda' && props(alarm).MetricName === 'Errors',
    );
    for (const definition of definitions) {
      const fn = functionOf(templates, definition.name);
      const matching = alarms.filter((alarm) =>
        asList(props(alarm).Dimensions).some((dimension) => {
          const { Name, Value } = dimension as { Name: string; Value: Json };
          return Name === 'FunctionName' && same(resolve(templates, alarm.stack, Value), fn);
        }),
      );
      expect(matching, definition.name).toHaveLength(1);
      expect(props(matching[0])).toMatchObject({ Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real app: table, API settings and hard-coded sanity checks
// ---------------------------------------------------------------------------------------------------------------

describe('the opsauto app', () => {
  let templates: Templates;

  beforeAll(async () => {
    templates = await synthesiseApp();
  });

  it('creates the table from tableDefinition, on demand, with point-in-time recovery and TTL, when Storage is synthesised', () => {
    // Prepare
    const expected = createTableInput(tableName(config.app, stage));

    // Act
    const tables = resources({ Storage: templates.Storage }, 'AWS::DynamoDB::Table');

    // Assess
    expect(tables).toHaveLength(1);
    const table = tables[0];
    const p = props(table);
    expect(p.TableName).toBe('opsauto-test-state');
    expect(p.KeySchema).toEqual(expected.KeySchema);
    expect(p.AttributeDefinitions).toEqual(expect.arrayContaining(expected.AttributeDefinitions));
    expect(p.AttributeDefinitions).toHaveLength(expected.AttributeDefinitions.length);
    expect(p.GlobalSecondaryIndexes).toEqual(expected.GlobalSecondaryIndexes);
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: tableDefinition.ttlAttribute, Enabled: true });
    expect(table.resource.DeletionPolicy).toBe('Retain');
    expect(Object.keys(templates.Storage.Outputs ?? {})).toEqual(expect.arrayContaining(['TableName', 'TableArn']));
  });

  it('grants ami-publisher ssm:PutParameter on the /opsauto/ami/ parameter path and nowhere else', () => {
    const fn = functionOf(templates, 'ami-publisher');
    const putParameter = grants(roleStatements(templates, roleOf(templates, fn))).filter((g) => g.startsWith('ssm:PutParameter '));

    expect(putParameter).toEqual([`ssm:PutParameter arn:aws:ssm:us-east-1:123456789012:parameter/opsauto/ami/*`]);
  });

  it('creates the notification and escalation topics, encrypted with the AWS managed SNS key, and names them to param-policy-events', () => {
    // Act
    const topics = resources(templates, 'AWS::SNS::Topic').filter((t) => props(t).TopicName !== `${config.app}-${stage}-alarms`);
    const fn = functionOf(templates, 'param-policy-events');
    const variables = (props(fn).Environment as { Variables: Record<string, Json> }).Variables;

    // Assess
    // CDK names the alias by its ARN, which SNS takes as it takes `alias/aws/sns`.
    expect(topics.map((t) => [props(t).TopicName, render(props(t).KmsMasterKeyId)]).sort()).toEqual([
      [`${config.app}-${stage}-escalations`, 'arn:aws:kms:us-east-1:123456789012:alias/aws/sns'],
      [`${config.app}-${stage}-notifications`, 'arn:aws:kms:us-east-1:123456789012:alias/aws/sns'],
    ]);
    expect(render(variables.NOTIFICATION_TOPIC_ARN)).toBe('arn:aws:sns:us-east-1:123456789012:opsauto-test-notifications');
    expect(render(variables.ESCALATION_TOPIC_ARN)).toBe('arn:aws:sns:us-east-1:123456789012:opsauto-test-escalations');
    // Only HTTPS publishers: the topic policy denies the rest.
    // The alarm topic's (Observability) included.
    const policies = resources(templates, 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(3);
    for (const policy of policies) expect(JSON.stringify(props(policy).PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it('grants param-policy-events metadata reads, tags on the configured paths, Publish on its topics and its table items, and nothing to read a value', () => {
    // Prepare
    const fn = functionOf(templates, 'param-policy-events');
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/opsauto-test-state';
    const topics = [...new Set([stageTopics.notification, stageTopics.escalation, ...[config.parameterExpiry.defaultTopic, config.parameterExpiry.escalationTopic, ...config.parameterExpiry.routes.map((r) => r.topic)].filter((t): t is string => !!t)])];
    const paths = config.parameterExpiry.paths.flatMap((path) => {
      const p = path.replace(/\/+$/, '');
      return p === '' ? ['arn:aws:ssm:us-east-1:123456789012:parameter/*'] : [`arn:aws:ssm:us-east-1:123456789012:parameter${p}`, `arn:aws:ssm:us-east-1:123456789012:parameter${p}/*`];
    });

    // Act
    const granted = grants(roleStatements(templates, roleOf(templates, fn))).filter((g) => !g.startsWith('sqs:'));

    // Assess
    expect(granted).toEqual(
      [
        'ssm:DescribeParameters *',
        ...paths.map((arn) => `ssm:ListTagsForResource ${arn}`),
        ...topics.map((arn) => `sns:Publish ${arn}`),
        ...['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'].flatMap((a) => [`dynamodb:${a} ${table}`, `dynamodb:${a} ${table}/index/*`]),
      ].sort(),
    );
    expect(granted.filter((g) => /ssm:GetParameter|kms:/.test(g))).toEqual([]);
  });

  it('sends Parameter Store Policy Action events of aws.ssm on the default bus to param-policy-events', () => {
    const fn = functionOf(templates, 'param-policy-events');
    const rules = resources(templates, 'AWS::Events::Rule').filter((rule) => asList(props(rule).Targets).some((t) => same(resolve(templates, rule.stack, (t as { Arn: Json }).Arn), fn)));
    expect(rules.map((r) => [props(r).EventPattern, props(r).EventBusName])).toEqual([[{ source: ['aws.ssm'], 'detail-type': ['Parameter Store Policy Action'] }, undefined]]);
  });

  it('grants status only dynamodb:Query on the table and its indexes', () => {
    const fn = functionOf(templates, 'status');

    expect(grants(roleStatements(templates, roleOf(templates, fn)))).toEqual([
      'dynamodb:Query arn:aws:dynamodb:us-east-1:123456789012:table/opsauto-test-state',
      'dynamodb:Query arn:aws:dynamodb:us-east-1:123456789012:table/opsauto-test-state/index/*',
    ]);
  });

  it("grants param-expiry-sweep metadata reads on the configured parameters, sns:Publish on the stage's topics and never a parameter's value", () => {
    const fn = functionOf(templates, 'param-expiry-sweep');
    const granted = grants(roleStatements(templates, roleOf(templates, fn)));
    const variables = (props(fn).Environment as { Variables: Record<string, Json> }).Variables;

    expect(granted.filter((g) => g.startsWith('ssm:') || g.startsWith('sns:'))).toEqual([
      'sns:Publish arn:aws:sns:us-east-1:123456789012:opsauto-test-escalations',
      'sns:Publish arn:aws:sns:us-east-1:123456789012:opsauto-test-notifications',
      'ssm:DescribeParameters *',
      'ssm:ListTagsForResource arn:aws:ssm:us-east-1:123456789012:parameter/*',
    ]);
    expect(granted.some((g) => g.startsWith('ssm:GetParameter'))).toBe(false);
    expect(render(variables.NOTIFICATION_TOPIC_ARN)).toBe('arn:aws:sns:us-east-1:123456789012:opsauto-test-notifications');
    expect(render(variables.ESCALATION_TOPIC_ARN)).toBe('arn:aws:sns:us-east-1:123456789012:opsauto-test-escalations');
  });

  it('grants param-policy-apply the read and re-put of the configured parameters only, and KMS only through SSM', () => {
    const fn = functionOf(templates, 'param-policy-apply');
    const granted = grants(roleStatements(templates, roleOf(templates, fn)));
    const viaSsm = ' if {"StringEquals":{"kms:ViaService":"ssm.us-east-1.amazonaws.com"}}';

    expect(granted.filter((g) => /^(ssm|kms|sns|dynamodb):/.test(g))).toEqual([
      `kms:Decrypt *${viaSsm}`,
      `kms:Encrypt *${viaSsm}`,
      `kms:GenerateDataKey *${viaSsm}`,
      'ssm:DescribeParameters *',
      'ssm:GetParameter arn:aws:ssm:us-east-1:123456789012:parameter/*',
      'ssm:PutParameter arn:aws:ssm:us-east-1:123456789012:parameter/*',
    ]);
  });

  it('grants activation-sweep node listing, DeleteActivation, tags on managed instances only, its table items, and DeregisterManagedInstance only when configured', () => {
    // Prepare
    const fn = functionOf(templates, 'activation-sweep');
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/opsauto-test-state';
    const deregistering = manifest({ ...config, activations: { ...config.activations, deregisterStaleNodes: true } }).find((d) => d.name === 'activation-sweep')!;

    // Act
    const granted = grants(roleStatements(templates, roleOf(templates, fn)));

    // Assess
    expect(config.activations.deregisterStaleNodes).toBe(false);
    expect(granted.filter((g) => g.startsWith('ssm:'))).toEqual([
      'ssm:AddTagsToResource arn:aws:ssm:us-east-1:123456789012:managed-instance/*',
      'ssm:DeleteActivation *',
      'ssm:DescribeInstanceInformation *',
    ]);
    expect(granted.filter((g) => g.startsWith('dynamodb:'))).toEqual(['BatchGetItem', 'GetItem', 'Query', 'UpdateItem'].flatMap((a) => [`dynamodb:${a} ${table}`, `dynamodb:${a} ${table}/index/*`]));
    expect(granted.some((g) => g.startsWith('iam:') || g.startsWith('ssm:CreateActivation'))).toBe(false);
    expect(manifestGrants(deregistering, undefined).filter((g) => g.startsWith('ssm:DeregisterManagedInstance'))).toEqual([
      'ssm:DeregisterManagedInstance arn:aws:ssm:us-east-1:123456789012:managed-instance/*',
    ]);
  });

  it('grants runbook-worker exactly its table, opsauto bus, wake-up, document and runbook-role permissions', () => {
    // Prepare
    const fn = functionOf(templates, 'runbook-worker');
    const wakeUpRole = wakeUpRoleOf(templates, fn);
    expect(wakeUpRole).toBeDefined();
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/opsauto-test-state';
    const failureQueue = invokeConfigOf(templates, fn).map((c) =>
      render((props(c).DestinationConfig as { OnFailure: { Destination: Json } }).OnFailure.Destination),
    );
    expect(failureQueue).toHaveLength(1);

    // Act
    const granted = grants(roleStatements(templates, roleOf(templates, fn)));
    const byService = (service: string) => granted.filter((g) => g.startsWith(`${service}:`));

    // Assess
    expect(byService('dynamodb')).toEqual(
      ['BatchWriteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'].flatMap((a) => [`dynamodb:${a} ${table}`, `dynamodb:${a} ${table}/index/*`]),
    );
    expect(byService('events')).toEqual(['events:PutEvents arn:aws:events:us-east-1:123456789012:event-bus/opsauto-test-bus']);
    expect(byService('scheduler')).toEqual(
      ['CreateSchedule', 'DeleteSchedule', 'UpdateSchedule'].map(
        (a) => `scheduler:${a} arn:aws:scheduler:us-east-1:123456789012:schedule/default/opsauto-test-wake-*`,
      ),
    );
    expect(byService('iam')).toEqual([`iam:PassRole ${arnOf(wakeUpRole!)} if {"StringEquals":{"iam:PassedToService":"scheduler.amazonaws.com"}}`]);
    expect(byService('ssm')).toEqual([
      'ssm:GetDocument arn:aws:ssm:us-east-1:123456789012:document/*',
      'ssm:GetDocument arn:aws:ssm:us-east-1::document/*',
    ]);
    expect(byService('sts')).toEqual(runbookAutomations(config).map((a) => `sts:AssumeRole arn:aws:iam::123456789012:role/opsauto-test-runbook-${a.name}`).sort());
    expect(byService('sts')).toHaveLength(1 + config.automations.length);
    expect(byService('sqs')).toEqual(['GetQueueAttributes', 'GetQueueUrl', 'SendMessage'].map((a) => `sqs:${a} ${failureQueue[0]}`));
    expect(byService('lambda')).toEqual(['lambda:InvokeFunction arn:aws:lambda:us-east-1:123456789012:function:opsauto-test-execute-script']);
    expect(granted).toEqual(
      [...byService('dynamodb'), ...byService('events'), ...byService('scheduler'), ...byService('iam'), ...byService('ssm'), ...byService('sts'), ...byService('sqs'), ...byService('lambda')].sort(),
    );
  });

  it('grants automation-trigger on SSM only documents to read, OpsItems to read and note, CreateOpsItem for office hours to report what they cannot start, and managed nodes to list for patching', () => {
    const fn = functionOf(templates, 'automation-trigger');
    const ssm = grants(roleStatements(templates, roleOf(templates, fn))).filter((g) => g.startsWith('ssm:'));
    expect(ssm).toEqual([
      'ssm:CreateOpsItem *',
      'ssm:DescribeInstanceInformation *',
      'ssm:GetDocument arn:aws:ssm:us-east-1:123456789012:document/*',
      'ssm:GetDocument arn:aws:ssm:us-east-1::document/*',
      'ssm:GetOpsItem arn:aws:ssm:us-east-1:123456789012:opsitem/*',
      'ssm:UpdateOpsItem arn:aws:ssm:us-east-1:123456789012:opsitem/*',
    ]);
  });

  it('grants the executeScript runner only sts:AssumeRole on the runbook roles, and logging; it runs python3.12 from its directory', () => {
    // Prepare
    const fn = functionOf(templates, 'execute-script');
    const failureQueue = invokeConfigOf(templates, fn).map((c) => render((props(c).DestinationConfig as { OnFailure: { Destination: Json } }).OnFailure.Destination));

    // Act
    const granted = grants(roleStatements(templates, roleOf(templates, fn)));

    // Assess
    expect(granted.filter((g) => !g.startsWith('sqs:'))).toEqual(runbookAutomations(config).map((a) => `sts:AssumeRole arn:aws:iam::123456789012:role/opsauto-test-runbook-${a.name}`).sort());
    expect(granted.filter((g) => g.startsWith('sqs:'))).toEqual(['GetQueueAttributes', 'GetQueueUrl', 'SendMessage'].map((a) => `sqs:${a} ${failureQueue[0]}`));
    expect(props(roleOf(templates, fn)).ManagedPolicyArns).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']] },
    ]);
    expect(props(fn)).toMatchObject({ Runtime: 'python3.12', Handler: 'handler.handler', Timeout: 660, Architectures: ['arm64'] });
    expect(props(fn).Environment).toBeUndefined();
  });

  it('grants runbook-worker no action of a runbook step: nothing on ec2, rds, s3 or sns, and only GetDocument on ssm', () => {
    const granted = grants(roleStatements(templates, roleOf(templates, functionOf(templates, 'runbook-worker'))));

    expect(granted.filter((g) => /^(ec2|rds|s3|sns):/.test(g))).toEqual([]);
    expect(granted.filter((g) => g.startsWith('ssm:') && !g.startsWith('ssm:GetDocument '))).toEqual([]);
  });

  it('creates one runbook role per automation with exactly the actions its runbooks derive to, trusted only by the worker and the executeScript runner', () => {
    // Prepare: the documents read here independently of the stacks' loader.
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const known = new Map<string, Runbook>();
    for (const dir of ['runbooks', 'packages/localcloud/aws-documents']) {
      for (const file of readdirSync(`${root}${dir}`).filter((f) => /\.(ya?ml|json)$/.test(f))) {
        const name = basename(file, extname(file));
        known.set(name, parseRunbook(readFileSync(`${root}${dir}/${file}`, 'utf8'), { name }));
      }
    }
    const worker = roleOf(templates, functionOf(templates, 'runbook-worker'));
    const runner = roleOf(templates, functionOf(templates, 'execute-script'));

    // Act
    const roles = resources(templates, 'AWS::IAM::Role').filter(isRunbookRole);

    // Assess
    const automations = runbookAutomations(config);
    expect(roles.map((r) => props(r).RoleName).sort()).toEqual(automations.map((a) => `opsauto-test-runbook-${a.name}`).sort());
    for (const automation of automations) {
      const role = roles.find((r) => props(r).RoleName === `opsauto-test-runbook-${automation.name}`)!;
      const expected = [...new Set(automation.runbooks.flatMap((name) => runbookIamActions(known.get(name)!, (child) => known.get(child))))].sort();
      const actions = [...new Set(grants(roleStatements(templates, role)).map((g) => g.split(' ')[0]))].sort();
      expect(actions, automation.name).toEqual(expected);
      expect(actions, 'not allow-listed: AWS-TerminateEC2Instance').not.toContain('ec2:TerminateInstances');
      const trust = props(role).AssumeRolePolicyDocument as { Statement: { Effect: string; Action: string; Principal: { AWS: Json } }[] };
      // The worker runs the steps as the role; the executeScript runner runs scripts as it.
      for (const statement of trust.Statement) expect(statement).toMatchObject({ Effect: 'Allow', Action: 'sts:AssumeRole' });
      expect(trust.Statement.flatMap((s) => asList(s.Principal.AWS)).map((p) => resolve(templates, role.stack, p))).toEqual([worker, runner]);
      expect(props(role).ManagedPolicyArns).toBeUndefined();
    }
  });

  it('scopes each mutating runbook-role action to ARNs of the configured regions and account', () => {
    const role = resources(templates, 'AWS::IAM::Role').find(isRunbookRole)!;
    const granted = grants(roleStatements(templates, role));

    expect(granted).toContain('ec2:StopInstances arn:aws:ec2:us-east-1:123456789012:instance/*');
    expect(granted).toContain('ec2:DeleteVolume arn:aws:ec2:us-east-1:123456789012:volume/*');
    expect(granted).toContain('ec2:DeregisterImage arn:aws:ec2:us-east-1::image/*');
    expect(granted).toContain('rds:StopDBInstance arn:aws:rds:us-east-1:123456789012:db:*');
    expect(granted).toContain('s3:PutEncryptionConfiguration arn:aws:s3:::* if {"StringEquals":{"aws:ResourceAccount":"123456789012"}}');
    for (const grant of granted) {
      const [action, resource] = grant.split(' ') as [string, string];
      if (resource === '*') expect(action, grant).toMatch(/^ec2:Describe[A-Za-z]+$/);
      else if (!action.startsWith('s3:')) expect(resource, grant).toMatch(/^arn:aws:[a-z0-9]+:us-east-1:(123456789012)?:/);
    }
  });

  it("creates opsauto's bus with a policy for this account that denies guarded events to every principal but the stack's publishers", () => {
    // Prepare
    const buses = resources(templates, 'AWS::Events::EventBus');
    expect(buses.map((b) => props(b).Name)).toEqual(['opsauto-test-bus']);
    const bus = buses[0];
    const publishers = manifest(config)
      .filter((d) => d.permissions.some((p) => p.actions.includes('events:PutEvents') && p.resources.some((r) => r.kind === 'opsauto-bus') && !p.conditions))
      .map((d) => arnOf(roleOf(templates, functionOf(templates, d.name))));
    expect(publishers.length).toBe(2);

    // Act
    const statements = resources(templates, 'AWS::Events::EventBusPolicy')
      .filter((p) => same(resolve(templates, p.stack, props(p).EventBusName), bus))
      .map((p) => props(p).Statement as Record<string, Json>);

    // Assess
    const allow = statements.find((s) => s.Effect === 'Allow')!;
    expect(allow.Action).toBe('events:PutEvents');
    expect(render((allow.Principal as { AWS: Json }).AWS)).toBe(`arn:aws:iam::${account}:root`);
    expect(render(allow.Resource)).toBe(arnOf(bus));
    const deny = statements.find((s) => s.Effect === 'Deny')!;
    expect(deny).toMatchObject({ Action: 'events:PutEvents', Principal: { AWS: '*' } });
    const condition = deny.Condition as { StringEquals: Record<string, Json>; ArnNotEquals: Record<string, Json> };
    expect(condition.StringEquals['events:detail-type']).toEqual([...GUARDED_DETAIL_TYPES]);
    expect(GUARDED_DETAIL_TYPES).toEqual(expect.arrayContaining(['Runbook Execution Requested', 'Runbook Image Created']));
    expect(asList(condition.ArnNotEquals['aws:PrincipalArn']).map(render).sort()).toEqual(publishers.sort());
    expect(statements).toHaveLength(2);
  });

  it('has no rule for Runbook Execution Requested on the default bus', () => {
    const requested = resources(templates, 'AWS::Events::Rule').filter((r) =>
      asList((props(r).EventPattern as Record<string, Json>)['detail-type']).includes('Runbook Execution Requested'),
    );

    expect(requested).toHaveLength(1);
    expect(resolve(templates, requested[0].stack, props(requested[0]).EventBusName)?.resource.Type).toBe('AWS::Events::EventBus');
  });

  it("puts every /api route, the signal route included, behind the JWT authorizer of the console's user pool and leaves /activations without one", () => {
    // Prepare
    const routes = resources(templates, 'AWS::ApiGatewayV2::Route');
    const apiRoutes = routes.filter((r) => / \/api\//.test(props(r).RouteKey as string));
    const [pool] = resources(templates, 'AWS::Cognito::UserPool');
    const [client] = resources(templates, 'AWS::Cognito::UserPoolClient');

    // Assess
    expect(apiRoutes.map((r) => props(r).RouteKey).sort()).toEqual(CONSOLE_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(apiRoutes.map((r) => props(r).RouteKey)).toContain('POST /api/executions/{id}/signal');
    for (const route of apiRoutes) {
      expect(props(route).AuthorizationType, props(route).RouteKey as string).toBe('JWT');
      const authorizer = resolve(templates, route.stack, props(route).AuthorizerId)!;
      expect(authorizer.resource.Type).toBe('AWS::ApiGatewayV2::Authorizer');
      expect(props(authorizer).AuthorizerType).toBe('JWT');
      const jwt = props(authorizer).JwtConfiguration as { Issuer: Json; Audience: Json[] };
      // Tokens of the stage's user pool, issued to the console's app client.
      expect(render(jwt.Issuer)).toBe(`https://cognito-idp.${region}.amazonaws.com/\${${pool.id}}`);
      expect(jwt.Audience.map(render)).toEqual([`\${${client.id}}`]);
    }
    const auth = Object.fromEntries(routes.map((r) => [props(r).RouteKey as string, props(r).AuthorizationType]));
    expect(auth['POST /activations']).toBe('NONE');
    expect(auth['GET /activation']).toBe('NONE');
  });

  it('deploys packages/console as a StaticSite built with the API URL and the user pool coordinates, and builds nothing at synth when its stack is not deployed', () => {
    // Prepare: SST registers every site with its props; in these tests no stack is active, so StaticSite neither builds
    // the app nor makes its bucket (as `sst deploy <other stack>`): synthesis needs no built console.
    const sites = (siteProps.get(templates) ?? []).filter((s) => s.name === 'Console');

    // Assess
    expect(sites).toHaveLength(1);
    const { props: site } = sites[0];
    expect(site).toMatchObject({ path: 'packages/console', buildOutput: 'site', indexPage: 'console/index.html', errorPage: 'redirect_to_index_page' });
    expect(site.buildCommand).toBe('rm -rf site && npx vite build --outDir site/console --emptyOutDir');
    expect(Object.keys(site.environment ?? {}).sort()).toEqual(['VITE_API_URL', 'VITE_AUTH_DOMAIN', 'VITE_REGION', 'VITE_USER_POOL_CLIENT_ID', 'VITE_USER_POOL_ID']);
    expect(resources(templates, 'AWS::CloudFront::Distribution')).toEqual([]);
  });

  it('creates the console user pool with the operators and readers groups and a public code-flow client', () => {
    // Prepare
    const [pool, ...otherPools] = resources(templates, 'AWS::Cognito::UserPool');
    const groups = resources(templates, 'AWS::Cognito::UserPoolGroup');
    const clients = resources(templates, 'AWS::Cognito::UserPoolClient');
    const domains = resources(templates, 'AWS::Cognito::UserPoolDomain');

    // Assess
    expect(otherPools).toEqual([]);
    expect((props(pool).AdminCreateUserConfig as { AllowAdminCreateUserOnly: boolean }).AllowAdminCreateUserOnly).toBe(true);
    expect(groups.map((g) => props(g).GroupName).sort()).toEqual(['operators', 'readers']);
    for (const group of groups) expect(same(resolve(templates, group.stack, props(group).UserPoolId), pool)).toBe(true);
    expect(clients).toHaveLength(1);
    const client = props(clients[0]);
    expect(client.GenerateSecret).toBe(false);
    expect(client.AllowedOAuthFlows).toEqual(['code']);
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(domains.map((d) => props(d).Domain)).toEqual(['opsauto-test-console']);
  });

  it('authorises POST /runbooks/executions and GET /status with IAM', () => {
    const routes = resources(templates, 'AWS::ApiGatewayV2::Route');
    const auth = Object.fromEntries(routes.map((r) => [props(r).RouteKey as string, props(r).AuthorizationType]));

    expect(auth['POST /runbooks/executions']).toBe('AWS_IAM');
    expect(auth['GET /status']).toBe('AWS_IAM');
  });

  it('gives runbook-worker its wake-up role ARN and the stage wake-up prefix, and a wake-up role only it has', () => {
    const fn = functionOf(templates, 'runbook-worker');
    const variables = (props(fn).Environment as { Variables: Record<string, Json> }).Variables;
    const wakeUpRole = wakeUpRoleOf(templates, fn)!;

    expect(render(variables.WAKE_UP_ROLE_ARN)).toBe(arnOf(wakeUpRole));
    expect(wakeUpRole.resource.Type).toBe('AWS::IAM::Role');
    expect(variables.WAKE_UP_PREFIX).toBe('opsauto-test-wake-');
    expect(wakeUpRoles(templates)).toEqual([wakeUpRole]);
    expect(grants(roleStatements(templates, wakeUpRole))).toEqual([`lambda:InvokeFunction ${arnOf(fn)}`, `lambda:InvokeFunction ${arnOf(fn)}:*`]);
  });

  it('invokes runbook-worker every 5 minutes from an EventBridge Scheduler schedule', () => {
    const fn = functionOf(templates, 'runbook-worker');
    const ticks = resources(templates, 'AWS::Scheduler::Schedule').filter((schedule) =>
      same(resolve(templates, schedule.stack, (props(schedule).Target as { Arn: Json }).Arn), fn),
    );

    expect(ticks.map((t) => [props(t).ScheduleExpression, props(t).ScheduleExpressionTimezone])).toEqual([['rate(5 minutes)', 'UTC']]);
  });

  it('ships the repository runbooks with runbook-worker, runbook-api and automation-trigger and with no other function', () => {
    const runbooks = fileURLToPath(new URL('../../runbooks', import.meta.url));
    const python = new Set(manifest(config).filter((d) => d.python).map((d) => d.name));
    const shipped = [...manifestFunctions(templates)].filter(([name, [fn]]) => !python.has(name) && buildPropsOf(templates, fn).copyFiles !== undefined);

    expect(shipped.map(([name]) => name).sort()).toEqual(['automation-trigger', 'runbook-api', 'runbook-worker']);
    for (const [, [fn]] of shipped) expect(buildPropsOf(templates, fn).copyFiles).toEqual([{ from: 'runbooks', to: 'runbooks' }]);
    // SST copies `from` relative to the project root: the directory must be there and hold documents.
    expect(existsSync(runbooks)).toBe(true);
    expect(readdirSync(runbooks).filter((f) => /\.(ya?ml|json)$/.test(f)).length).toBeGreaterThan(0);
  });

  it("starts the shipped automations from their triggers: a schedule in each one's time zone, a rule for the Config rule, each invoking automation-trigger", () => {
    const fn = functionOf(templates, 'automation-trigger');
    const schedules = resources(templates, 'AWS::Scheduler::Schedule')
      .filter((schedule) => same(resolve(templates, schedule.stack, (props(schedule).Target as { Arn: Json }).Arn), fn))
      .map((schedule) => [JSON.parse((props(schedule).Target as { Input: string }).Input).detail.trigger, props(schedule).ScheduleExpression, props(schedule).ScheduleExpressionTimezone]);
    const rules = resources(templates, 'AWS::Events::Rule')
      .filter((rule) => (props(rule).Targets as { Arn: Json }[]).some((t) => same(resolve(templates, rule.stack, t.Arn), fn)))
      .map((rule) => [props(rule).EventBusName, props(rule).EventPattern]);
    const onOwnBus = rules.filter(([bus]) => bus !== undefined);

    expect(schedules.sort()).toEqual([
      ['nightly-resize', 'cron(0 7,22 * * ? *)', 'Asia/Seoul'],
      ['patch-window', 'cron(0 2 ? * TUE *)', 'Asia/Seoul'],
      ['qa-office-hours', 'cron(0/5 * * * ? *)', 'Asia/Seoul'],
      ['weekly-golden-ami', 'cron(0 3 ? * SUN *)', 'UTC'],
    ]);
    // The end of an OpsItem remediation, on opsauto's bus (where the engine's status events are), settles the item.
    expect(onOwnBus.map(([, pattern]) => pattern)).toEqual([
      {
        source: ['opsauto.runbooks'],
        'detail-type': ['Runbook Execution Status-change Notification'],
        detail: { Definition: ['opsauto-DeleteVolume', 'opsauto-SnapshotThenDeleteVolume'], Status: ['Success', 'TimedOut', 'Cancelled', 'Failed', 'CompletedWithSuccess', 'CompletedWithFailure'] },
      },
    ]);
    expect(rules.filter(([bus]) => bus === undefined)).toEqual([
      // qa-office-hours: RDS starting a stopped instance or cluster again, to be stopped at once outside hours.
      [undefined, { source: ['aws.rds'], 'detail-type': ['RDS DB Instance Event', 'RDS DB Cluster Event'], detail: { EventID: ['RDS-EVENT-0154', 'RDS-EVENT-0153'] } }],
      [
        undefined,
        {
          source: ['aws.config'],
          'detail-type': ['Config Rules Compliance Change'],
          detail: { messageType: ['ComplianceChangeNotification'], configRuleName: ['s3-bucket-versioning-enabled'], newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } },
        },
      ],
      // stale-volume-remediation: an OpsItem of opsauto's set to InProgress.
      [undefined, { source: ['aws.ssm'], 'detail-type': ['OpsItem Update'], detail: { source: ['opsauto'], status: ['InProgress'] } }],
    ]);
  });

  it("keeps each function's environment under Lambda's 4 KB with the shipped config", () => {
    const environment = functionEnvironment(config, 'opsauto-production-state', 'arn:aws:iam::123456789012:role/opsauto-production-wake-up');
    for (const definition of manifest(config)) {
      const bytes = definition.environment.reduce((sum, key) => sum + Buffer.byteLength(key) + Buffer.byteLength(environment[key]), 0);
      expect(bytes, definition.name).toBeLessThan(4096);
    }
  });

  it('gives each automation a role with the actions of its runbook only', () => {
    const role = (name: string) => resources(templates, 'AWS::IAM::Role').find((r) => props(r).RoleName === `${config.app}-${stage}-runbook-${name}`)!;
    const actions = (name: string) => [...new Set(grants(roleStatements(templates, role(name))).map((g) => g.split(' ')[0]))].sort();

    expect(actions('s3-versioning-remediation')).toEqual(['s3:GetBucketVersioning', 's3:PutBucketVersioning']);
    expect(actions('patch-window')).toEqual(['ssm:DescribeInstancePatchStates', 'ssm:ListCommandInvocations', 'ssm:ListCommands', 'ssm:SendCommand']);
    expect(actions('qa-office-hours')).toEqual(['ec2:DescribeInstanceStatus', 'ec2:DescribeInstances', 'ec2:StartInstances', 'ec2:StopInstances', 'rds:DescribeDBClusters', 'rds:DescribeDBInstances', 'rds:StartDBCluster', 'rds:StartDBInstance', 'rds:StopDBCluster', 'rds:StopDBInstance']);
    expect(actions('nightly-resize')).toEqual(['ec2:CreateTags', 'ec2:DescribeInstanceStatus', 'ec2:DescribeInstances', 'ec2:ModifyInstanceAttribute', 'ec2:StartInstances', 'ec2:StopInstances']);
    expect(actions('weekly-golden-ami')).toEqual(['ec2:CreateImage', 'ec2:CreateTags', 'ec2:DeleteSnapshot', 'ec2:DeregisterImage', 'ec2:DescribeImages', 'ec2:DescribeInstances']);
  });

  it('sends EC2 AMI State Change events to ami-publisher', () => {
    const fn = functionOf(templates, 'ami-publisher');
    const rule = resources(templates, 'AWS::Events::Rule').find((r) =>
      asList((props(r).EventPattern as Record<string, Json>)['detail-type']).includes('EC2 AMI State Change'),
    );

    expect(rule).toBeDefined();
    expect(props(rule!).EventPattern).toMatchObject({ source: ['aws.ec2'] });
    expect(resolve(templates, rule!.stack, (asList(props(rule!).Targets)[0] as { Arn: Json }).Arn)).toEqual(fn);
  });

  it('routes GET /status and throttles the API at burst 50, rate 20', () => {
    const stages = resources(templates, 'AWS::ApiGatewayV2::Stage');
    const routeKeys = resources(templates, 'AWS::ApiGatewayV2::Route').map((route) => props(route).RouteKey);

    expect(routeKeys).toContain('GET /status');
    expect(stages).toHaveLength(1);
    expect(props(stages[0]).DefaultRouteSettings).toMatchObject({ ThrottlingBurstLimit: 50, ThrottlingRateLimit: 20 });
  });

  it('routes the activation API without IAM (the token is the proof), throttled per route from activations.throttle', () => {
    const stages = resources(templates, 'AWS::ApiGatewayV2::Stage');
    const routes = resources(templates, 'AWS::ApiGatewayV2::Route').filter((r) => ['POST /activations', 'GET /activation'].includes(props(r).RouteKey as string));
    const limits = { ThrottlingRateLimit: config.activations.throttle.rateLimit, ThrottlingBurstLimit: config.activations.throttle.burstLimit };

    expect(routes.map((r) => [props(r).RouteKey, props(r).AuthorizationType]).sort()).toEqual([
      ['GET /activation', 'NONE'],
      ['POST /activations', 'NONE'],
    ]);
    expect(props(stages[0]).RouteSettings).toEqual({ 'POST /activations': limits, 'GET /activation': limits });
  });

  it('lets the activation API pass only the stage hybrid-node role, only to SSM, and call no other SSM action', () => {
    const role = roleOf(templates, functionOf(templates, 'activations-api'));
    const granted = grants(roleStatements(templates, role));

    expect(granted.filter((g) => g.startsWith('iam:'))).toEqual([
      `iam:PassRole arn:aws:iam::${account}:role/${config.app}-${stage}-hybrid-node if {"StringEquals":{"iam:PassedToService":"ssm.amazonaws.com"}}`,
    ]);
    expect(granted.filter((g) => g.startsWith('ssm:'))).toEqual(['ssm:AddTagsToResource *', 'ssm:CreateActivation *', 'ssm:DeleteActivation *', 'ssm:DescribeActivations *']);
    expect(granted.filter((g) => !/^(iam|ssm|dynamodb|logs):/.test(g))).toEqual([]);
  });

  it('creates the stage hybrid-node role, trusted by this account SSM only, with AmazonSSMManagedInstanceCore only', () => {
    const roles = resources(templates, 'AWS::IAM::Role').filter((r) => props(r).RoleName === `${config.app}-${stage}-hybrid-node`);

    expect(roles).toHaveLength(1);
    const trust = asList((props(roles[0]).AssumeRolePolicyDocument as { Statement: Json }).Statement) as unknown as (Statement & { Principal: Json })[];
    expect(trust).toHaveLength(1);
    expect(trust[0]).toMatchObject({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ssm.amazonaws.com' } });
    const condition = trust[0].Condition as { StringEquals: Record<string, Json>; ArnEquals: Record<string, Json> };
    expect(Object.keys(condition).sort()).toEqual(['ArnEquals', 'StringEquals']);
    expect(condition.StringEquals).toEqual({ 'aws:SourceAccount': account });
    expect(render(condition.ArnEquals['aws:SourceArn'])).toBe(`arn:aws:ssm:${region}:${account}:*`);
    expect(asList(props(roles[0]).ManagedPolicyArns).map(render)).toEqual(['arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore']);
    expect(roleStatements(templates, roles[0])).toEqual([]);
  });

  it('runs every function without X-Ray, whose permissions the manifest does not list', () => {
    for (const fn of resources(templates, 'AWS::Lambda::Function')) {
      expect(props(fn).TracingConfig, fn.id).toBeUndefined();
    }
  });

  it('names the stage to every Node.js function (the metrics\' stage dimension) and turns no tracer on', () => {
    for (const definition of manifest(config).filter((d) => !d.python)) {
      const variables = (props(functionOf(templates, definition.name)).Environment as { Variables: Record<string, Json> }).Variables;
      expect(variables.OPSAUTO_STAGE, definition.name).toBe(stage);
      expect(variables.POWERTOOLS_TRACE_ENABLED, definition.name).toBeUndefined();
    }
  });

  it('alarms when executions fail, the scan is incomplete or notifications fail: Sum >= 1 of its opsauto metric for the stage', () => {
    const alarms = resources(templates, 'AWS::CloudWatch::Alarm');
    for (const expected of METRIC_ALARMS) {
      const found = alarms.filter((a) => props(a).Namespace === 'opsauto' && props(a).MetricName === expected.metric);
      expect(found, expected.id).toHaveLength(1);
      expect(props(found[0]), expected.id).toMatchObject({
        AlarmName: `${config.app}-${stage}-${expected.name}`,
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        Period: expected.period.toSeconds(),
        TreatMissingData: 'notBreaching',
        Dimensions: [
          { Name: 'service', Value: 'opsauto' },
          { Name: 'stage', Value: stage },
        ],
      });
    }
    expect(METRIC_ALARMS.map((a) => [a.metric, a.period.toMinutes()])).toEqual([
      ['ExecutionsFailed', 15],
      ['ScanIncomplete', 60],
      ['NotificationsFailed', 15],
    ]);
  });

  it("makes every alarm of the stage notify the stage's alarm topic, which exists unencrypted by KMS so CloudWatch can publish", () => {
    const topicArn = `arn:aws:sns:${region}:${account}:${config.app}-${stage}-alarms`;
    const alarms = resources(templates, 'AWS::CloudWatch::Alarm');
    // Each function's Errors alarm, the failure queue's and the three metric alarms.
    expect(alarms).toHaveLength(manifest(config).length + 1 + METRIC_ALARMS.length);
    for (const alarm of alarms) expect(asList(props(alarm).AlarmActions).map(render), alarm.id).toEqual([topicArn]);
    const topics = resources(templates, 'AWS::SNS::Topic').filter((t) => props(t).TopicName === `${config.app}-${stage}-alarms`);
    expect(topics).toHaveLength(1);
    expect(props(topics[0]).KmsMasterKeyId).toBeUndefined();
    expect(resources(templates, 'AWS::SNS::Subscription')).toEqual([]);
  });

  it("has a dashboard that graphs every opsauto metric for the stage and shows the state of every alarm, by name", () => {
    const dashboards = resources(templates, 'AWS::CloudWatch::Dashboard');
    expect(dashboards.map((d) => props(d).DashboardName)).toEqual([`${config.app}-${stage}-operations`]);
    const body = JSON.parse(render(props(dashboards[0]).DashboardBody)) as { widgets: { properties: { metrics?: (string | object)[][]; alarms?: string[] } }[] };
    // A graph's metric: [namespace, name, dimension, value, dimension, value, {options}].
    const graphed = body.widgets.flatMap((w) => w.properties.metrics ?? []).map((m) => m.filter((part) => typeof part === 'string').join(' '));
    for (const name of Object.values(METRIC_NAMES)) expect(graphed, name).toContain(`opsauto ${name} service opsauto stage ${stage}`);
    const arnOfAlarm = (name: Json | undefined) => `arn:aws:cloudwatch:${region}:${account}:alarm:${render(name ?? '')}`;
    // The dashboard's own stack's alarms by reference, the other stacks' by name.
    const shown = body.widgets
      .flatMap((w) => w.properties.alarms ?? [])
      .map((arn) => arn.replace(/^\$\{(\w+)\.Arn\}$/, (_, id: string) => arnOfAlarm(templates.Observability.Resources[id]?.Properties?.AlarmName)));
    const alarmArns = resources(templates, 'AWS::CloudWatch::Alarm').map((a) => arnOfAlarm(props(a).AlarmName));
    expect(shown.sort()).toEqual(alarmArns.sort());
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Wiring the stacks refuse
// ---------------------------------------------------------------------------------------------------------------

describe('wake-up wiring', () => {
  const withoutWakeUp = (change: Partial<FunctionDefinition>): FunctionDefinition => ({
    name: 'no-wake-up',
    handler: 'packages/functions/src/handlers/no-wake-up.handler',
    description: 'fixture: asks for wake-up wiring without wakeUp',
    timeoutSeconds: 10,
    memoryMB: 128,
    triggers: [],
    environment: ['TABLE_NAME'],
    permissions: [{ actions: ['dynamodb:PutItem'], resources: [{ kind: 'table' }] }],
    ...change,
  });

  const refused: [string, Partial<FunctionDefinition>, RegExp][] = [
    [
      'iam:PassRole on the wake-up role',
      { permissions: [{ actions: ['iam:PassRole'], resources: [{ kind: 'wake-up-role' }] }] },
      /"wake-up-role" needs wakeUp/,
    ],
    [
      'scheduler actions on wake-up schedules',
      { permissions: [{ actions: ['scheduler:CreateSchedule'], resources: [{ kind: 'wake-up-schedules' }] }] },
      /"wake-up-schedules" needs wakeUp/,
    ],
    ['WAKE_UP_ROLE_ARN in its environment', { environment: ['WAKE_UP_ROLE_ARN'] }, /WAKE_UP_ROLE_ARN needs wakeUp/],
  ];

  it.each(refused)('refuses a function without wakeUp that asks for %s', async (_label, change, message) => {
    const definition = withoutWakeUp(change);
    function Refused({ stack }: StackContext) {
      return buildAutomation(stack, [definition], fixtureWiring);
    }

    await expect(
      synthesise((app) => {
        app.setDefaultFunctionProps(functionDefaults);
        app.stack(Refused);
      }, [Refused]),
    ).rejects.toThrow(message);
  });
});

describe('observability from the config', () => {
  it('with observability.tracing, runs each Node.js function with active tracing, the tracer on and responses not recorded, and subscribes alarmEmails', async () => {
    // Prepare
    const custom = { ...config, observability: { tracing: true, alarmEmails: ['ops@example.com'] } };
    const definitions = manifest(custom).filter((d) => d.name === 'stale-volume-scan');
    function TracedFixture({ stack }: StackContext) {
      const built = buildAutomation(stack, definitions, { ...fixtureWiring, config: custom });
      buildObservability(stack, custom, stage);
      return built;
    }

    // Act
    const templates = await synthesise((app) => {
      app.setDefaultFunctionProps(functionDefaults);
      app.stack(TracedFixture);
    }, [TracedFixture]);

    // Assess
    const fn = functionOf(templates, 'stale-volume-scan');
    expect(props(fn).TracingConfig).toEqual({ Mode: 'Active' });
    expect((props(fn).Environment as { Variables: Record<string, Json> }).Variables).toMatchObject({ OPSAUTO_STAGE: stage, POWERTOOLS_TRACE_ENABLED: 'true', POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false' });
    expect(grants(roleStatements(templates, roleOf(templates, fn))).filter((g) => g.startsWith('xray:'))).toEqual(['xray:PutTelemetryRecords *', 'xray:PutTraceSegments *']);
    expect(resources(templates, 'AWS::SNS::Subscription').map((sub) => [props(sub).Protocol, props(sub).Endpoint])).toEqual([['email', 'ops@example.com']]);
  });
});

describe('activation API wiring from the config', () => {
  it('lets the function pass the config activations.iamRoles besides the stage role, and throttles its routes at the configured limits', async () => {
    // Prepare: a config naming a role of its own and tighter limits.
    const custom = { ...config, activations: { ...config.activations, iamRoles: ['SSMServiceRole'], throttle: { rateLimit: 5, burstLimit: 10 } } };
    const definitions = manifest(custom).filter((d) => d.name === 'activations-api');
    function ActivationsFixture({ stack }: StackContext) {
      return { api: buildApi(stack, definitions, { ...fixtureWiring, config: custom }) };
    }

    // Act
    const templates = await synthesise((app) => {
      app.setDefaultFunctionProps(functionDefaults);
      app.stack(ActivationsFixture);
    }, [ActivationsFixture]);

    // Assess
    const role = roleOf(templates, functionOf(templates, 'activations-api'));
    const condition = ' if {"StringEquals":{"iam:PassedToService":"ssm.amazonaws.com"}}';
    expect(grants(roleStatements(templates, role)).filter((g) => g.startsWith('iam:'))).toEqual([
      `iam:PassRole arn:aws:iam::${account}:role/SSMServiceRole${condition}`,
      `iam:PassRole arn:aws:iam::${account}:role/${config.app}-${stage}-hybrid-node${condition}`,
    ]);
    const limits = { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 };
    expect(props(resources(templates, 'AWS::ApiGatewayV2::Stage')[0]).RouteSettings).toEqual({ 'POST /activations': limits, 'GET /activation': limits });
  });
});

describe('runbook roles', () => {
  it('fails synth naming the role when a runbook role name is longer than IAM allows', async () => {
    // Prepare: a stage whose prefix leaves no room for `-runbook-cli` within 64 characters.
    const longTable = `${'a'.repeat(56)}-state`;
    const worker: FunctionDefinition = {
      name: 'assumer',
      handler: 'packages/functions/src/handlers/assumer.handler',
      description: 'fixture: assumes the runbook roles',
      timeoutSeconds: 10,
      memoryMB: 128,
      triggers: [],
      environment: [],
      permissions: [{ actions: ['sts:AssumeRole'], resources: [{ kind: 'runbook-roles' }] }],
    };
    function TooLong({ stack }: StackContext) {
      return buildAutomation(stack, [worker], { config, stage, tableName: longTable });
    }

    // Act
    const synth = synthesise((app) => {
      app.setDefaultFunctionProps(functionDefaults);
      app.stack(TooLong);
    }, [TooLong]);

    // Assess
    await expect(synth).rejects.toThrow(/runbook role name "a{56}-runbook-cli" is not a valid IAM role name \(at most 64 .*it has 68\)/);
  });
});
