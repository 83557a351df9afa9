import { describe, expect, it } from 'vitest';
import { ForbiddenError, planStart, type StartPorts } from '@opsauto/core';
import { doc } from './engine-harness.js';

const CLI_ROLE = 'arn:aws:iam::111122223333:role/opsauto-prod-runbook-cli';
const MEMBER_ROLE = 'arn:aws:iam::444455556666:role/opsauto-member';

const stop = doc([{ name: 'stop', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'StopInstances', InstanceIds: ['{{ InstanceId }}'] } }], {
  parameters: { InstanceId: { type: 'String' }, AutomationAssumeRole: { type: 'String', default: '' } },
  assumeRole: '{{ AutomationAssumeRole }}',
});

function ports(allowed: string[] = ['AWS-StopEC2Instance']): StartPorts {
  return {
    accountId: '111122223333',
    region: 'eu-west-1',
    policy: { allowedRunbooks: allowed, assumeRoles: [MEMBER_ROLE], defaultRoleArn: CLI_ROLE },
    loadRunbook: (name) => Promise.resolve({ name, runbook: stop }),
    findInstances: () => Promise.resolve([]),
  };
}

describe('starting a runbook: who may start what, as which role', () => {
  it('refuses a runbook that is not allow-listed when it is started by name', async () => {
    // Act
    const attempt = planStart({ documentName: 'AWS-TerminateEC2Instance', parameters: { InstanceId: 'i-0123456789abcdef0' } }, ports());
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
    await expect(attempt).rejects.toThrow('runbook AWS-TerminateEC2Instance may not be started by name here: it is not in runbooks.allowedRunbooks');
  });

  it('runs as the default role when the document names no role, and as its assumeRole when the config allows it', async () => {
    // Act
    const plain = await planStart({ documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: 'i-0123456789abcdef0' } }, ports());
    const member = await planStart({ documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: 'i-0123456789abcdef0', AutomationAssumeRole: MEMBER_ROLE } }, ports());
    // Assess
    expect(plain.request.roleArn).toBe(CLI_ROLE);
    expect(plain.plan.roleArn).toBe(CLI_ROLE);
    expect(member.request.roleArn).toBe(MEMBER_ROLE);
  });

  it('refuses a document whose assumeRole names a role the config does not allow, naming it', async () => {
    // Act
    const attempt = planStart(
      { documentName: 'AWS-StopEC2Instance', parameters: { InstanceId: 'i-0123456789abcdef0', AutomationAssumeRole: 'arn:aws:iam::111122223333:role/Admin' } },
      ports(),
    );
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
    await expect(attempt).rejects.toMatchObject({ field: 'assumeRole', message: expect.stringContaining('arn:aws:iam::111122223333:role/Admin') });
  });

  it('takes a document given whole (the operator\'s own file) without the allow-list', async () => {
    // Act
    const planned = await planStart({ documentName: 'my-file.yaml', runbook: stop, parameters: { InstanceId: 'i-0123456789abcdef0' } }, ports([]));
    // Assess
    expect(planned.request.roleArn).toBe(CLI_ROLE);
  });
});
