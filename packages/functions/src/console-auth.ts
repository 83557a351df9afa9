import { parseIdentity } from '@opsauto/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CONSOLE_OPERATORS_GROUP, consoleName, stagePrefix } from './manifest.js';

/** Who calls the console API, and whether they may act. */
export interface ConsoleCaller {
  stage: string;
  local: boolean;
  canAct: boolean;
  /** The user's name (Cognito `cognito:username`, else `email`; on the local stage OPSAUTO_IDENTITY or `operator`). */
  name: string;
  /** The identity an aws:approve step's Approvers are matched against (an ARN; see consoleIdentity). */
  identity: string;
}

/**
 * The identity a console user decides as at an aws:approve step: an assumed-role ARN of the stage's console role
 * (`<app>-<stage>-console`, a name only: no such IAM role is needed) with the user's name as the session. An Approvers
 * entry `arn:aws:iam::<account>:role/<app>-<stage>-console` (or the bare name `<app>-<stage>-console`) lets every
 * console operator decide; `arn:aws:sts::<account>:assumed-role/<app>-<stage>-console/<user>` only that user.
 *
 * @example
 * consoleIdentity('123456789012', 'opsauto-prod-state', 'alice') // 'arn:aws:sts::123456789012:assumed-role/opsauto-prod-console/alice'
 */
export function consoleIdentity(accountId: string, tableName: string, user: string): string {
  // A session name is at most 64 of [\w+=,.@-]: anything else in a user name becomes `-`.
  const session = user.replace(/[^\w+=,.@-]/g, '-').slice(0, 64) || 'unknown';
  return `arn:aws:sts::${accountId}:assumed-role/${consoleName(tableName)}/${session}`;
}

/** Cognito's `cognito:groups` claim as API Gateway passes it: an array, or a string `[a b]` / `a,b`. */
export function groupsOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === 'string');
  if (typeof claim !== 'string') return [];
  return claim.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter(Boolean);
}

/**
 * The caller of a console API request. On the local stage (OPSAUTO_STAGE=local, served on loopback without an
 * authorizer): an operator named by OPSAUTO_IDENTITY, else `operator`, as the CLI decides there. Elsewhere: the JWT
 * claims the HTTP API's authorizer verified; only members of `operators` may act.
 */
export function consoleCaller(event: APIGatewayProxyEventV2, accountId: string, tableName: string, env: NodeJS.ProcessEnv = process.env): ConsoleCaller {
  const stage = env.OPSAUTO_STAGE ?? stagePrefix(tableName).split('-').at(-1) ?? 'unknown';
  if (env.OPSAUTO_STAGE === 'local') {
    const name = env.OPSAUTO_IDENTITY?.trim() || 'operator';
    return { stage, local: true, canAct: true, name, identity: parseIdentity(name, accountId).arn };
  }
  const claims = (event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } }).authorizer?.jwt?.claims ?? {};
  const user = typeof claims['cognito:username'] === 'string' ? claims['cognito:username'] : typeof claims.email === 'string' ? claims.email : typeof claims.username === 'string' ? claims.username : '';
  const canAct = user !== '' && groupsOf(claims['cognito:groups']).includes(CONSOLE_OPERATORS_GROUP);
  return { stage, local: false, canAct, name: user || 'an unknown caller', identity: consoleIdentity(accountId, tableName, user) };
}
