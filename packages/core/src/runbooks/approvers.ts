/**
 * Who may decide at an aws:approve step. AWS lists the forms an `Approvers` entry may take: an IAM user name, a user
 * ARN, an IAM role ARN, or an assumed-role ARN; the decider is the caller's identity as STS GetCallerIdentity names
 * it (a user ARN, or `arn:aws:sts::<account>:assumed-role/<role>/<session>` for a role).
 *
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-action-approve.html
 */

/** A caller identity, read from its ARN. */
export interface CallerIdentity {
  arn: string;
  accountId?: string;
  kind: 'user' | 'role' | 'other';
  /** The user's or role's name (without its path). */
  name?: string;
}

const IAM_ARN = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(user|role|assumed-role)\/(.+)$/;

/**
 * Reads an identity ARN (or a bare IAM user name, taken as a user of `accountId`).
 *
 * @example
 * parseIdentity('arn:aws:sts::123456789012:assumed-role/Ops/alice'); // { kind: 'role', name: 'Ops', accountId: '123456789012', … }
 */
export function parseIdentity(identity: string, accountId?: string): CallerIdentity {
  const m = IAM_ARN.exec(identity.trim());
  if (!m) {
    if (/^[\w+=,.@-]+$/.test(identity.trim()) && accountId) return parseIdentity(`arn:aws:iam::${accountId}:user/${identity.trim()}`);
    return { arn: identity.trim(), kind: 'other' };
  }
  const [, , service, account, type, rest = ''] = m;
  if (type === 'assumed-role') return { arn: identity.trim(), accountId: account, kind: 'role', name: rest.split('/')[0] };
  if (service !== 'iam') return { arn: identity.trim(), kind: 'other' };
  // A user or role ARN may carry a path (`user/division/alice`): the name is its last part.
  return { arn: identity.trim(), accountId: account, kind: type === 'user' ? 'user' : 'role', name: rest.split('/').at(-1) };
}

/**
 * Whether `identity` is the principal an `Approvers` entry names. A bare name matches a user or a role of that name
 * in the execution's account; a user or role ARN matches that user or role (an assumed-role session of the role
 * included; paths are ignored, as assumed-role ARNs carry none); an assumed-role ARN matches that session only.
 *
 * @example
 * approverMatches('arn:aws:sts::123456789012:assumed-role/Ops/alice', 'arn:aws:iam::123456789012:role/Ops'); // true
 * approverMatches('arn:aws:iam::123456789012:user/bob', 'alice'); // false
 */
export function approverMatches(identity: string, approver: string, accountId?: string): boolean {
  const who = parseIdentity(identity, accountId);
  const entry = approver.trim();
  if (who.arn === entry) return true;
  if (who.kind === 'other' || !who.name) return false;
  const listed = IAM_ARN.exec(entry);
  if (!listed) return entry === who.name && (accountId === undefined || who.accountId === accountId);
  const [, , service, account, type, rest = ''] = listed;
  if (account !== who.accountId) return false;
  if (type === 'assumed-role') return false; // only that exact session, compared above
  if (service !== 'iam') return false;
  const name = rest.split('/').at(-1);
  return (type === 'user' ? 'user' : 'role') === who.kind && name === who.name;
}

/** Whether `identity` is one of the step's approvers. */
export function isApprover(identity: string, approvers: readonly unknown[], accountId?: string): boolean {
  return approvers.some((a) => typeof a === 'string' && approverMatches(identity, a, accountId));
}

/** The sentence that refuses a decision from someone who is not one of a step's approvers. */
export function notAnApproverMessage(identity: string, stepName: string, approvers: readonly string[], executionId: string): string {
  return `${identity} is not an approver of step ${stepName} of execution ${executionId}: only ${approvers.join(', ')} may approve or deny it`;
}
