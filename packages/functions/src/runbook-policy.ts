import type { OpsautoConfig, StartPolicy } from '@opsauto/core';
import { runbookRoleName } from './manifest.js';

/** Who may start what, for the stage whose table is `tableName` (see StartPolicy). */
export function runbookStartPolicy(config: OpsautoConfig, accountId: string, tableName: string, partition = 'aws'): StartPolicy {
  return {
    allowedRunbooks: config.runbooks.allowedRunbooks,
    assumeRoles: config.runbooks.assumeRoles,
    defaultRoleArn: `arn:${partition}:iam::${accountId}:role/${runbookRoleName(tableName, 'cli')}`,
  };
}

/** Whether the worker may assume `roleArn`: one of the stage's runbook roles, or one the config lists. */
export function mayAssume(policy: StartPolicy, roleArn: string): boolean {
  return roleArn === policy.defaultRoleArn || policy.assumeRoles.includes(roleArn);
}
