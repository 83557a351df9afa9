/**
 * AWS STS (query protocol): GetCallerIdentity and AssumeRole. The credentials AssumeRole issues are kept in the
 * persisted state, so that requests signed with them act in the role's account (see `callerFor`), also after a
 * restart. Any other access key acts in the default account, as the local stage promises ("any credentials").
 */
import { createHash, randomBytes } from 'node:crypto';
import { AwsError } from '../errors.js';
import type { Store } from '../store.js';
import type { VirtualClock } from '../clock.js';
import { optionalString, type QueryTree } from '../protocols/query.js';
import type { RequestContext, ServiceDefinition } from './types.js';

/**
 * Who signed a request: the account it acts in, the identity GetCallerIdentity reports, and, for keys issued by
 * AssumeRole, the role they act as (absent for any other key, which acts as the account's root, "any credentials").
 */
export interface Caller {
  accessKeyId: string;
  account: string;
  arn: string;
  userId: string;
  /** `arn:aws:iam::ACCOUNT:role/PATH/NAME` of an assumed role's keys. */
  roleArn?: string;
}

const callerOf = (ctx: RequestContext): Caller => ctx.caller;

interface Session {
  account: string;
  roleName: string;
  /** The role ARN as assumed (with its path); absent in sessions persisted before it was kept. */
  roleArn?: string;
  roleId: string;
  sessionName: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch ms on the virtual clock. */
  expiresAt: number;
}

interface StsState {
  sessions: Record<string, Session>;
}

// Credentials are valid in every account and region, so they are kept once, outside the per-account state.
const GLOBAL = 'global';
const stsState = (store: Store) => store.scope<StsState>('sts', GLOBAL, GLOBAL, () => ({ sessions: {} }));

const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\u0021-\u007E]*\/)?([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const ROLE_CHAINING_MAX_SECONDS = 3600;

/** AWS-shaped ids: a 4-letter prefix (`ASIA`, `AROA`) and 16 upper-case letters and digits. */
function awsId(prefix: string, seed?: string): string {
  const bytes = seed === undefined ? randomBytes(16) : createHash('sha256').update(seed).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return prefix + [...bytes.subarray(0, 16)].map((b) => alphabet[b % 32]).join('');
}

/** The caller of a request signed with `accessKeyId` (and `sessionToken`, for temporary credentials). */
export function callerFor(store: Store, clock: VirtualClock, defaultAccount: string, accessKeyId: string, sessionToken: string | undefined): Caller {
  const sessions = stsState(store).sessions;
  const session = Object.hasOwn(sessions, accessKeyId) ? sessions[accessKeyId] : undefined;
  if (!session) return { accessKeyId, account: defaultAccount, arn: `arn:aws:iam::${defaultAccount}:root`, userId: defaultAccount };
  if (sessionToken !== session.sessionToken) {
    throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
  }
  if (clock.nowMs() >= session.expiresAt) throw new AwsError('ExpiredToken', 'The security token included in the request is expired', 403);
  return {
    accessKeyId,
    account: session.account,
    arn: `arn:aws:sts::${session.account}:assumed-role/${session.roleName}/${session.sessionName}`,
    userId: `${session.roleId}:${session.sessionName}`,
    roleArn: session.roleArn ?? `arn:aws:iam::${session.account}:role/${session.roleName}`,
  };
}

const fieldError = (value: string, field: string, constraint: string) =>
  new AwsError('ValidationError', `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`);

/** Creates and keeps an AssumeRole session of `roleArn` (valid ARN), whose keys act as the role until they expire. */
function newSession(store: Store, clock: VirtualClock, roleArn: string, sessionName: string, durationSeconds: number): { accessKeyId: string; session: Session } {
  const [, account, roleName] = ROLE_ARN.exec(roleArn) as unknown as [string, string, string];
  const accessKeyId = awsId('ASIA');
  const session: Session = {
    account,
    roleName,
    roleArn,
    roleId: awsId('AROA', `${account}/${roleName}`),
    sessionName,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(96).toString('base64')}`,
    expiresAt: clock.nowMs() + durationSeconds * 1000,
  };
  // Sessions are kept after they expire, so that their keys keep answering ExpiredToken rather than acting in
  // the default account.
  stsState(store).sessions[accessKeyId] = session;
  return { accessKeyId, session };
}

/**
 * Credentials of `roleArn` as Lambda gives a function its execution role's: an STS session made by localcloud
 * itself (no caller, no AssumeRole call counted), so that IAM enforcement of a registered role applies to them.
 *
 * @throws Error when roleArn is not an IAM role ARN.
 */
export function issueRoleCredentials(store: Store, clock: VirtualClock, roleArn: string, sessionName: string, durationSeconds = 3600) {
  if (!ROLE_ARN.test(roleArn) || !SESSION_NAME.test(sessionName)) throw new Error(`cannot issue credentials for ${roleArn} (session ${sessionName}): not an IAM role ARN or session name`);
  const { accessKeyId, session } = newSession(store, clock, roleArn, sessionName, durationSeconds);
  return { accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken, expiresAt: session.expiresAt };
}

function assumeRole(input: QueryTree, ctx: RequestContext) {
  const caller = callerOf(ctx);
  // A parameter sent with nested keys (`RoleArn.x=…`) is not the string AssumeRole takes: it counts as absent.
  const [RoleArn, RoleSessionName, DurationSeconds] = (['RoleArn', 'RoleSessionName', 'DurationSeconds'] as const).map((name) => optionalString(input, name));
  if (RoleArn === undefined) throw fieldError('null', 'roleArn', 'Member must not be null');
  if (RoleSessionName === undefined) throw fieldError('null', 'roleSessionName', 'Member must not be null');
  if (RoleArn.length < 20 || RoleArn.length > 2048) throw fieldError(RoleArn, 'roleArn', 'Member must have length greater than or equal to 20');
  const role = ROLE_ARN.exec(RoleArn);
  if (!role) throw new AwsError('ValidationError', `${RoleArn} is invalid`);
  if (!SESSION_NAME.test(RoleSessionName)) {
    throw fieldError(RoleSessionName, 'roleSessionName', 'Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64');
  }
  const duration = DurationSeconds === undefined ? 3600 : Number(DurationSeconds);
  if (!Number.isInteger(duration) || duration < 900) throw fieldError(String(DurationSeconds), 'durationSeconds', 'Member must have value greater than or equal to 900');
  if (duration > 43200) throw fieldError(String(DurationSeconds), 'durationSeconds', 'Member must have value less than or equal to 43200');
  const state = stsState(ctx.store);
  // A caller that is itself an assumed role is role chaining.
  if (Object.hasOwn(state.sessions, caller.accessKeyId) && duration > ROLE_CHAINING_MAX_SECONDS) {
    throw new AwsError('ValidationError', `The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.`);
  }
  // localcloud has no IAM: every role exists and trusts every caller. Its MaxSessionDuration is taken as 12 h.
  const { accessKeyId, session } = newSession(ctx.store, ctx.clock, RoleArn, RoleSessionName, duration);
  const { account, roleName } = session;
  return {
    Credentials: {
      AccessKeyId: accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: new Date(session.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    AssumedRoleUser: {
      AssumedRoleId: `${session.roleId}:${session.sessionName}`,
      Arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${session.sessionName}`,
    },
  };
}

export const sts: ServiceDefinition = {
  name: 'sts',
  protocol: 'query',
  xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
  operations: {
    GetCallerIdentity: (_input, ctx) => {
      const caller = callerOf(ctx);
      return { UserId: caller.userId, Account: caller.account, Arn: caller.arn };
    },
    AssumeRole: assumeRole,
  },
};
