import type { OpsautoConfig } from '@opsauto/core';
import { automationActions, checkAutomations, knownRunbooks, runbookAutomations, runbookRoleName } from '@opsauto/functions';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/*
 * One IAM role per runbook automation, with exactly the actions its runbooks' steps can call (derived from the
 * documents at synth time), scoped to the configured regions and the stack's account wherever IAM allows it.
 */

/** Where a scoped action's resources are: the deployment's partition, account and the configured regions. */
interface ScopeContext {
  partition: string;
  account: string;
  regions: string[];
}

/** A statement's worth: resources and, for S3 (whose ARNs name no account), the account the bucket must belong to. */
interface Scope {
  resources: string[];
  condition?: Record<string, Record<string, string>>;
}

/**
 * EC2 resource types each mutating action is authorised on (Service Authorization Reference, "Actions defined by
 * Amazon EC2"). Images and snapshots have no account in their ARN.
 */
const EC2_RESOURCE_TYPES: Readonly<Record<string, readonly string[]>> = {
  startinstances: ['instance'],
  stopinstances: ['instance'],
  terminateinstances: ['instance'],
  rebootinstances: ['instance'],
  modifyinstanceattribute: ['instance'],
  createimage: ['instance', 'image', 'snapshot'],
  deregisterimage: ['image'],
  createsnapshot: ['volume', 'snapshot'],
  deletesnapshot: ['snapshot'],
  deletevolume: ['volume'],
  // Tags may go on any EC2 resource the runbooks create or change.
  createtags: ['*'],
};
const EC2_ACCOUNTLESS = new Set(['image', 'snapshot']);

/**
 * RDS resource types, by action (Service Authorization Reference, "Actions defined by Amazon RDS"): DB instance
 * actions on `db`, Aurora cluster actions on `cluster`.
 */
const RDS_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  describedbinstances: 'db',
  startdbinstance: 'db',
  stopdbinstance: 'db',
  rebootdbinstance: 'db',
  modifydbinstance: 'db',
  describedbclusters: 'cluster',
  startdbcluster: 'cluster',
  stopdbcluster: 'cluster',
};

/** S3 actions on objects (`bucket/key`); the others act on buckets. */
const S3_OBJECT_ACTIONS = new Set(['getobject', 'putobject', 'deleteobject']);

/** SSM resources aws:createTags tags through AddTagsToResource: managed instances, maintenance windows, parameters. */
const SSM_RESOURCE_TYPES: Readonly<Record<string, readonly string[]>> = {
  addtagstoresource: ['managed-instance/*', 'maintenancewindow/*', 'parameter/*'],
};

/**
 * The resources an action is granted on. `*` only for EC2 Describe* calls, which support no resource-level
 * permissions; an action this table does not know fails synth rather than being granted on `*`.
 */
export function actionScope(action: string, context: ScopeContext): Scope {
  const [service, name = ''] = action.split(':') as [string, string?];
  const api = name.toLowerCase();
  const { partition, account, regions } = context;
  const unknown = () => new Error(`runbook role: no resource scope is known for ${action}; add it to stacks/runbook-roles.ts rather than granting it on *`);
  switch (service) {
    case 'ec2': {
      if (api.startsWith('describe')) return { resources: ['*'] };
      const types = EC2_RESOURCE_TYPES[api];
      if (!types) throw unknown();
      return {
        resources: regions.flatMap((region) =>
          types.flatMap((type) =>
            type === '*'
              ? [`arn:${partition}:ec2:${region}:${account}:*/*`, ...[...EC2_ACCOUNTLESS].map((t) => `arn:${partition}:ec2:${region}::${t}/*`)]
              : [`arn:${partition}:ec2:${region}:${EC2_ACCOUNTLESS.has(type) ? '' : account}:${type}/*`],
          ),
        ),
      };
    }
    case 'rds': {
      const type = RDS_RESOURCE_TYPES[api];
      if (!type) throw unknown();
      return { resources: regions.map((region) => `arn:${partition}:rds:${region}:${account}:${type}:*`) };
    }
    case 's3':
      // Bucket ARNs name neither region nor account: the account is held by a condition instead.
      return {
        resources: [S3_OBJECT_ACTIONS.has(api) ? `arn:${partition}:s3:::*/*` : `arn:${partition}:s3:::*`],
        condition: { StringEquals: { 'aws:ResourceAccount': account } },
      };
    case 'ssm': {
      // Run Command (Service Authorization Reference, "Actions defined by AWS Systems Manager"): SendCommand is
      // authorised on the document (AWS's own have no account in their ARN) and on each node it runs on; reading
      // commands and their invocations, and nodes' patch states, supports no resource-level permissions.
      if (api === 'sendcommand') {
        return {
          resources: regions.flatMap((region) => [
            `arn:${partition}:ssm:${region}::document/*`,
            `arn:${partition}:ssm:${region}:${account}:document/*`,
            `arn:${partition}:ec2:${region}:${account}:instance/*`,
            `arn:${partition}:ssm:${region}:${account}:managed-instance/*`,
          ]),
        };
      }
      if (api === 'listcommands' || api === 'listcommandinvocations' || api === 'describeinstancepatchstates') return { resources: ['*'] };
      const types = SSM_RESOURCE_TYPES[api];
      if (!types) throw unknown();
      return { resources: regions.flatMap((region) => types.map((type) => `arn:${partition}:ssm:${region}:${account}:${type}`)) };
    }
    case 'sns':
      return { resources: regions.map((region) => `arn:${partition}:sns:${region}:${account}:*`) };
    case 'lambda':
      // aws:invokeLambdaFunction: the account's functions in the configured regions (a name may be interpolated).
      if (api !== 'invokefunction') throw unknown();
      return { resources: regions.flatMap((region) => [`arn:${partition}:lambda:${region}:${account}:function:*`]) };
    default:
      throw unknown();
  }
}

/** The statements granting `actions`, one per distinct scope (actions with the same resources share one). */
export function scopedStatements(actions: string[], context: ScopeContext): iam.PolicyStatement[] {
  const groups = new Map<string, { scope: Scope; actions: string[] }>();
  for (const action of actions) {
    const scope = actionScope(action, context);
    const key = JSON.stringify(scope);
    const group = groups.get(key) ?? { scope, actions: [] };
    group.actions.push(action);
    groups.set(key, group);
  }
  return [...groups.values()].map(
    ({ scope, actions: grouped }) =>
      new iam.PolicyStatement({ actions: grouped, resources: scope.resources, ...(scope.condition ? { conditions: scope.condition } : {}) }),
  );
}

/**
 * One role per runbook automation, named `runbookRoleName`, assumable only by `trustedBy` (the worker's role) and
 * granted exactly the derived actions of its runbooks.
 *
 * @throws Error when a role name is too long for IAM, a runbook is unknown, or a runbook's actions cannot be derived.
 */
export function buildRunbookRoles(scope: Construct, config: OpsautoConfig, tableName: string, trustedBy: iam.IRole[], root: string): Record<string, iam.Role> {
  if (trustedBy.length === 0) throw new Error('runbook roles need at least one role to trust (the runbook worker\'s)');
  const stack = Stack.of(scope);
  const known = knownRunbooks(root);
  checkAutomations(config, known);
  const roles: Record<string, iam.Role> = {};
  for (const automation of runbookAutomations(config)) {
    const roleName = runbookRoleName(tableName, automation.name);
    const actions = automationActions(automation, known);
    const context = { partition: stack.partition, account: stack.account, regions: config.regions };
    roles[automation.name] = new iam.Role(scope, `RunbookRole${automation.name.replace(/(^|[^a-zA-Z0-9]+)([a-zA-Z0-9])/g, (_m, _s, c: string) => c.toUpperCase())}`, {
      roleName,
      description: `Runbook steps of automation ${automation.name} (${automation.runbooks.join(', ')})`.slice(0, 1000),
      assumedBy: new iam.CompositePrincipal(...trustedBy.map((role) => new iam.ArnPrincipal(role.roleArn))),
      inlinePolicies: { steps: new iam.PolicyDocument({ statements: scopedStatements(actions, context) }) },
    });
  }
  return roles;
}
