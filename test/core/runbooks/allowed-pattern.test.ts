import { describe, expect, it } from 'vitest';
import { AllowedPatternError, compileAllowedPattern } from '@opsauto/core/runbooks/allowed-pattern.js';

function refusal(pattern: string): string {
  try {
    compileAllowedPattern(pattern);
  } catch (error) {
    expect(error).toBeInstanceOf(AllowedPatternError);
    return (error as Error).message;
  }
  throw new Error(`${pattern} compiled`);
}

/**
 * allowedPatterns of AWS-authored runbooks, verbatim, each with values it must accept and refuse. Sources:
 * aws-solutions/automated-security-response-on-aws source/remediation_runbooks (ASR) and the AWS-owned documents
 * served by localcloud (packages/localcloud/aws-documents).
 */
const AWS_PATTERNS: { from: string; pattern: string; accepts: string[]; refuses: string[] }[] = [
  {
    from: 'ASR EncryptRDSSnapshot.yaml SourceDBSnapshotIdentifier (lookahead)',
    pattern: '^(?:rds:)?(?!.*--.*)(?!.*-$)[a-zA-Z][a-zA-Z0-9-]{0,254}$',
    accepts: ['rds:db1-2026-01-01', 'mysnap', 'a-b-c'],
    refuses: ['a--b', 'ends-', '1starts-with-digit', 'rds:', `a${'b'.repeat(255)}`],
  },
  {
    from: 'ASR EncryptRDSSnapshot.yaml TargetDBSnapshotIdentifier',
    pattern: '^(?!.*--.*)(?!.*-$)[a-zA-Z][a-zA-Z0-9-]{0,254}$',
    accepts: ['encrypted-copy'],
    refuses: ['encrypted--copy', 'copy-'],
  },
  {
    from: 'ASR EncryptRDSSnapshot.yaml KmsKeyId (scoped (?i:…))',
    pattern:
      '^(?:arn:(?:aws|aws-us-gov|aws-cn):kms:(?:[a-z]{2}(?:-gov)?-[a-z]+-\\d):\\d{12}:)?(?:(?:alias/[A-Za-z0-9/_-]+)|(?:key/(?i:[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})))$',
    accepts: [
      'alias/aws/rds',
      'key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'key/1234ABCD-12AB-34CD-56EF-1234567890AB',
      'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ],
    refuses: ['KEY/1234abcd-12ab-34cd-56ef-1234567890ab', 'key/xyz', 'arn:aws:kms:us-east-1:1234:alias/x'],
  },
  {
    from: 'ASR (many) AutomationAssumeRole',
    pattern: '^arn:(?:aws|aws-us-gov|aws-cn):iam::\\d{12}:role/[\\w+=,.@-]+$',
    accepts: ['arn:aws:iam::123456789012:role/Automation-Role_1'],
    refuses: ['arn:aws:iam::123456789012:user/bob', 'arn:aws:iam::12345:role/x', 'arn:aws:iam::123456789012:role/a b'],
  },
  {
    from: 'ASR MakeEBSSnapshotsPrivate.yaml AutomationAssumeRole',
    pattern: '^arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/[\\w+=,.@/-]+$',
    accepts: ['arn:aws-us-gov:iam::123456789012:role/path/Role'],
    refuses: ['arn:gcp:iam::123456789012:role/Role'],
  },
  {
    from: 'ASR EnableCopyTagsToSnapshotOnRDSDBInstance.yaml AutomationAssumeRole (`\\w-\\/` in a class)',
    pattern: '^arn:aws[a-z0-9-]*:iam::\\d{12}:role\\/[\\w-\\/.@+=,]{1,1017}$',
    accepts: ['arn:aws:iam::123456789012:role/service-role/My-Role'],
    refuses: ['arn:aws:iam::123456789012:role/', 'arn:aws:iam::123456789012:role/a b'],
  },
  {
    from: 'ASR EnableMultiAZOnRDSInstance.yaml RDSInstanceARN',
    pattern: '^arn:(?:aws|aws-us-gov|aws-cn):rds:(?:[a-z]{2}(?:-gov)?-[a-z]+-\\d):\\d{12}:db:.+$',
    accepts: ['arn:aws:rds:us-east-1:123456789012:db:orders', 'arn:aws-us-gov:rds:us-gov-west-1:123456789012:db:x'],
    refuses: ['arn:aws:rds:us-east-1:123456789012:cluster:orders'],
  },
  {
    from: 'ASR DisablePublicAccessToRDSInstance.yaml DbiResourceId (unanchored: a search)',
    pattern: 'db-[A-Z0-9]{26}',
    accepts: ['db-ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'xdb-ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
    refuses: ['db-abc'],
  },
  {
    from: 'ASR RemoveVPCDefaultSecurityGroupRules.yaml GroupId',
    pattern: 'sg-[a-z0-9]+$',
    accepts: ['sg-0abc123'],
    refuses: ['sg-', 'sg-ABC'],
  },
  {
    from: 'ASR EnableS3BucketVersioning.yaml BucketName (leading lookaheads, nested repetition: split into RE2 checks)',
    pattern: '(?=^.{3,63}$)(?!^(\\d+\\.)+\\d+$)(^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$)',
    accepts: ['my-bucket', 'abc', 'logs.example-1.com', 'a'.repeat(63), '1.2.3.x'],
    refuses: ['ab', 'a'.repeat(64), '192.168.1.1', 'My-Bucket', '-bucket', 'bucket-', 'a..b', 'a.-b', ''],
  },
  { from: 'ASR MakeEBSSnapshotsPrivate.yaml AccountId', pattern: '^[0-9]{12}$', accepts: ['123456789012'], refuses: ['12345678901'] },
  {
    from: 'AWS-EnableS3BucketKeys KmsKeyId (counts over 1000)',
    pattern:
      '^$|^[a-z0-9-]{1,2048}$|^mrk-[a-z0-9]{1,2044}$|^alias\\/.{1,250}$|^arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:\\d{12}:key\\/[a-z0-9-]{1,1992}$|^arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:\\d{12}:key\\/mrk-[a-z0-9]{1,1988}$|^arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:\\d{12}:alias\\/.{1,1990}$',
    accepts: ['', 'alias/aws/s3', 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab', 'a'.repeat(2048)],
    refuses: ['ALIAS/x', 'a'.repeat(2049)],
  },
];

describe('compileAllowedPattern on AWS-authored patterns', () => {
  for (const { from, pattern, accepts, refuses } of AWS_PATTERNS) {
    it(`compiles and applies ${from}`, () => {
      const compiled = compileAllowedPattern(pattern);
      for (const value of accepts) expect(compiled.test(value), `${value} should match`).toBe(true);
      for (const value of refuses) expect(compiled.test(value), `${value} should not match`).toBe(false);
    });
  }
});

describe('compileAllowedPattern: the Java dialect', () => {
  it('reads a leading (?i) as case-insensitive for the whole pattern', () => {
    const p = compileAllowedPattern('(?i)^(s3|http|https):\\/\\/.+');
    expect(p.test('HTTPS://bucket/x')).toBe(true);
    expect(p.test('ftp://x')).toBe(false);
  });

  it('scopes (?i:…) to its group, on both engines', () => {
    const plain = compileAllowedPattern('^key/(?i:[a-f]{2}x)$');
    expect(plain.test('key/AfX')).toBe(true);
    expect(plain.test('KEY/afx')).toBe(false);
    const lookaround = compileAllowedPattern('^(?!z)key/(?i:[a-f]{2}x)$');
    expect(lookaround.engine).toBe('backtracking');
    expect(lookaround.test('key/AfX')).toBe(true);
    expect(lookaround.test('KEY/afx')).toBe(false);
  });

  it('turns case-insensitivity off again with (?-i) inside the pattern', () => {
    const p = compileAllowedPattern('(?i)^ab(?-i)c$');
    expect(p.test('ABc')).toBe(true);
    expect(p.test('ABC')).toBe(false);
  });

  it('reads \\A, \\z and \\Z as Java does', () => {
    expect(compileAllowedPattern('\\Aabc\\z').test('abc')).toBe(true);
    expect(compileAllowedPattern('\\Aabc\\z').test('abc\n')).toBe(false);
    expect(compileAllowedPattern('\\Aabc\\z').test('xabc')).toBe(false);
    expect(compileAllowedPattern('\\Aabc\\Z').test('abc\n')).toBe(true);
    expect(compileAllowedPattern('\\Aabc\\Z').test('abc\nx')).toBe(false);
  });

  it('reads Java POSIX classes \\p{Alpha}, \\p{Digit}, \\P{Space} and Unicode classes', () => {
    expect(compileAllowedPattern('^\\p{Alpha}+\\p{Digit}$').test('abC1')).toBe(true);
    expect(compileAllowedPattern('^\\p{Alpha}+\\p{Digit}$').test('ab-1')).toBe(false);
    expect(compileAllowedPattern('^[\\p{Alnum}_]+$').test('a_1')).toBe(true);
    expect(compileAllowedPattern('^\\P{Space}+$').test('a b')).toBe(false);
    expect(compileAllowedPattern('^\\p{L}+$').test('élan')).toBe(true);
    expect(compileAllowedPattern('^\\p{IsLatin}+$').test('élan')).toBe(true);
  });

  it('reads \\Q…\\E quoting and \\uXXXX', () => {
    expect(compileAllowedPattern('^\\Qa.b\\E$').test('a.b')).toBe(true);
    expect(compileAllowedPattern('^\\Qa.b\\E$').test('axb')).toBe(false);
    expect(compileAllowedPattern('^\\u0041$').test('A')).toBe(true);
  });

  it('translates a possessive quantifier or an atomic group that ends the pattern', () => {
    expect(compileAllowedPattern('^[a-z]++$').test('abc')).toBe(true);
    expect(compileAllowedPattern('^x(?>[0-9]+)$').test('x12')).toBe(true);
    expect(compileAllowedPattern('^x(?>[0-9]+)$').test('x1a')).toBe(false);
  });

  it('refuses a possessive quantifier or an atomic group elsewhere, naming it', () => {
    expect(refusal('^a*+a$')).toBe('possessive quantifier `*+` followed by more pattern at position 2');
    expect(refusal('^(?>a|ab)c$')).toBe('atomic group (?>…) followed by more pattern at position 8');
  });

  it('refuses what it cannot read the Java way, naming the construct', () => {
    expect(refusal('^[a-z&&[^aeiou]]$')).toBe('character class intersection && at position 5');
    expect(refusal('^[a-z[0-9]]$')).toBe('a nested character class [ at position 5');
    expect(refusal('(?x)^a b$')).toBe('the comments flag (?x) at position 0');
    expect(refusal('^\\Xa$')).toContain('\\X');
  });

  it('runs patterns with nested repetition on RE2, in linear time', () => {
    const p = compileAllowedPattern('^(a+)+$');
    expect(p.engine).toBe('re2');
    const started = performance.now();
    expect(p.test(`${'a'.repeat(5000)}!`)).toBe(false);
    // A backtracking engine takes 2^5000 steps here; a bound of seconds cannot be reached by a linear one.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('refuses a pattern that needs lookaround past the start and would backtrack exponentially', () => {
    expect(refusal('^x(?!x)(a+)+$')).toMatch(/^a repetition nested in a repetition \(ending at 12\): with lookaround/);
    expect(refusal('^x(?=.)(a|aa)*$')).toMatch(/^a repeated group with alternatives/);
    expect(refusal('(?!x)(a+)+$')).toMatch(/^a repetition nested in a repetition/);
    expect(refusal('(?m)^(?!x)(a+)+$')).toMatch(/^a repetition nested in a repetition/);
  });

  it('runs leading lookaheads at the start as separate RE2 checks, in linear time', () => {
    const negative = compileAllowedPattern('^(?!x)(a+)+$');
    expect(negative.engine).toBe('re2');
    expect([negative.test('aaa'), negative.test('xaa'), negative.test('aab'), negative.test('')]).toEqual([true, false, false, false]);
    const pinned = compileAllowedPattern('(?=^.{2,4}$)(?!^(\\d+\\.)+\\d+$)(a|b|\\d|\\.)+');
    expect(pinned.engine).toBe('re2');
    const values = ['ab', '1.a', 'abcd', '1.2', 'a', 'abbbb', 'xab', 'cab', '12'];
    expect(values.map((v) => pinned.test(v))).toEqual([true, true, true, false, false, false, false, false, true]);
    // The same answers as a backtracking engine gives on these short values.
    expect(values.map((v) => pinned.test(v))).toEqual(values.map((v) => /(?=^.{2,4}$)(?!^(\d+\.)+\d+$)(a|b|\d|\.)+/.test(v)));
    const folded = compileAllowedPattern('(?i)^(?=.{2})(?!X)[a-z]+$');
    expect(['ab', 'AB', 'xa', 'Xa', 'a'].map((v) => folded.test(v))).toEqual([true, true, false, false, false]);
    const started = performance.now();
    expect(negative.test(`${'a'.repeat(5000)}!`)).toBe(false);
    expect(compileAllowedPattern('(?=^.{3,63}$)(?!^(\\d+\\.)+\\d+$)(^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$)').test(`${'1.'.repeat(3000)}!`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('runs simple patterns on RegExp and leaves the rest of JavaScript out', () => {
    expect(compileAllowedPattern('^i-[a-z0-9]{8,17}$').engine).toBe('backtracking');
    expect(refusal('^b(?!a)\\p{L}$')).toBe('Unicode class \\p{L} (with lookaround) at position 7');
    expect(compileAllowedPattern('^(?!a)\\p{L}$').test('é')).toBe(true);
  });
});
