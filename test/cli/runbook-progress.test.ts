import type { Execution, ExecutionSummary } from '@opsauto/core';
import { describe, expect, it } from 'vitest';
import { progressLines } from '../../packages/cli/src/commands/runbook.js';

// What `runbook start --wait` prints at each look: only what changed, stamped with when it happened.

const parent = (over: Partial<Execution>): Execution =>
  ({
    executionId: 'parent-1',
    documentName: 'AWS-StopEC2Instance',
    status: 'InProgress',
    createdAt: '2026-12-03T10:00:00.000Z',
    startedAt: '2026-12-03T10:00:01.000Z',
    steps: [],
    rateControl: { targetParameterName: 'InstanceId', targets: ['i-1', 'i-2', 'i-3'], maxConcurrency: '2', maxErrors: '0', concurrencyLimit: 2, errorLimit: 0 },
    counters: { launched: 2, running: 2, succeeded: 0, failed: 0 },
    ...over,
  }) as Execution;
const child = (id: string, target: string, status: ExecutionSummary['status'], at: string): ExecutionSummary =>
  ({ executionId: id, documentName: 'AWS-StopEC2Instance', status, createdAt: at, startedAt: at, ...(status === 'Success' ? { endedAt: at } : {}), parentExecutionId: 'parent-1', target }) as ExecutionSummary;

describe('runbook start --wait progress', () => {
  it('tells the children counts and each child as they change, once each, and the end after the last child', () => {
    const seen = new Map<string, string>();
    const now = '2026-12-03T10:05:00.000Z';

    const first = progressLines(seen, parent({}), [child('c1', 'i-1', 'InProgress', '2026-12-03T10:00:02.000Z'), child('c2', 'i-2', 'InProgress', '2026-12-03T10:00:02.000Z')], now);
    const unchanged = progressLines(seen, parent({}), [child('c1', 'i-1', 'InProgress', '2026-12-03T10:00:02.000Z'), child('c2', 'i-2', 'InProgress', '2026-12-03T10:00:02.000Z')], now);
    const ended = progressLines(
      seen,
      parent({ status: 'Success', endedAt: '2026-12-03T10:03:00.000Z', counters: { launched: 3, running: 0, succeeded: 3, failed: 0 } }),
      [child('c1', 'i-1', 'Success', '2026-12-03T10:01:00.000Z'), child('c2', 'i-2', 'Success', '2026-12-03T10:01:30.000Z'), child('c3', 'i-3', 'Success', '2026-12-03T10:02:59.000Z')],
      now,
    );

    expect(first).toEqual([
      '2026-12-03T10:00:01Z  execution InProgress',
      '2026-12-03T10:05:00Z  children 2/3 launched, 2 running, 0 succeeded, 0 failed',
      '2026-12-03T10:00:02Z  child c1 (i-1) InProgress',
      '2026-12-03T10:00:02Z  child c2 (i-2) InProgress',
    ]);
    expect(unchanged).toEqual([]);
    expect(ended).toEqual([
      '2026-12-03T10:05:00Z  children 3/3 launched, 0 running, 3 succeeded, 0 failed',
      '2026-12-03T10:01:00Z  child c1 (i-1) Success',
      '2026-12-03T10:01:30Z  child c2 (i-2) Success',
      '2026-12-03T10:02:59Z  child c3 (i-3) Success',
      '2026-12-03T10:03:00Z  execution Success',
    ]);
  });

  it("tells a step's failure or what it waits for with its status", () => {
    const seen = new Map<string, string>();
    const ex = parent({
      rateControl: undefined,
      counters: undefined,
      status: 'Waiting',
      steps: [
        { name: 'check', action: 'aws:assertAwsResourceProperty', status: 'Failed', startedAt: '2026-12-03T10:00:02.000Z', endedAt: '2026-12-03T10:00:03.000Z', failureMessage: 'State is stopped, not running' },
        { name: 'gate', action: 'aws:approve', status: 'Waiting', startedAt: '2026-12-03T10:00:04.000Z' },
      ] as Execution['steps'],
    });
    expect(progressLines(seen, ex, [], '2026-12-03T10:05:00.000Z')).toEqual([
      '2026-12-03T10:00:01Z  execution Waiting',
      '2026-12-03T10:00:03Z  step check Failed: State is stopped, not running',
      '2026-12-03T10:00:04Z  step gate Waiting (waiting for approval)',
    ]);
  });
});
