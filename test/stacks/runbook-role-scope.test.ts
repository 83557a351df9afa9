import { describe, expect, it } from 'vitest';
import { actionScope } from '../../stacks/runbook-roles.js';

// The resources a runbook role is granted Run Command on (no synth: the scope table alone).

const context = { partition: 'aws', account: '123456789012', regions: ['us-east-1', 'eu-west-1'] };

describe('runbook role scope for Run Command', () => {
  it('grants ssm:SendCommand on documents (AWS\'s and the account\'s) and on instances and managed nodes of the configured regions', () => {
    // Act
    const scope = actionScope('ssm:SendCommand', context);
    // Assess
    expect(scope.resources).toEqual([
      'arn:aws:ssm:us-east-1::document/*',
      'arn:aws:ssm:us-east-1:123456789012:document/*',
      'arn:aws:ec2:us-east-1:123456789012:instance/*',
      'arn:aws:ssm:us-east-1:123456789012:managed-instance/*',
      'arn:aws:ssm:eu-west-1::document/*',
      'arn:aws:ssm:eu-west-1:123456789012:document/*',
      'arn:aws:ec2:eu-west-1:123456789012:instance/*',
      'arn:aws:ssm:eu-west-1:123456789012:managed-instance/*',
    ]);
  });

  it('grants the reads of commands and invocations on *, which they support only', () => {
    // Assess
    expect(actionScope('ssm:ListCommands', context).resources).toEqual(['*']);
    expect(actionScope('ssm:ListCommandInvocations', context).resources).toEqual(['*']);
  });
});
