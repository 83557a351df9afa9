import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { listCompliance, parseComplianceResults, recordCompliance, type ComplianceResult } from '../../packages/localcloud/src/config-rules.js';
import { startTestCloud } from '../helpers/localcloud.js';

const DEFAULTS = { account: '000000000000', region: 'us-east-1' };
const volume = (complianceType: ComplianceResult['complianceType']): ComplianceResult => ({
  configRuleName: 'encrypted-volumes',
  resourceType: 'AWS::EC2::Volume',
  resourceId: 'vol-0123456789abcdef0',
  complianceType,
});

describe('localcloud AWS Config compliance', () => {
  let cloud: Localcloud;
  const rt = () => ({ clock: cloud.clock, store: cloud.store, bus: cloud.bus });
  const changes = () => cloud.bus.recent.filter((e) => e['detail-type'] === 'Config Rules Compliance Change');

  beforeEach(async () => {
    cloud = await startTestCloud();
  });
  afterEach(async () => {
    await cloud.stop();
  });

  it('seeds results without events, then emits a change event with old and new results when one flips', () => {
    recordCompliance(rt(), [volume('COMPLIANT')], DEFAULTS, { notify: false });
    expect(changes()).toHaveLength(0);

    const [event] = recordCompliance(rt(), [volume('NON_COMPLIANT')], DEFAULTS);

    expect(changes()).toHaveLength(1);
    expect(event).toMatchObject({ source: 'aws.config', 'detail-type': 'Config Rules Compliance Change', account: '000000000000', region: 'us-east-1', resources: [] });
    expect(event?.detail).toMatchObject({
      resourceId: 'vol-0123456789abcdef0',
      resourceType: 'AWS::EC2::Volume',
      awsRegion: 'us-east-1',
      awsAccountId: '000000000000',
      configRuleName: 'encrypted-volumes',
      messageType: 'ComplianceChangeNotification',
      recordVersion: '1.0',
      newEvaluationResult: { complianceType: 'NON_COMPLIANT', evaluationResultIdentifier: { evaluationResultQualifier: { configRuleName: 'encrypted-volumes', resourceId: 'vol-0123456789abcdef0' } } },
      oldEvaluationResult: { complianceType: 'COMPLIANT' },
    });
    expect((event?.detail as { configRuleARN: string }).configRuleARN).toMatch(/^arn:aws:config:us-east-1:000000000000:config-rule\/config-rule-[a-z0-9]{6}$/);
  });

  it('has the fields of the documented notification, under detail', () => {
    // The fields of the Message of AWS's documented sample (awsdocs/aws-config-developer-guide,
    // doc_source/example-config-rule-compliance-notification.md, SNS form): EventBridge carries them as detail.
    const documented = ['awsAccountId', 'awsRegion', 'configRuleARN', 'configRuleName', 'messageType', 'newEvaluationResult', 'notificationCreationTime', 'oldEvaluationResult', 'recordVersion', 'resourceId', 'resourceType'];
    const documentedResult = ['annotation', 'complianceType', 'configRuleInvokedTime', 'evaluationResultIdentifier', 'resultRecordedTime', 'resultToken'];
    recordCompliance(rt(), [volume('COMPLIANT')], DEFAULTS, { notify: false });
    const [event] = recordCompliance(rt(), [volume('NON_COMPLIANT')], DEFAULTS);
    const detail = event?.detail as Record<string, unknown> & { newEvaluationResult: Record<string, unknown> };

    expect(Object.keys(detail).sort()).toEqual(documented);
    expect(Object.keys(detail.newEvaluationResult).sort()).toEqual(documentedResult);
  });

  it('emits nothing when a result is recorded again unchanged', () => {
    recordCompliance(rt(), [volume('NON_COMPLIANT')], DEFAULTS);
    recordCompliance(rt(), [volume('NON_COMPLIANT')], DEFAULTS);
    expect(changes()).toHaveLength(1);
    expect(changes()[0]?.detail).not.toHaveProperty('oldEvaluationResult');
  });

  it('delivers the change to a rule that matches non-compliant results', async () => {
    const seen: unknown[] = [];
    cloud.lambda.register({ name: 'on-noncompliant', handler: (e) => Promise.resolve(void seen.push(e)) });
    cloud.bus.putRule({
      name: 'noncompliant',
      pattern: { source: ['aws.config'], 'detail-type': ['Config Rules Compliance Change'], detail: { newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } } },
      targets: ['on-noncompliant'],
    });

    recordCompliance(rt(), [volume('NON_COMPLIANT')], DEFAULTS);
    recordCompliance(rt(), [volume('COMPLIANT')], DEFAULTS);
    await cloud.settle();

    expect(seen).toHaveLength(1);
  });

  it('keeps results per account and region, and lists them', () => {
    recordCompliance(rt(), [{ ...volume('NON_COMPLIANT'), account: '111122223333', region: 'eu-west-1' }], DEFAULTS);
    recordCompliance(rt(), [volume('COMPLIANT')], DEFAULTS, { notify: false });

    expect(changes()[0]).toMatchObject({ account: '111122223333', region: 'eu-west-1' });
    expect(listCompliance(cloud.store).map((r) => [r.account, r.region, r.complianceType])).toEqual([
      ['111122223333', 'eu-west-1', 'NON_COMPLIANT'],
      ['000000000000', 'us-east-1', 'COMPLIANT'],
    ]);
  });

  it('reads one result or a list from the control API body, and names what is wrong', () => {
    expect(parseComplianceResults(volume('COMPLIANT'))).toHaveLength(1);
    expect(parseComplianceResults({ results: [volume('COMPLIANT'), volume('NOT_APPLICABLE')] })).toHaveLength(2);
    expect(() => parseComplianceResults({ ...volume('COMPLIANT'), complianceType: 'GREEN' })).toThrow('complianceType must be one of COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, INSUFFICIENT_DATA');
    expect(() => parseComplianceResults({ results: [{ resourceType: 'AWS::EC2::Volume' }] })).toThrow('result 0: configRuleName must be a non-empty string');
    expect(() => parseComplianceResults({ ...volume('COMPLIANT'), account: '12' })).toThrow('account must be 12 digits');
  });
});
