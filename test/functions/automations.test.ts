import { describe, expect, it } from 'vitest';
import { ConfigError, defineConfig, type OpsautoConfigInput } from '@opsauto/core';
import { automationProblems, checkAutomations, knownRunbooks } from '@opsauto/functions';
import shipped from '../../opsauto.config.js';
import { projectRoot } from '../../packages/cli/src/project.js';

type AutomationInput = NonNullable<OpsautoConfigInput['automations']>[number];

const known = knownRunbooks(projectRoot);
const problems = (...automations: AutomationInput[]) => automationProblems(defineConfig({ automations }), known);

describe('automations checked against the runbooks', () => {
  it('finds nothing wrong with the shipped config', () => {
    expect(automationProblems(shipped, known)).toEqual([]);
  });

  it('names every problem at once: a runbook that does not exist, undeclared and missing parameters, an event reference on a schedule, targets and rate control that cannot resolve', () => {
    // Act
    const found = problems(
      { name: 'missing-runbook', runbook: 'AWS-NoSuchThing', trigger: { schedule: 'rate(1 day)' } },
      { name: 'bad-parameters', runbook: 'AWS-ConfigureS3BucketVersioning', parameters: { Bucket: 'x', VersioningState: 'Enabled' }, trigger: { configRules: ['r'] } },
      { name: 'event-on-schedule', runbook: 'AWS-ConfigureS3BucketVersioning', parameters: { BucketName: '{{ event.detail.resourceId }}' }, trigger: { schedule: 'rate(1 day)' } },
      { name: 'bad-targets', runbook: 'AWS-StopEC2Instance', targets: { parameter: 'NoSuchParameter', tags: { env: 'qa' } }, maxConcurrency: '0', trigger: { schedule: 'rate(1 day)' } },
      { name: 'account-document', runbook: 'Team-Restart', trigger: { schedule: 'rate(1 day)' } },
    );
    // Assess
    expect(found).toEqual([
      'automations.0 (missing-runbook).runbook: AWS-NoSuchThing is neither in runbooks/ nor an AWS-owned document opsauto serves',
      'automations.1 (bad-parameters).parameters.Bucket: AWS-ConfigureS3BucketVersioning has no such parameter (it takes BucketName, VersioningState, AutomationAssumeRole)',
      'automations.1 (bad-parameters).parameters.BucketName: AWS-ConfigureS3BucketVersioning requires it',
      'automations.2 (event-on-schedule).parameters: {{ event.detail.resourceId }} can take nothing from a schedule, which has no event',
      // The target parameter is not InstanceId, so InstanceId would be given nothing.
      'automations.3 (bad-targets).parameters.InstanceId: AWS-StopEC2Instance requires it',
      expect.stringMatching(/^automations\.3 \(bad-targets\)\.targets: .*NoSuchParameter is not a parameter/),
      expect.stringMatching(/^automations\.3 \(bad-targets\)\.maxConcurrency: MaxConcurrency "0"/),
      'automations.4 (account-document).version: Team-Restart is not a runbook opsauto ships; as an account document it needs its version',
      'automations.4 (account-document).role: Team-Restart is an account document whose steps opsauto cannot read: give the role it runs as',
    ]);
    expect(() => checkAutomations(defineConfig({ automations: [{ name: 'missing-runbook', runbook: 'AWS-NoSuchThing', trigger: { schedule: 'rate(1 day)' } }] }), known)).toThrow(ConfigError);
  });

  it('accepts an account document with its version and role', () => {
    expect(problems({ name: 'account-document', runbook: 'Team-Restart', version: '3', role: 'arn:aws:iam::123456789012:role/team-restart', trigger: { schedule: 'rate(1 day)' } })).toEqual([]);
  });

  it("refuses an office-hours trigger that would miss the period's start or stop", () => {
    // Act
    const act = () =>
      defineConfig({
        automations: [
          {
            name: 'hourly-check',
            officeHours: { period: { days: 'MON-FRI', start: '09:30', stop: '17:00', timezone: 'Asia/Seoul' } },
            trigger: { schedule: 'cron(0 * * * ? *)', timezone: 'Asia/Seoul' },
          },
        ],
      });
    // Assess
    expect(act).toThrow(/automations\.0\.trigger: cron\(0 \* \* \* \? \*\) \(Asia\/Seoul\) does not fire at the start of the period \(cron\(30 9 \? \* MON-FRI \*\) in Asia\/Seoul\)/);
    expect(() =>
      defineConfig({
        automations: [{ name: 'every-5', officeHours: { period: { days: 'MON-FRI', start: '09:30', stop: '17:00', timezone: 'Asia/Seoul' } }, trigger: { schedule: 'cron(0/5 * * * ? *)', timezone: 'Asia/Seoul' } }],
      }),
    ).not.toThrow();
  });

  it('refuses an automation with both a runbook and office hours, and parameters on office hours', () => {
    expect(() =>
      defineConfig({
        automations: [
          {
            name: 'both',
            runbook: 'AWS-StopEC2Instance',
            officeHours: { period: { days: '*', start: '09:00', stop: '17:00', timezone: 'UTC' } },
            trigger: { schedule: 'cron(0/5 * * * ? *)' },
          },
        ],
      }),
    ).toThrow(/automations\.0\.officeHours: give exactly one of runbook, officeHours or nightResize/);
    expect(() =>
      defineConfig({
        automations: [{ name: 'with-parameters', officeHours: { period: { days: '*', start: '09:00', stop: '17:00', timezone: 'UTC' } }, parameters: { X: 'y' }, trigger: { schedule: 'cron(0/5 * * * ? *)' } }],
      }),
    ).toThrow(/automations\.0\.parameters: does not apply to officeHours/);
  });
});
