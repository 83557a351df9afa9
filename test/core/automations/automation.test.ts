import { describe, expect, it } from 'vitest';
import { automationStart, ConfigError, configEvaluation, defineConfig, fillParameters, firingKey, launchDeadline, triggerPattern, type OpsautoConfigInput } from '@opsauto/core';

type AutomationInput = NonNullable<OpsautoConfigInput['automations']>[number];

const base: AutomationInput = { name: 'nightly-stop', runbook: 'AWS-StopEC2Instance', trigger: { schedule: 'cron(0 22 ? * MON-FRI *)', timezone: 'Asia/Seoul' } };

/** A Config compliance change as EventBridge delivers it: the SNS Message's fields under `detail` (test/fixtures/SOURCES.md). */
function complianceChange(resourceId: string, orderingTimestamp: string, id = 'e-1') {
  return {
    version: '0',
    id,
    'detail-type': 'Config Rules Compliance Change',
    source: 'aws.config',
    account: '000000000000',
    time: orderingTimestamp,
    region: 'us-east-1',
    resources: [],
    detail: {
      resourceId,
      resourceType: 'AWS::S3::Bucket',
      configRuleName: 's3-bucket-versioning-enabled',
      messageType: 'ComplianceChangeNotification',
      newEvaluationResult: {
        evaluationResultIdentifier: { evaluationResultQualifier: { configRuleName: 's3-bucket-versioning-enabled', resourceType: 'AWS::S3::Bucket', resourceId }, orderingTimestamp },
        complianceType: 'NON_COMPLIANT',
        resultRecordedTime: orderingTimestamp,
        configRuleInvokedTime: orderingTimestamp,
      },
    },
  };
}

describe('automations in the config', () => {
  it('accepts the shapes of every trigger and fills defaults', () => {
    // Act
    const config = defineConfig({
      automations: [
        base,
        { name: 'on-event', runbook: 'AWS-StopEC2Instance', trigger: { event: { source: ['aws.ec2'] } } },
        { name: 'remediate', runbook: 'AWS-ConfigureS3BucketVersioning', parameters: { BucketName: '{{ event.detail.resourceId }}' }, trigger: { configRules: ['s3-bucket-versioning-enabled'] } },
        { name: 'patching', runbook: 'opsauto-PatchInstance', targets: { parameter: 'InstanceId', tags: { 'Patch Group': 'qa' } }, maxConcurrency: '20%', trigger: { maintenanceWindow: { schedule: 'cron(0 2 ? * TUE *)', timezone: 'Asia/Seoul', duration: '2h' } } },
      ],
    });
    // Assess
    expect(config.automations.map((a) => a.enabled)).toEqual([true, true, true, true]);
    expect(config.automations[1].trigger).toEqual({ event: { source: ['aws.ec2'] } });
    expect(config.automations[3].trigger).toEqual({ maintenanceWindow: { schedule: 'cron(0 2 ? * TUE *)', timezone: 'Asia/Seoul', duration: '2h', cutoff: '1h' } });
    expect(defineConfig({}).automations).toEqual([]);
  });

  it('names every problem at once: a bad cron field, an unknown time zone, a bad name, a duplicate, a cutoff as long as the window', () => {
    // Act
    const act = () =>
      defineConfig({
        automations: [
          { ...base, trigger: { schedule: 'cron(0 25 ? * MON-FRI *)', timezone: 'Asia/Seoul' } },
          { ...base, name: 'tz', trigger: { schedule: 'cron(0 9 ? * MON-FRI *)', timezone: 'Asia/Seol' } },
          { ...base, name: 'Bad_Name' },
          { ...base, name: 'tz' },
          { ...base, name: 'window', trigger: { maintenanceWindow: { schedule: 'cron(0 2 ? * TUE *)', duration: '1h', cutoff: '60m' } } },
        ],
      });
    // Assess
    expect(act).toThrow(ConfigError);
    const message = (() => {
      try {
        act();
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toMatch(/automations\.0\.trigger\.schedule: .*hour/i);
    expect(message).toMatch(/automations\.1\.trigger\.timezone: must be an IANA time zone/);
    expect(message).toMatch(/automations\.2\.name: must be 3 to 40 lowercase/);
    expect(message).toMatch(/automations\.3\.name: tz is declared twice/);
    expect(message).toMatch(/automations\.4\.trigger\.maintenanceWindow\.cutoff: must be shorter than the duration \(1h\)/);
  });

  it('refuses rate control without targets, a parameter that is also the target parameter, and an at() schedule', () => {
    expect(() => defineConfig({ automations: [{ ...base, maxConcurrency: '5' }] })).toThrow(/automations\.0\.maxConcurrency: applies only with targets/);
    expect(() => defineConfig({ automations: [{ ...base, targets: { parameter: 'InstanceId', values: ['i-1'] }, parameters: { InstanceId: 'i-2' } }] })).toThrow(/parameters\.InstanceId: is the target parameter/);
    expect(() => defineConfig({ automations: [{ ...base, trigger: { schedule: 'at(2027-01-01T00:00:00)' } }] })).toThrow(/must be cron\(\.\.\.\) or rate\(\.\.\.\)/);
  });

  it('takes managedNodes with tag targets (patching EC2 and hybrid nodes alike), and refuses it with values', () => {
    const [patch] = defineConfig({ automations: [{ ...base, targets: { parameter: 'InstanceId', tags: { 'Patch Group': 'qa' }, managedNodes: true } }] }).automations;
    expect(automationStart(patch, { kind: 'manual', requestId: 'r-1', by: 'ops' })).toMatchObject({ targets: [{ Key: 'tag:Patch Group', Values: ['qa'] }], targetNodes: 'managed' });
    const [plain] = defineConfig({ automations: [{ ...base, targets: { parameter: 'InstanceId', tags: { 'Patch Group': 'qa' } } }] }).automations;
    expect(automationStart(plain, { kind: 'manual', requestId: 'r-1', by: 'ops' })).not.toHaveProperty('targetNodes');
    expect(() => defineConfig({ automations: [{ ...base, targets: { parameter: 'InstanceId', values: ['i-1'], managedNodes: true } }] })).toThrow(/targets\.managedNodes: applies to tags and tagKeys, not values/);
  });
});

describe('automation firings', () => {
  it('fills parameters from the event: a whole reference keeps its type, an embedded one becomes text', () => {
    const event = { detail: { resourceId: 'logs', list: ['a', 'b'] } };
    expect(fillParameters({ BucketName: '{{ event.detail.resourceId }}', Ids: '{{event.detail.list}}', Note: 'bucket {{ event.detail.resourceId }}!', Fixed: 3 }, event)).toEqual({
      BucketName: 'logs',
      Ids: ['a', 'b'],
      Note: 'bucket logs!',
      Fixed: 3,
    });
  });

  it('names the parameter when the event has nothing at the path, or when there is no event', () => {
    expect(() => fillParameters({ BucketName: '{{ event.detail.missing }}' }, { detail: {} })).toThrow(/parameter BucketName: the event has nothing at detail\.missing/);
    expect(() => fillParameters({ BucketName: '{{ event.detail.resourceId }}' }, undefined)).toThrow(/parameter BucketName takes \{\{ event\.detail\.resourceId \}\}, and this run has no event/);
  });

  it('keys a Config evaluation by rule, resource and evaluation time, whatever the event ID', () => {
    const automation = { name: 'remediate' };
    const a = firingKey(automation, { kind: 'event', event: complianceChange('logs', '2027-01-01T00:00:00.000Z', 'e-1') });
    const sameEvaluation = firingKey(automation, { kind: 'event', event: complianceChange('logs', '2027-01-01T00:00:00.000Z', 'e-2') });
    const later = firingKey(automation, { kind: 'event', event: complianceChange('logs', '2027-01-02T00:00:00.000Z', 'e-3') });
    const other = firingKey(automation, { kind: 'event', event: complianceChange('data', '2027-01-01T00:00:00.000Z', 'e-4') });
    expect(sameEvaluation).toBe(a);
    expect(new Set([a, later, other]).size).toBe(3);
    expect(configEvaluation(complianceChange('logs', '2027-01-01T00:00:00.000Z'))).toEqual({
      rule: 's3-bucket-versioning-enabled',
      resourceType: 'AWS::S3::Bucket',
      resourceId: 'logs',
      compliance: 'NON_COMPLIANT',
      evaluatedAt: '2027-01-01T00:00:00.000Z',
    });
  });

  it("matches a Config rule's NON_COMPLIANT change with the pattern it derives", () => {
    expect(triggerPattern({ configRules: ['r1', 'r2'] })).toEqual({
      source: ['aws.config'],
      'detail-type': ['Config Rules Compliance Change'],
      detail: { messageType: ['ComplianceChangeNotification'], configRuleName: ['r1', 'r2'], newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } },
    });
  });

  it("turns a maintenance window's firing into targets, rate control and a launch deadline at its end minus the cutoff", () => {
    // Prepare
    const [automation] = defineConfig({
      automations: [
        {
          name: 'patch-window',
          runbook: 'opsauto-PatchInstance',
          parameters: { Operation: 'Install' },
          targets: { parameter: 'InstanceId', tags: { 'Patch Group': 'qa' }, managedNodes: true },
          maxConcurrency: '20%',
          maxErrors: '10%',
          trigger: { maintenanceWindow: { schedule: 'cron(0 2 ? * TUE *)', timezone: 'Asia/Seoul', duration: '2h', cutoff: '30m' } },
        },
      ],
    }).automations;
    const scheduledTime = new Date('2027-01-04T17:00:00Z'); // Tuesday 02:00 in Seoul
    // Act
    const start = automationStart(automation, { kind: 'schedule', scheduledTime });
    // Assess
    expect(start).toEqual({
      documentName: 'opsauto-PatchInstance',
      parameters: { Operation: 'Install' },
      targets: [{ Key: 'tag:Patch Group', Values: ['qa'] }],
      targetParameterName: 'InstanceId',
      maxConcurrency: '20%',
      maxErrors: '10%',
      launchDeadline: '2027-01-04T18:30:00.000Z',
      targetNodes: 'managed',
      idempotencyKey: 'automation:patch-window:schedule:2027-01-04T17:00:00.000Z',
      triggeredBy: 'automation:patch-window',
    });
    expect(launchDeadline(automation.trigger, scheduledTime)?.toISOString()).toBe('2027-01-04T18:30:00.000Z');
  });
});
