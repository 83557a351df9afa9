import { describe, expect, it } from 'vitest';
import { parseRunbook, runbookIamActions } from '../../../packages/core/src/index.js';

// aws:runCommand as a document step: the inputs AWS documents, the ones opsauto refuses, and the IAM actions the
// step's role needs.

const doc = (inputs: Record<string, unknown>) =>
  JSON.stringify({
    schemaVersion: '0.3',
    parameters: { InstanceIds: { type: 'StringList' } },
    mainSteps: [{ name: 'patch', action: 'aws:runCommand', inputs }],
  });

describe('aws:runCommand rules', () => {
  it('loads a step with DocumentName, InstanceIds, Parameters and rate control, and knows its outputs', () => {
    // Act
    const runbook = parseRunbook(
      doc({ DocumentName: 'AWS-RunPatchBaseline', InstanceIds: '{{ InstanceIds }}', Parameters: { Operation: 'Install' }, MaxConcurrency: '5', MaxErrors: '10%', TimeoutSeconds: 600, Comment: 'patch' }),
      { name: 'Team-Patch' },
    );
    // Assess
    expect(runbook.mainSteps[0]).toMatchObject({ action: 'aws:runCommand', inputs: { DocumentName: 'AWS-RunPatchBaseline', MaxConcurrency: '5' } });
  });

  it('refuses output to S3 and notifications naming the input, and a step with neither InstanceIds nor Targets', () => {
    // Act
    const s3 = () => parseRunbook(doc({ DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-1'], OutputS3BucketName: 'logs' }), { name: 'Team-S3' });
    const none = () => parseRunbook(doc({ DocumentName: 'AWS-RunShellScript' }), { name: 'Team-None' });
    const both = () => parseRunbook(doc({ DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-1'], Targets: [{ Key: 'tag:a', Values: ['b'] }] }), { name: 'Team-Both' });
    const tooShort = () => parseRunbook(doc({ DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-1'], TimeoutSeconds: 10 }), { name: 'Team-Short' });
    // Assess
    expect(s3).toThrow(/OutputS3BucketName: is not supported by opsauto's aws:runCommand/);
    expect(none).toThrow(/InstanceIds: InstanceIds or Targets is required/);
    expect(both).toThrow(/Targets: give InstanceIds or Targets, not both/);
    expect(tooShort).toThrow(/TimeoutSeconds: must be at least 30/);
  });

  it('derives ssm:ListCommands, ssm:SendCommand and ssm:ListCommandInvocations for the step', () => {
    // Act
    const actions = runbookIamActions(parseRunbook(doc({ DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-1'] }), { name: 'Team-Run' }));
    // Assess
    expect(actions).toEqual(['ssm:ListCommandInvocations', 'ssm:ListCommands', 'ssm:SendCommand']);
  });
});
