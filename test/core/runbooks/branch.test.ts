import { describe, expect, it } from 'vitest';
import { BranchError, branchProblems, branchTargets, evaluateBranch, type BranchInputs } from '../../../packages/core/src/runbooks/branch.js';
import { interpolate, type InterpolationContext } from '../../../packages/core/src/runbooks/interpolate.js';

// aws:branch: https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-action-branch.html
// Operators and examples: https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-branchdocs.html

function resolverFor(parameters: Record<string, unknown>, stepOutputs: Record<string, Record<string, unknown>> = {}) {
  const context: InterpolationContext = { parameters, stepOutputs, executionId: 'e-1', accountId: '123456789012', region: 'us-east-1', now: new Date(0) };
  return (variable: unknown) => interpolate(variable, context);
}

const cond = (operation: string, value: unknown, operand: unknown) => ({ NextStep: 'yes', Variable: value, [operation]: operand });
const holds = (choice: Record<string, unknown>) => evaluateBranch({ Choices: [choice], Default: 'no' }).nextStep === 'yes';

function errorOf(fn: () => unknown): BranchError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BranchError) return err;
    throw err;
  }
  throw new Error('expected a BranchError');
}

describe('evaluateBranch', () => {
  const chooseOS: BranchInputs = {
    Choices: [
      { NextStep: 'runPowerShellCommand', Variable: '{{GetInstance.platform}}', StringEquals: 'Windows' },
      { NextStep: 'runShellCommand', Variable: '{{GetInstance.platform}}', StringEquals: 'Linux' },
    ],
    Default: 'PostProcessing',
  };

  it('goes to the first choice that holds on a step output (ChooseOSforCommands)', () => {
    // Act
    const outcome = evaluateBranch(chooseOS, { resolve: resolverFor({}, { GetInstance: { platform: 'Linux' } }) });
    // Assess
    expect(outcome).toEqual({ via: 'choice', choice: 1, nextStep: 'runShellCommand' });
  });

  it('goes to Default when no choice holds', () => {
    const outcome = evaluateBranch(chooseOS, { resolve: resolverFor({}, { GetInstance: { platform: 'MacOS' } }) });
    expect(outcome).toEqual({ via: 'default', nextStep: 'PostProcessing' });
  });

  it('stops at the first choice that holds even when a later one holds too', () => {
    const inputs = { Choices: [cond('StartsWith', 'Linux', 'Li'), { ...cond('StringEquals', 'Linux', 'Linux'), NextStep: 'second' }] };
    expect(evaluateBranch(inputs)).toEqual({ via: 'choice', choice: 0, nextStep: 'yes' });
  });

  it('goes on to the next step (nextStep undefined) when no choice holds and there is no Default, as AWS documents', () => {
    // Prepare: chooseOSfromParameter, which has no Default
    const inputs = {
      Choices: [
        { NextStep: 'runWindowsCommand', Variable: '{{OSName}}', StringEquals: 'Windows' },
        { NextStep: 'runLinuxCommand', Variable: '{{OSName}}', StringEquals: 'Linux' },
      ],
    };
    // Act
    const outcome = evaluateBranch(inputs, { resolve: resolverFor({ OSName: 'MacOS' }) });
    // Assess
    expect(outcome).toEqual({ via: 'none', nextStep: undefined });
  });

  it('throws "no choice matched and no Default" when asked to fail on no match', () => {
    const err = errorOf(() => evaluateBranch({ Choices: [cond('StringEquals', 'a', 'b')] }, { onNoMatch: 'fail' }));
    expect(err.message).toBe('no choice matched and no Default');
  });

  it('takes the Not choice of AWS-EnableS3BucketKeys when a KMS key is given and Default when it is empty', () => {
    // Prepare: ChooseEncryptionType of test/fixtures/runbooks/AWS-EnableS3BucketKeys.yml
    const inputs = { Choices: [{ NextStep: 'PutBucketKeysKMS', Not: { Variable: '{{ KmsKeyId }}', StringEquals: '' } }], Default: 'PutBucketKeysAES256' };
    // Act / Assess
    expect(evaluateBranch(inputs, { resolve: resolverFor({ KmsKeyId: 'alias/k' }) }).nextStep).toBe('PutBucketKeysKMS');
    expect(evaluateBranch(inputs, { resolve: resolverFor({ KmsKeyId: '' }) }).nextStep).toBe('PutBucketKeysAES256');
  });

  it('needs every condition of And to hold (switch2)', () => {
    const inputs = {
      Choices: [
        {
          And: [
            { Variable: '{{GetInstance.pingStatus}}', StringEquals: 'running' },
            { Variable: '{{GetInstance.platform}}', StringEquals: 'Windows' },
          ],
          NextStep: 'runPowerShellCommand',
        },
        {
          And: [
            { Variable: '{{GetInstance.pingStatus}}', StringEquals: 'running' },
            { Variable: '{{GetInstance.platform}}', StringEquals: 'Linux' },
          ],
          NextStep: 'runShellCommand',
        },
      ],
      Default: 'sleep3',
    };
    const run = (pingStatus: string, platform: string) => evaluateBranch(inputs, { resolve: resolverFor({}, { GetInstance: { pingStatus, platform } }) }).nextStep;
    expect(run('running', 'Linux')).toBe('runShellCommand');
    expect(run('running', 'Windows')).toBe('runPowerShellCommand');
    expect(run('stopped', 'Windows')).toBe('sleep3');
  });

  it('needs any condition of Or to hold, with a BooleanEquals on a Boolean parameter', () => {
    const inputs = {
      Choices: [
        {
          Or: [
            { Variable: '{{parameter1}}', StringEquals: 'Windows' },
            { Variable: '{{BooleanParam1}}', BooleanEquals: true },
          ],
          NextStep: 'RunPowershellCommand',
        },
      ],
      Default: 'other',
    };
    expect(evaluateBranch(inputs, { resolve: resolverFor({ parameter1: 'Linux', BooleanParam1: true }) }).nextStep).toBe('RunPowershellCommand');
    expect(evaluateBranch(inputs, { resolve: resolverFor({ parameter1: 'Windows', BooleanParam1: false }) }).nextStep).toBe('RunPowershellCommand');
    expect(evaluateBranch(inputs, { resolve: resolverFor({ parameter1: 'Linux', BooleanParam1: false }) }).nextStep).toBe('other');
  });

  it('goes to sleep2 when testParam is not Linux (the Not example)', () => {
    const inputs = {
      Choices: [
        { NextStep: 'sleep2', Not: { Variable: '{{testParam}}', StringEquals: 'Linux' } },
        { NextStep: 'sleep1', Variable: '{{testParam}}', StringEquals: 'Windows' },
      ],
      Default: 'sleep3',
    };
    expect(evaluateBranch(inputs, { resolve: resolverFor({ testParam: 'Windows' }) }).nextStep).toBe('sleep2');
    expect(evaluateBranch(inputs, { resolve: resolverFor({ testParam: 'Linux' }) }).nextStep).toBe('sleep3');
  });

  it('evaluates And, Or and Not nested inside each other', () => {
    // (size > 10 and not (env = prod or env = staging)) or force
    const choice = {
      NextStep: 'yes',
      Or: [
        {
          And: [{ Variable: 12, NumericGreater: 10 }, { Not: { Or: [{ Variable: 'dev', StringEquals: 'prod' }, { Variable: 'dev', StringEquals: 'staging' }] } }],
        },
        { Variable: 'false', BooleanEquals: true },
      ],
    };
    expect(holds(choice)).toBe(true);
    const prod = structuredClone(choice);
    (prod.Or[0] as any).And[1].Not.Or[0].Variable = 'prod';
    expect(holds(prod)).toBe(false);
  });

  it('short-circuits so that a later condition that cannot be compared is not evaluated', () => {
    expect(holds({ NextStep: 'yes', Or: [{ Variable: 'a', StringEquals: 'a' }, { Variable: 'x', NumericEquals: 1 }] })).toBe(true);
    expect(() => holds({ NextStep: 'yes', And: [{ Variable: 'a', StringEquals: 'a' }, { Variable: 'x', NumericEquals: 1 }] })).toThrow(BranchError);
  });

  it('compares text with the string operations', () => {
    expect(holds(cond('StringEquals', 'Linux', 'Linux'))).toBe(true);
    expect(holds(cond('StringEquals', 'Linux', 'linux'))).toBe(false);
    expect(holds(cond('EqualsIgnoreCase', 'Linux', 'LINUX'))).toBe(true);
    expect(holds(cond('StartsWith', 'ami-1234', 'ami-'))).toBe(true);
    expect(holds(cond('StartsWith', 'ami-1234', 'vol-'))).toBe(false);
    expect(holds(cond('EndsWith', 'web-prod', '-prod'))).toBe(true);
    expect(holds(cond('Contains', 'Windows Server 2019', 'Server'))).toBe(true);
    expect(holds(cond('Contains', 'Amazon Linux', 'Windows'))).toBe(false);
  });

  it('compares a number or boolean output as text with the string operations', () => {
    expect(holds(cond('StringEquals', 16, '16'))).toBe(true);
    expect(holds(cond('StringEquals', true, 'true'))).toBe(true);
  });

  it('asks whether a StringList value holds the operand with Contains', () => {
    expect(holds(cond('Contains', ['i-1', 'i-2'], 'i-2'))).toBe(true);
    expect(holds(cond('Contains', ['i-1', 'i-2'], 'i-'))).toBe(false);
  });

  it('compares numbers given as numeric text with the numeric operations', () => {
    expect(holds(cond('NumericGreater', '10', '9'))).toBe(true); // as numbers, not as text ("10" < "9")
    expect(holds(cond('NumericGreater', '9', 9))).toBe(false);
    expect(holds(cond('NumericEquals', '1.50', 1.5))).toBe(true);
    expect(holds(cond('NumericLesser', -2, '-1'))).toBe(true);
    expect(holds(cond('NumericGreaterOrEquals', '9', 9))).toBe(true);
    expect(holds(cond('NumericLesserOrEquals', 10, '9.99'))).toBe(false);
    expect(holds(cond('NumericLesserOrEquals', ' 3 ', '3e0'))).toBe(true);
  });

  it('fails naming the choice when a numeric operation meets text that is not a number', () => {
    const err = errorOf(() => evaluateBranch({ Choices: [cond('NumericGreater', 'many', 1)] }));
    expect(err.message).toBe('Choices[0].NumericGreater: string "many" is not a number');
    expect(() => evaluateBranch({ Choices: [cond('NumericEquals', '', 0)] })).toThrow('is not a number');
  });

  it('compares booleans given as true/false text with BooleanEquals and rejects other values', () => {
    expect(holds(cond('BooleanEquals', 'True', true))).toBe(true);
    expect(holds(cond('BooleanEquals', false, 'false'))).toBe(true);
    expect(holds(cond('BooleanEquals', true, false))).toBe(false);
    expect(() => holds(cond('BooleanEquals', 1, true))).toThrow('number 1 is not a boolean');
  });

  it('fails when a Variable resolves to nothing that can be compared', () => {
    expect(() => holds(cond('StringEquals', { a: 1 }, 'x'))).toThrow('cannot compare the map');
    expect(() => holds(cond('StringEquals', undefined, 'x'))).toThrow(BranchError);
  });

  it('resolves a Variable through the callback and leaves it as it is without one', () => {
    const seen: unknown[] = [];
    evaluateBranch({ Choices: [cond('StringEquals', '{{ X }}', 'y')] }, { resolve: (v) => (seen.push(v), 'y') });
    expect(seen).toEqual(['{{ X }}']);
    expect(holds(cond('StringEquals', '{{ X }}', '{{ X }}'))).toBe(true);
  });

  it('refuses malformed inputs before evaluating any choice, listing every problem', () => {
    // Act
    const err = errorOf(() =>
      evaluateBranch({ Choices: [cond('StringEquals', 'a', 'a'), { NextStep: 'x', Variable: 'a', StringEqual: 'a' }, { Variable: 'a', StringEquals: 'a' }] }),
    );
    // Assess
    expect(err.problems).toEqual([
      'Choices[1]: unsupported key StringEqual',
      expect.stringContaining('Choices[1]: needs exactly one of an operation'),
      'Choices[2]: NextStep must be a step name',
    ]);
  });
});

describe('branchProblems', () => {
  it('returns nothing for the documented examples', () => {
    const inputs = {
      Choices: [
        { NextStep: 'sleep2', Not: { Variable: '{{testParam}}', StringEquals: 'Linux' } },
        { And: [{ Variable: '{{a}}', StringEquals: 'x' }, { Or: [{ Variable: '{{b}}', NumericGreater: 1 }] }], NextStep: 'n' },
      ],
      Default: 'sleep3',
    };
    expect(branchProblems(inputs)).toEqual([]);
  });

  it('reports two operations in one condition, a missing Variable and a Variable beside a combinator', () => {
    // Act
    const problems = branchProblems({
      Choices: [
        { NextStep: 'a', Variable: 'x', StringEquals: 'x', Contains: 'x' },
        { NextStep: 'b', NumericEquals: 1 },
        { NextStep: 'c', Variable: 'x', Not: { Variable: 'x', StringEquals: 'y' } },
      ],
    });
    // Assess
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^Choices\[0\]: needs exactly one of an operation .*, found StringEquals, Contains$/);
    expect(problems.slice(1)).toEqual(['Choices[1]: NumericEquals needs a Variable', 'Choices[2]: Variable cannot sit beside Not']);
  });

  it('reports empty or malformed And, Or, Not and Choices', () => {
    expect(branchProblems({ Choices: [] })).toEqual(['Choices must be a non-empty list']);
    expect(branchProblems('x')).toEqual(['inputs must be a map with Choices']);
    expect(branchProblems({ Choices: [{ NextStep: 'a', And: [] }, { NextStep: 'b', Not: [] }, { NextStep: 'c', Or: ['x'] }], Default: 3, Extra: 1 })).toEqual([
      'unsupported input Extra',
      'Default must be a step name',
      'Choices[0].And: must be a non-empty list of conditions',
      'Choices[1].Not: must be a condition',
      'Choices[2].Or[0]: must be a condition',
    ]);
  });

  it('reports a NextStep inside a nested condition as unsupported', () => {
    expect(branchProblems({ Choices: [{ NextStep: 'a', Not: { NextStep: 'b', Variable: 'x', StringEquals: 'y' } }] })).toEqual([
      'Choices[0].Not: unsupported key NextStep',
    ]);
  });
});

describe('branchTargets', () => {
  it('lists each NextStep and the Default once, for step reference checks', () => {
    const inputs = { Choices: [cond('StringEquals', 'a', 'a'), cond('StringEquals', 'b', 'b'), { ...cond('StringEquals', 'c', 'c'), NextStep: 'other' }], Default: 'fallback' };
    expect(branchTargets(inputs)).toEqual(['yes', 'other', 'fallback']);
  });
});
