import type { OpsautoConfig, StartPolicy } from '@opsauto/core';

/** The name of the role executions started by hand (CLI, HTTP API) run as: `<app>-<stage>-runbook-cli`. */
export function cliRunbookRoleName(tableName: string): string {
  return `${tableName.replace(/-state$/, '')}-runbook-cli`;
}

/** Who may start what, for the stage whose table is `tableName` (see StartPolicy). */
export function runbookStartPolicy(config: OpsautoConfig, accountId: string, tableName: string, partition = 'aws'): StartPolicy {
  return {
    allowedRunbooks: config.runbooks.allowedRunbooks,
    assumeRoles: config.runbooks.assumeRoles,
    defaultRoleArn: `arn:${partition}:iam::${accountId}:role/${cliRunbookRoleName(tableName)}`,
  };
}

/** Whether the worker may assume `roleArn`: one of the stage's runbook roles, or one the config lists. */
export function mayAssume(policy: StartPolicy, roleArn: string): boolean {
  return roleArn === policy.defaultRoleArn || policy.assumeRoles.includes(roleArn);
}
