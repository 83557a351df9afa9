import { automationRunbooks, type Automation, type OpsautoConfig, type StartPolicy } from '@opsauto/core';
import { runbookAutomations, runbookRoleName } from './manifest.js';

/** A start policy, and every role an execution of the stage may run as (what the worker may assume). */
export type StagePolicy = StartPolicy & { runbookRoles: readonly string[] };

/** Every role the stage's executions may run as: the derived runbook roles and the automations' own. */
function stageRoles(config: OpsautoConfig, accountId: string, tableName: string, partition: string): string[] {
  const derived = runbookAutomations(config).map((a) => `arn:${partition}:iam::${accountId}:role/${runbookRoleName(tableName, a.name)}`);
  return [...derived, ...config.automations.flatMap((a) => (a.role ? [a.role] : []))];
}

/** Who may start what by hand (CLI, HTTP API, opsauto's bus), for the stage whose table is `tableName` (see StartPolicy). */
export function runbookStartPolicy(config: OpsautoConfig, accountId: string, tableName: string, partition = 'aws'): StagePolicy {
  return {
    allowedRunbooks: config.runbooks.allowedRunbooks,
    assumeRoles: config.runbooks.assumeRoles,
    defaultRoleArn: `arn:${partition}:iam::${accountId}:role/${runbookRoleName(tableName, 'cli')}`,
    runbookRoles: stageRoles(config, accountId, tableName, partition),
  };
}

/** What an automation may start: its own runbook, as its own role (the one it names, or the one derived for it). */
export function automationStartPolicy(config: OpsautoConfig, automation: Automation, accountId: string, tableName: string, partition = 'aws'): StagePolicy {
  return {
    allowedRunbooks: automationRunbooks(automation),
    assumeRoles: config.runbooks.assumeRoles,
    defaultRoleArn: automation.role ?? `arn:${partition}:iam::${accountId}:role/${runbookRoleName(tableName, automation.name)}`,
    runbookRoles: stageRoles(config, accountId, tableName, partition),
  };
}

/** Whether the worker may assume `roleArn`: one of the stage's runbook roles, or one the config lists. */
export function mayAssume(policy: StagePolicy, roleArn: string): boolean {
  return policy.runbookRoles.includes(roleArn) || policy.assumeRoles.includes(roleArn);
}
