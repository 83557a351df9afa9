import { activationsView, childrenView, consoleActions, executionView, findingsHistory, findingsTotals, matchesFilters, pageOf, remediatedSavings, type EnrollmentToken, type Execution, type Issuance, type ScanRunSummary, type StepExecution } from '@opsauto/core';
import { describe, expect, it } from 'vitest';
import { groupsOf } from '../../../packages/functions/src/console-auth.js';

function execution(overrides: Partial<Execution> = {}): Execution {
  return {
    executionId: 'e-1',
    documentName: 'AWS-StopEC2Instance',
    runbook: { schemaVersion: '0.3', parameters: {}, mainSteps: [], outputs: [], warnings: [] },
    parameters: {},
    status: 'InProgress',
    accountId: '123456789012',
    region: 'us-east-1',
    createdAt: '2027-01-04T00:00:00.000Z',
    steps: [],
    triggeredBy: 'automation:office-hours-stop',
    version: 1,
    ...overrides,
  };
}
const waitingAt = (action: string): Partial<Execution> => {
  const step: StepExecution = { name: 'gate', action, status: 'Waiting', attempt: 1, inputs: { Approvers: ['alice'] } };
  return { status: 'Waiting', currentStep: 'gate', steps: [step] };
};

describe('console views', () => {
  it('offers approve, deny and cancel at an aws:approve step, resume and cancel at an aws:pause step, nothing to a reader or after the end', () => {
    expect(consoleActions(execution(waitingAt('aws:approve')), true)).toEqual(['approve', 'deny', 'cancel']);
    expect(consoleActions(execution(waitingAt('aws:pause')), true)).toEqual(['resume', 'cancel']);
    expect(consoleActions(execution(waitingAt('aws:approve')), false)).toEqual([]);
    expect(consoleActions(execution({ status: 'Cancelling' }), true)).toEqual([]);
    expect(consoleActions(execution({ status: 'Success' }), true)).toEqual([]);
  });

  it("counts a rate-controlled parent's children against MaxErrors", () => {
    const parent = execution({
      rateControl: { targetParameterName: 'InstanceId', targets: ['i-1', 'i-2', 'i-3', 'i-4'], maxConcurrency: '2', maxErrors: '1', concurrencyLimit: 2, errorLimit: 1 },
      counters: { launched: 3, running: 1, succeeded: 1, failed: 1 },
    });

    expect(childrenView(parent)).toEqual({ total: 4, success: 1, failed: 1, running: 1, pending: 1, maxConcurrency: '2', maxErrors: '1', errorsLeft: 0 });
    expect(executionView(parent, true)).toMatchObject({ automation: 'office-hours-stop', targets: ['i-1', 'i-2', 'i-3', 'i-4'], actions: ['cancel'] });
    expect(childrenView(execution())).toBeUndefined();
  });

  it('filters by status, runbook, automation and target together', () => {
    const child = execution({ target: 'i-1', status: 'Failed' });

    expect(matchesFilters(child, { status: 'Failed', automation: 'office-hours-stop', target: 'i-1', runbook: 'AWS-StopEC2Instance' })).toBe(true);
    expect(matchesFilters(child, { automation: 'office-hours' })).toBe(false);
    expect(matchesFilters(child, { target: 'i-2' })).toBe(false);
  });

  it("keeps one history point per scan day, its last run's, oldest first, without dry runs", () => {
    const run = (startedAt: string, stale: number, dryRun = false): ScanRunSummary => ({
      runId: startedAt,
      startedAt,
      finishedAt: startedAt,
      dryRun,
      regions: [],
      totals: { scanned: 0, newlyUnattached: 0, stale, filed: 0, alreadyFiled: 0, resolved: 0, skippedByTag: 0, leftForNextRun: 0, errors: 0 },
    });
    const volumes = [{ volumeId: 'vol-1', unattachedSince: '2027-01-01T00:00:00.000Z', monthlyCostUsd: 8 }];

    const history = findingsHistory([run('2027-01-03T06:00:00.000Z', 1), run('2027-01-02T06:00:00.000Z', 0), run('2027-01-03T09:00:00.000Z', 5, true), run('2027-01-02T18:00:00.000Z', 0)], volumes, 2);

    expect(history).toEqual([
      { date: '2027-01-02', monthlyWasteUsd: 0, remediatedMonthlySavingsUsd: 0, volumes: 0 },
      { date: '2027-01-03', monthlyWasteUsd: 8, remediatedMonthlySavingsUsd: 0, volumes: 1 },
    ]);
  });

  it('sums what remediation saved over the runs, cumulative in the history, without dry runs or runs stored before it was counted', () => {
    const run = (startedAt: string, saved: number | undefined, dryRun = false): ScanRunSummary => ({
      runId: startedAt,
      startedAt,
      finishedAt: startedAt,
      dryRun,
      regions: [],
      totals: { scanned: 0, newlyUnattached: 0, stale: 0, filed: 0, alreadyFiled: 0, resolved: saved ? 1 : 0, ...(saved !== undefined ? { resolvedMonthlyCostUsd: saved } : {}), skippedByTag: 0, leftForNextRun: 0, errors: 0 },
    });
    const runs = [run('2027-01-04T06:00:00.000Z', 77.5), run('2027-01-03T18:00:00.000Z', 0.1), run('2027-01-03T06:00:00.000Z', 50), run('2027-01-03T09:00:00.000Z', 999, true), run('2027-01-02T06:00:00.000Z', undefined)];

    expect(remediatedSavings(runs)).toBe(127.6);
    expect(findingsTotals([], remediatedSavings(runs))).toEqual({ monthlyWasteUsd: 0, remediatedMonthlySavingsUsd: 127.6, volumes: 0 });
    expect(findingsHistory(runs, [], 45).map((p) => [p.date, p.remediatedMonthlySavingsUsd])).toEqual([
      ['2027-01-02', 0],
      ['2027-01-03', 50.1],
      ['2027-01-04', 127.6],
    ]);
  });

  it('shows tokens without their hash and counts failed boots and registered nodes', () => {
    const token: EnrollmentToken = { id: 'tok_aaaaaaaaaaaaaaaa', name: 'rack', secretHash: 'f'.repeat(64), iamRole: 'r', tags: {}, maxUses: 2, uses: 2, createdAt: 'c', createdBy: 'cli', expiresAt: 'x' };
    const issued = (hostname: string, extra: Partial<Issuance>): Issuance => ({ activationId: `act-${hostname}`, tokenId: token.id, tokenName: 'rack', hostname, instanceName: hostname, region: 'us-east-1', expiresAt: 'e', issuedAt: 'i', sourceIp: '10.0.0.1', userAgent: 'u', ...extra });

    const view = activationsView([token], [issued('a', { managedNodeId: 'mi-1' }), issued('b', { unregisteredReportedAt: '2027-01-02T00:00:00.000Z' })]);

    expect(JSON.stringify(view)).not.toContain('f'.repeat(64));
    expect(view.nodesRegistered).toBe(1);
    expect(view.failedBoots).toEqual([{ at: '2027-01-02T00:00:00.000Z', sourceIp: '10.0.0.1', hostname: 'b', reason: expect.stringContaining('act-b') }]);
  });

  it("reads Cognito's groups claim as an array or as API Gateway's bracketed string", () => {
    expect(groupsOf(['operators'])).toEqual(['operators']);
    expect(groupsOf('[operators readers]')).toEqual(['operators', 'readers']);
    expect(groupsOf('readers')).toEqual(['readers']);
    expect(groupsOf(undefined)).toEqual([]);
  });

  it('pages a sorted list with an opaque nextToken, none on the last page; a garbage or stale token is a ValidationError naming query.nextToken', () => {
    const list = ['a', 'b', 'c', 'd', 'e'];
    const key = (s: string) => s;

    const first = pageOf(list, { limit: '2' }, key);
    const second = pageOf(list, { limit: '2', nextToken: first.nextToken }, key);
    const last = pageOf(list, { limit: '2', nextToken: second.nextToken }, key);

    expect(first).toEqual({ items: ['a', 'b'], nextToken: expect.any(String) });
    expect(first.nextToken).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(second).toEqual({ items: ['c', 'd'], nextToken: expect.any(String) });
    expect(last).toEqual({ items: ['e'] });
    expect(pageOf(list, {}, key)).toEqual({ items: list });
    expect(pageOf(list, { limit: '5' }, key)).toEqual({ items: list });
    expect(pageOf([], { limit: '1' }, key)).toEqual({ items: [] });
    const refused = (nextToken: string, items = list) => {
      try {
        pageOf(items, { limit: '2', nextToken }, key);
      } catch (e) {
        return { name: (e as Error).name, message: (e as Error).message, field: (e as { field?: string }).field };
      }
      return undefined;
    };
    // The list changed at the token's place (an item inserted before it), or shrank below it.
    expect(refused(second.nextToken!, ['a', 'a2', 'b', 'c', 'd', 'e'])).toEqual({ name: 'ValidationError', field: 'query.nextToken', message: expect.stringContaining('is stale') });
    expect(refused(second.nextToken!, ['a', 'b'])).toMatchObject({ field: 'query.nextToken', message: expect.stringContaining('is stale') });
    for (const garbage of ['garbage', Buffer.from('{"o":-1,"k":"x"}').toString('base64url'), Buffer.from('null').toString('base64url'), Buffer.from('{"o":1.5,"k":"x"}').toString('base64url')]) {
      expect(refused(garbage)).toMatchObject({ name: 'ValidationError', field: 'query.nextToken', message: expect.stringContaining('is not a token this API gave') });
    }
  });
});
