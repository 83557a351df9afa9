import { describe, expect, it } from 'vitest';
import { enrollmentToken, parseToken, secretMatches, tokenLifetimeMs, ValidationError, type TokenDefaults, type TokenOptions } from '@opsauto/core';

const NOW = new Date('2027-01-01T00:00:00.000Z');
const DEFAULTS: TokenDefaults = { defaultRole: 'opsauto-local-hybrid-node', allowedRoles: ['SSMServiceRole'], maxUses: 10, expiresIn: '7d' };

/** The ValidationError `options` are refused with (its field and message). */
function refusal(options: Partial<TokenOptions>): { field?: string; message: string } {
  try {
    enrollmentToken({ name: 'rack-7', ...options }, DEFAULTS, NOW, 'cli');
  } catch (e) {
    if (e instanceof ValidationError) return { field: e.field, message: e.message };
    throw e;
  }
  throw new Error('not refused');
}

describe('enrollmentToken', () => {
  it('makes a token with the stage defaults: its own role, max uses and lifetime, no prefix, no tags, no uses', () => {
    // Act
    const { token, record } = enrollmentToken({ name: ' rack-7 ' }, DEFAULTS, NOW, 'cli');
    // Assess
    const parsed = parseToken(token);
    expect(parsed?.id).toBe(record.id);
    expect(secretMatches(parsed!.secret, record.secretHash)).toBe(true);
    expect(record).toEqual({
      id: record.id,
      name: 'rack-7',
      secretHash: record.secretHash,
      iamRole: 'opsauto-local-hybrid-node',
      tags: {},
      maxUses: 10,
      uses: 0,
      createdAt: '2027-01-01T00:00:00.000Z',
      createdBy: 'cli',
      expiresAt: '2027-01-08T00:00:00.000Z',
    });
    expect(JSON.stringify(record)).not.toContain(parsed!.secret);
  });

  it('takes an allowed role, max uses, a lifetime in hours, a lowercased prefix and tags', () => {
    const { record } = enrollmentToken(
      { name: 'rack-7', role: 'SSMServiceRole', maxUses: '50', expiresIn: '12h', namePrefix: 'Rack7-', tags: ['env=onprem', 'Patch Group=qa', 'empty='] },
      DEFAULTS,
      NOW,
      'arn:aws:iam::123456789012:user/alice',
    );
    expect(record).toMatchObject({
      iamRole: 'SSMServiceRole',
      maxUses: 50,
      expiresAt: '2027-01-01T12:00:00.000Z',
      namePrefix: 'rack7-',
      tags: { env: 'onprem', 'Patch Group': 'qa', empty: '' },
      createdBy: 'arn:aws:iam::123456789012:user/alice',
    });
  });

  it('refuses a role that is neither the stage role nor configured, naming the field', () => {
    expect(refusal({ role: 'AdminRole' })).toEqual({
      field: 'role',
      message: "role: AdminRole is not the stage's hybrid-node role (opsauto-local-hybrid-node) nor in config activations.iamRoles (SSMServiceRole): the issuer may pass only those to SSM",
    });
    expect(refusal({ role: 'arn:aws:iam::123456789012:role/x' }).field).toBe('role');
  });

  it.each([
    [{ name: '' }, 'name'],
    [{ name: 'x'.repeat(65) }, 'name'],
    [{ name: 'rack;7' }, 'name'],
    [{ maxUses: 0 }, 'maxUses'],
    [{ maxUses: '100001' }, 'maxUses'],
    [{ maxUses: '1.5' }, 'maxUses'],
    [{ maxUses: 'ten' }, 'maxUses'],
    [{ expiresIn: '7' }, 'expiresIn'],
    [{ expiresIn: '0h' }, 'expiresIn'],
    [{ expiresIn: '2w' }, 'expiresIn'],
    [{ expiresIn: '366d' }, 'expiresIn'],
    [{ namePrefix: '-rack' }, 'namePrefix'],
    [{ namePrefix: 'rack_7' }, 'namePrefix'],
    [{ tags: ['env'] }, 'tag'],
    [{ tags: ['=x'] }, 'tag'],
    [{ tags: ['aws:x=1'] }, 'tag'],
    [{ tags: ['k=a;b'] }, 'tag'],
    [{ tags: [`k=${'v'.repeat(257)}`] }, 'tag'],
    [{ tags: [`${'k'.repeat(129)}=v`] }, 'tag'],
    [{ tags: ['opsauto:hostname=x'] }, 'tag'],
    [{ tags: ['a=1', 'a=2'] }, 'tag'],
    [{ tags: Array.from({ length: 49 }, (_, i) => `k${i}=v`) }, 'tag'],
  ] as [Partial<TokenOptions>, string][])('refuses %j naming %s', (options, field) => {
    expect(refusal(options).field).toBe(field);
  });

  it('accepts the bounds: 1 and 100000 uses, 1h and 365d, 48 tags, a 64-character name', () => {
    expect(() => enrollmentToken({ name: 'x'.repeat(64), maxUses: 1, expiresIn: '1h', tags: Array.from({ length: 48 }, (_, i) => `k${i}=v`) }, DEFAULTS, NOW, 'cli')).not.toThrow();
    expect(enrollmentToken({ name: 'r', maxUses: '100000', expiresIn: '365d' }, DEFAULTS, NOW, 'cli').record).toMatchObject({ maxUses: 100000, expiresAt: '2028-01-01T00:00:00.000Z' });
  });

  it('reads token lifetimes in days and hours', () => {
    expect(tokenLifetimeMs('7d')).toBe(7 * 86_400_000);
    expect(tokenLifetimeMs(' 36h ')).toBe(36 * 3_600_000);
    expect(() => tokenLifetimeMs('', 'x')).toThrow('x: "" is not a span');
  });
});
