/**
 * AWS Config rule compliance, as far as the jobs see it: results per rule and resource, kept in the persisted state,
 * and the `Config Rules Compliance Change` event that AWS Config sends to the default bus when a result changes.
 * localcloud does not evaluate rules: results are set from outside (the control API), which is how a test makes a
 * resource go NON_COMPLIANT.
 *
 * The event's detail is the SNS notification's Message (see
 * https://docs.aws.amazon.com/config/latest/developerguide/example-config-rule-compliance-notification.html):
 * on EventBridge the same fields sit under `detail`.
 */
import type { BusEvent } from './bus.js';
import type { Runtime } from './services/filters.js';
import type { Store } from './store.js';

export const COMPLIANCE_TYPES = ['COMPLIANT', 'NON_COMPLIANT', 'NOT_APPLICABLE', 'INSUFFICIENT_DATA'] as const;
export type ComplianceType = (typeof COMPLIANCE_TYPES)[number];

/** One evaluation result to record. */
export interface ComplianceResult {
  configRuleName: string;
  /** e.g. `AWS::EC2::Volume`, `AWS::::Account`. */
  resourceType: string;
  resourceId: string;
  complianceType: ComplianceType;
  annotation?: string;
  /** Default: the emulator's default account and region. */
  account?: string;
  region?: string;
}

/** An evaluation result as AWS Config reports it (`newEvaluationResult` / `oldEvaluationResult`). */
export interface EvaluationResult {
  evaluationResultIdentifier: {
    evaluationResultQualifier: { configRuleName: string; resourceType: string; resourceId: string };
    orderingTimestamp: string;
  };
  complianceType: ComplianceType;
  resultRecordedTime: string;
  configRuleInvokedTime: string;
  annotation: string | null;
  resultToken: string | null;
}

interface ConfigState {
  /** Config rule id (the `config-rule-xxxxxx` of its ARN) by rule name. */
  ruleIds: Record<string, string>;
  /** Latest result by `rule|resourceType|resourceId`. */
  results: Record<string, EvaluationResult>;
}

export class ComplianceInputError extends Error {
  override name = 'ComplianceInputError';
}

const configState = (store: Store, account: string, region: string) => store.scope<ConfigState>('config', account, region, () => ({ ruleIds: {}, results: {} }));

/**
 * Reads the control API's body: one result, or `{ "results": [...] }`, each with configRuleName, resourceType,
 * resourceId and complianceType (annotation, account, region optional). Throws ComplianceInputError naming the
 * field that is wrong.
 */
export function parseComplianceResults(body: unknown): ComplianceResult[] {
  const list = Array.isArray((body as { results?: unknown })?.results) ? (body as { results: unknown[] }).results : [body];
  return list.map((item, i) => {
    if (typeof item !== 'object' || item === null) throw new ComplianceInputError(`result ${i} must be an object`);
    const r = item as Record<string, unknown>;
    for (const key of ['configRuleName', 'resourceType', 'resourceId'] as const) {
      if (typeof r[key] !== 'string' || r[key] === '') throw new ComplianceInputError(`result ${i}: ${key} must be a non-empty string`);
    }
    if (!COMPLIANCE_TYPES.includes(r.complianceType as ComplianceType)) {
      throw new ComplianceInputError(`result ${i}: complianceType must be one of ${COMPLIANCE_TYPES.join(', ')}`);
    }
    for (const key of ['annotation', 'account', 'region'] as const) {
      if (r[key] !== undefined && typeof r[key] !== 'string') throw new ComplianceInputError(`result ${i}: ${key} must be a string`);
    }
    if (r.account !== undefined && !/^\d{12}$/.test(r.account as string)) throw new ComplianceInputError(`result ${i}: account must be 12 digits`);
    return r as unknown as ComplianceResult;
  });
}

/**
 * Records compliance results. With `notify` (the default), each result whose compliance type differs from the one
 * recorded before, including a resource's first result, emits `Config Rules Compliance Change` (source
 * `aws.config`) on the bus, as AWS Config does; without it the results are only recorded (seeding a starting
 * point). Returns the events emitted.
 *
 * @example
 * recordCompliance(rt, [{ configRuleName: 'encrypted-volumes', resourceType: 'AWS::EC2::Volume',
 *   resourceId: 'vol-0123', complianceType: 'NON_COMPLIANT' }], { account: '000000000000', region: 'us-east-1' });
 */
export function recordCompliance(
  rt: Runtime,
  results: ComplianceResult[],
  defaults: { account: string; region: string },
  options: { notify?: boolean } = {},
): BusEvent[] {
  const emitted: BusEvent[] = [];
  for (const result of results) {
    const account = result.account ?? defaults.account;
    const region = result.region ?? defaults.region;
    const state = configState(rt.store, account, region);
    const key = `${result.configRuleName}|${result.resourceType}|${result.resourceId}`;
    const old = state.results[key];
    const now = rt.clock.now().toISOString();
    const evaluation: EvaluationResult = {
      evaluationResultIdentifier: {
        evaluationResultQualifier: { configRuleName: result.configRuleName, resourceType: result.resourceType, resourceId: result.resourceId },
        orderingTimestamp: now,
      },
      complianceType: result.complianceType,
      resultRecordedTime: now,
      configRuleInvokedTime: now,
      annotation: result.annotation ?? null,
      resultToken: null,
    };
    state.results[key] = evaluation;
    const ruleId = (state.ruleIds[result.configRuleName] ??= `config-rule-${ruleIdSuffix(result.configRuleName)}`);
    if (options.notify === false || old?.complianceType === result.complianceType) continue;
    emitted.push(
      rt.bus.publish({
        source: 'aws.config',
        detailType: 'Config Rules Compliance Change',
        detail: {
          resourceId: result.resourceId,
          awsRegion: region,
          awsAccountId: account,
          configRuleName: result.configRuleName,
          recordVersion: '1.0',
          configRuleARN: `arn:aws:config:${region}:${account}:config-rule/${ruleId}`,
          messageType: 'ComplianceChangeNotification',
          newEvaluationResult: evaluation,
          ...(old ? { oldEvaluationResult: old } : {}),
          notificationCreationTime: now,
          resourceType: result.resourceType,
        },
        resources: [],
        account,
        region,
      }),
    );
  }
  rt.store.changed();
  return emitted;
}

/** Every recorded result, for the control API's GET. */
export function listCompliance(store: Store): (EvaluationResult & { account: string; region: string })[] {
  return store.all<ConfigState>('config').flatMap(({ account, region, state }) => Object.values(state.results).map((r) => ({ ...r, account, region })));
}

/** Six lower-case letters and digits derived from the rule name, the shape of AWS Config's rule ids. */
function ruleIdSuffix(name: string): string {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h.toString(36).padStart(6, '0').slice(-6);
}
