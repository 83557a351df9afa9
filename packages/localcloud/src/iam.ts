/**
 * Optional IAM enforcement for registered roles. localcloud has no IAM policies of its own: a role registered
 * through the control API (`POST /_localcloud/iam/roles`) may do exactly the IAM actions listed for it, and a
 * call made with keys of that role (issued by STS AssumeRole) to any other action is refused with the service's
 * own access-denied error and recorded (`GET /_localcloud/iam/denials`). Roles not registered, and every other
 * key, may do anything, as the local stage always allowed.
 */
import type { VirtualClock } from './clock.js';
import { AwsError } from './errors.js';
import { dictionary, type Store } from './store.js';

/** A role's allowed actions, as registered. */
export interface RolePermissions {
  roleArn: string;
  /** IAM action names (`ec2:StopInstances`), with `*` and `?` wildcards (`ec2:Describe*`, `*`). */
  actions: string[];
}

/** One refused call. */
export interface Denial {
  roleArn: string;
  /** The caller as GetCallerIdentity names it (`arn:aws:sts::…:assumed-role/ROLE/SESSION`). */
  principal: string;
  action: string;
  /** ISO time on the virtual clock. */
  time: string;
}

/** Denials kept (the newest); older ones are dropped. */
export const MAX_DENIALS = 10_000;
/** Actions one role may list: far above a least-privilege role's, and a bound on matching cost. */
export const MAX_ROLE_ACTIONS = 500;

const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/(?:[\u0021-\u007E]*\/)?[\w+=,.@-]{1,64}$/;
const ACTION = /^(\*|[A-Za-z0-9-]{1,64}:[A-Za-z0-9*?]{1,128})$/;

/** The service prefix of IAM actions, by localcloud service name (the signing name), where they differ or not. */
const PREFIXES: Record<string, string> = { ssm: 'ssm', ec2: 'ec2', events: 'events', scheduler: 'scheduler', dynamodb: 'dynamodb', sts: 'sts', rds: 'rds', s3: 's3', sns: 'sns', cloudformation: 'cloudformation', lambda: 'lambda' };

/** Operations whose IAM action is not `<prefix>:<OperationName>` (AWS's Service Authorization Reference). */
const ACTION_EXCEPTIONS: Record<string, string> = {
  's3:ListBuckets': 's3:ListAllMyBuckets',
  'lambda:Invoke': 'lambda:InvokeFunction',
  's3:HeadBucket': 's3:ListBucket',
  's3:ListObjects': 's3:ListBucket',
  's3:ListObjectsV2': 's3:ListBucket',
  's3:ListObjectVersions': 's3:ListBucketVersions',
  's3:HeadObject': 's3:GetObject',
  's3:GetBucketEncryption': 's3:GetEncryptionConfiguration',
  's3:PutBucketEncryption': 's3:PutEncryptionConfiguration',
  's3:DeleteBucketEncryption': 's3:PutEncryptionConfiguration',
  's3:GetPublicAccessBlock': 's3:GetBucketPublicAccessBlock',
  's3:PutPublicAccessBlock': 's3:PutBucketPublicAccessBlock',
  's3:DeletePublicAccessBlock': 's3:PutBucketPublicAccessBlock',
};

/** Operations every principal may call whatever its policies say (AWS: GetCallerIdentity needs no permission). */
const ALWAYS_ALLOWED = new Set(['sts:GetCallerIdentity']);

/** The IAM action an operation of a localcloud service needs, e.g. `ec2:StopInstances`, `s3:ListBucket`. */
export function iamActionOf(service: string, operation: string): string {
  const prefix = Object.hasOwn(PREFIXES, service) ? PREFIXES[service] : service;
  const action = `${prefix}:${operation}`;
  return Object.hasOwn(ACTION_EXCEPTIONS, action) ? ACTION_EXCEPTIONS[action] : action;
}

/** IAM's action matching: case-insensitive, `*` any run of characters, `?` one character. */
function actionMatcher(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** Checks a control API body `{ "roleArn": …, "actions": [ … ] }`; the error names the field at fault. */
export function parseRolePermissions(body: unknown): RolePermissions {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new IamInputError('the body must be a JSON object {"roleArn": …, "actions": […]}');
  const { roleArn, actions } = body as Record<string, unknown>;
  if (typeof roleArn !== 'string' || !ROLE_ARN.test(roleArn)) throw new IamInputError('roleArn must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)');
  if (!Array.isArray(actions)) throw new IamInputError('actions must be a list of IAM action names (["ec2:DescribeInstances", "ec2:Describe*"])');
  if (actions.length > MAX_ROLE_ACTIONS) throw new IamInputError(`actions must list at most ${MAX_ROLE_ACTIONS} actions`);
  actions.forEach((a, i) => {
    if (typeof a !== 'string' || !ACTION.test(a)) throw new IamInputError(`actions[${i}] must be an IAM action name like ec2:StopInstances (letters, digits, * and ?)`);
  });
  return { roleArn, actions: actions as string[] };
}

/** A control API input that cannot be used; the message names the field. */
export class IamInputError extends Error {
  override name = 'IamInputError';
}

interface IamState {
  roles: Record<string, RolePermissions>;
  denials: Denial[];
}

/**
 * The registered roles and the calls they were refused, kept in the store (so a restart keeps them and a reset
 * empties them), outside any one account and region since a role ARN names its account.
 */
export class IamPolicies {
  private readonly matchers = new Map<string, RegExp[]>();

  constructor(
    private readonly store: Store,
    private readonly clock: VirtualClock,
  ) {}

  private state(): IamState {
    return this.store.scope<IamState>('iam', 'global', 'global', () => ({ roles: dictionary(), denials: [] }));
  }

  /** Registers (or replaces) what a role may do. */
  allow(permissions: RolePermissions): void {
    this.state().roles[permissions.roleArn] = { roleArn: permissions.roleArn, actions: [...permissions.actions] };
    this.matchers.delete(permissions.roleArn);
    this.store.changed();
  }

  /** Forgets a role: its keys may do anything again. Returns false when it was not registered. */
  forget(roleArn: string): boolean {
    const roles = this.state().roles;
    if (!Object.hasOwn(roles, roleArn)) return false;
    delete roles[roleArn];
    this.matchers.delete(roleArn);
    this.store.changed();
    return true;
  }

  roles(): RolePermissions[] {
    return Object.values(this.state().roles);
  }

  denials(): Denial[] {
    return this.state().denials;
  }

  /**
   * Throws the service's access-denied error, and records the denial, when `roleArn` is registered and none of
   * its actions matches the one `service:operation` needs. Callers that are not a registered role pass.
   */
  authorize(roleArn: string | undefined, principal: string, service: string, operation: string, protocol: string): void {
    if (roleArn === undefined) return;
    const roles = this.state().roles;
    if (!Object.hasOwn(roles, roleArn)) return;
    const action = iamActionOf(service, operation);
    if (ALWAYS_ALLOWED.has(action)) return;
    let matchers = this.matchers.get(roleArn);
    if (!matchers) {
      matchers = roles[roleArn].actions.map(actionMatcher);
      this.matchers.set(roleArn, matchers);
    }
    if (matchers.some((m) => m.test(action))) return;
    const denials = this.state().denials;
    denials.push({ roleArn, principal, action, time: this.clock.now().toISOString() });
    if (denials.length > MAX_DENIALS) denials.splice(0, denials.length - MAX_DENIALS);
    this.store.changed();
    throw accessDenied(service, protocol, principal, action);
  }
}

/** The access-denied error each service answers: EC2 UnauthorizedOperation, awsJson AccessDeniedException, SNS AuthorizationError… */
export function accessDenied(service: string, protocol: string, principal: string, action: string): AwsError {
  const why = `User: ${principal} is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`;
  if (service === 'ec2') return new AwsError('UnauthorizedOperation', `You are not authorized to perform this operation. ${why}`, 403);
  if (service === 'sns') return new AwsError('AuthorizationError', why, 403);
  if (service === 'dynamodb' || protocol === 'json') return new AwsError('AccessDeniedException', why, 400);
  if (protocol === 'rest-json') return new AwsError('AccessDeniedException', why, 403);
  return new AwsError('AccessDenied', why, 403);
}

/**
 * The control API of IAM enforcement: `POST /_localcloud/iam/roles` `{ "roleArn", "actions" }` registers a role,
 * `GET` lists them, `DELETE …/roles?roleArn=…` forgets one; `GET /_localcloud/iam/denials` lists refused calls.
 * Answers undefined for a path that is not one of these.
 */
export function iamControl(iam: IamPolicies, method: string, path: string, query: URLSearchParams, body: unknown): { status: number; body: unknown } | undefined {
  if (path === '/_localcloud/iam/roles') {
    if (method === 'POST') {
      try {
        const permissions = parseRolePermissions(body);
        iam.allow(permissions);
        return { status: 200, body: permissions };
      } catch (e) {
        if (e instanceof IamInputError) return { status: 400, body: { error: e.message } };
        throw e;
      }
    }
    if (method === 'DELETE') {
      const roleArn = query.get('roleArn');
      if (!roleArn) return { status: 400, body: { error: 'DELETE /_localcloud/iam/roles takes ?roleArn=arn:aws:iam::…:role/NAME' } };
      return iam.forget(roleArn) ? { status: 200, body: { forgotten: roleArn } } : { status: 404, body: { error: `no registered role ${excerptArn(roleArn)}` } };
    }
    return { status: 200, body: { roles: iam.roles() } };
  }
  if (path === '/_localcloud/iam/denials') return { status: 200, body: { denials: iam.denials() } };
  return undefined;
}

const excerptArn = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text).replace(/[^\x20-\x7e]/g, '?');
