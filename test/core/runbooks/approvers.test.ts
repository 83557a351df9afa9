import { describe, expect, it } from 'vitest';
import { approverMatches, isApprover, parseIdentity } from '@opsauto/core';

const ACCOUNT = '111122223333';

describe('approverMatches: the principal forms AWS lists for Approvers', () => {
  it('matches a user by name, by ARN, and by ARN with a path', () => {
    const alice = `arn:aws:iam::${ACCOUNT}:user/alice`;
    expect(approverMatches(alice, 'alice', ACCOUNT)).toBe(true);
    expect(approverMatches(alice, alice, ACCOUNT)).toBe(true);
    expect(approverMatches(`arn:aws:iam::${ACCOUNT}:user/ops/alice`, alice, ACCOUNT)).toBe(true);
    expect(approverMatches(alice, 'bob', ACCOUNT)).toBe(false);
    expect(approverMatches(alice, `arn:aws:iam::${ACCOUNT}:role/alice`, ACCOUNT)).toBe(false);
  });

  it('matches an assumed-role session to its role by name or ARN, in its own account only', () => {
    const session = `arn:aws:sts::${ACCOUNT}:assumed-role/Ops/alice`;
    expect(approverMatches(session, 'Ops', ACCOUNT)).toBe(true);
    expect(approverMatches(session, `arn:aws:iam::${ACCOUNT}:role/Ops`, ACCOUNT)).toBe(true);
    expect(approverMatches(session, `arn:aws:iam::${ACCOUNT}:role/teams/Ops`, ACCOUNT)).toBe(true);
    expect(approverMatches(session, session, ACCOUNT)).toBe(true);
    expect(approverMatches(session, `arn:aws:sts::${ACCOUNT}:assumed-role/Ops/bob`, ACCOUNT)).toBe(false);
    expect(approverMatches(session, 'arn:aws:iam::999999999999:role/Ops', ACCOUNT)).toBe(false);
    expect(approverMatches('arn:aws:sts::999999999999:assumed-role/Ops/x', 'Ops', ACCOUNT)).toBe(false);
  });

  it('reads a bare name given as an identity as a user of the account, and nothing else as a principal', () => {
    expect(parseIdentity('alice', ACCOUNT)).toEqual({ arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT, kind: 'user', name: 'alice' });
    expect(isApprover('alice', ['alice'], ACCOUNT)).toBe(true);
    expect(isApprover(`arn:aws:iam::${ACCOUNT}:root`, ['root'], ACCOUNT)).toBe(false);
    expect(isApprover('someone else', ['alice', 'Ops'], ACCOUNT)).toBe(false);
  });
});
