import { describe, expect, it } from 'vitest';
import { activationRequest, newToken, parseHostname, parseToken, secretMatches, tokenRefusal, type EnrollmentToken } from '@opsauto/core';

const NOW = new Date('2027-01-01T00:00:00.000Z');
const token = (over: Partial<EnrollmentToken> = {}): EnrollmentToken => ({
  id: 'tok_aaaaaaaaaaaaaaaa',
  name: 'rack-7',
  secretHash: '',
  iamRole: 'SSMServiceRole',
  namePrefix: 'rack7-',
  tags: { env: 'onprem' },
  maxUses: 2,
  uses: 0,
  createdAt: '2026-12-31T00:00:00.000Z',
  createdBy: 'cli',
  expiresAt: '2027-01-08T00:00:00.000Z',
  ...over,
});

describe('enrollment tokens', () => {
  it('makes a token whose string parses back to its id and whose secret matches only its own hash', () => {
    // Act
    const a = newToken();
    const b = newToken();
    // Assess
    const parsed = parseToken(a.token);
    expect(parsed?.id).toBe(a.id);
    expect(a.token).toMatch(/^tok_[a-z2-7]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(secretMatches(parsed!.secret, a.secretHash)).toBe(true);
    expect(secretMatches(parsed!.secret, b.secretHash)).toBe(false);
    expect(a.token).not.toContain(a.secretHash);
  });

  it('refuses strings that are not tokens without a store read', () => {
    expect(parseToken('')).toBeUndefined();
    expect(parseToken('tok_aaaaaaaaaaaaaaaa')).toBeUndefined();
    expect(parseToken(`tok_aaaaaaaaaaaaaaaa.${'x'.repeat(42)}`)).toBeUndefined();
    expect(secretMatches('x', 'not-hex')).toBe(false);
  });

  it('says why a token cannot be used: revoked, expired, exhausted, hostname out of its prefix', () => {
    expect(tokenRefusal(token(), 'rack7-db-01', NOW)).toBeUndefined();
    expect(tokenRefusal(token({ revokedAt: '2026-12-31T12:00:00.000Z' }), 'rack7-db-01', NOW)).toBe('revoked');
    expect(tokenRefusal(token({ expiresAt: NOW.toISOString() }), 'rack7-db-01', NOW)).toBe('expired');
    expect(tokenRefusal(token({ uses: 2 }), 'rack7-db-01', NOW)).toBe('exhausted');
    expect(tokenRefusal(token(), 'rack8-db-01', NOW)).toBe('out-of-scope');
  });

  it('accepts DNS hostnames (lowercased) and names the field otherwise', () => {
    expect(parseHostname(' Rack7-DB-01.dc1.example. ')).toBe('rack7-db-01.dc1.example');
    for (const bad of ['', '-rack', 'rack_7', 'a'.repeat(64), 'a..b', 42, undefined]) expect(() => parseHostname(bad)).toThrow(/^hostname: /);
  });

  it('asks CreateActivation for one registration, an expiry from now capped at 30 days, the hostname as name and tags', () => {
    // Act
    const request = activationRequest(token(), 'rack7-db-01', NOW, 3_600_000);
    const long = activationRequest(token(), 'rack7-db-01', NOW, 90 * 86_400_000);
    // Assess
    expect(request).toEqual({
      iamRole: 'SSMServiceRole',
      registrationLimit: 1,
      expirationDate: '2027-01-01T01:00:00.000Z',
      defaultInstanceName: 'rack7-db-01',
      description: 'opsauto: rack7-db-01 via token rack-7 (tok_aaaaaaaaaaaaaaaa)',
      tags: { env: 'onprem', 'opsauto:hostname': 'rack7-db-01', 'opsauto:token': 'rack-7' },
    });
    expect(long.expirationDate).toBe('2027-01-31T00:00:00.000Z');
  });
});

describe('activation requests for long hostnames', () => {
  it('keeps the description within the 256 characters CreateActivation takes', () => {
    const host = `rack7-${Array.from({ length: 4 }, () => 'a'.repeat(60)).join('.')}`.slice(0, 253);
    const request = activationRequest(token(), host, NOW, 3_600_000);
    expect(host).toHaveLength(249);
    expect(request.description).toBe('opsauto: via token rack-7 (tok_aaaaaaaaaaaaaaaa)');
    expect(request.defaultInstanceName).toBe(host);
  });
});
