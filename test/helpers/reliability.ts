import { DescribeActivationsCommand, DescribeOpsItemsCommand, GetParameterHistoryCommand, SSMClient, type OpsItemSummary } from '@aws-sdk/client-ssm';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AwsClients, DynamoExecutionStore, DynamoTokenStore } from '@opsauto/aws';
import { defineConfig, enrollmentToken, executionIdFor, type OpsautoConfig } from '@opsauto/core';
import { eventBusName, hybridNodeRoleName } from '@opsauto/functions';
import type { FaultRule } from '@opsauto/localcloud';
import { expect } from 'vitest';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { countInjected } from '../../bench/load-faults.js';
import { recordFigure } from './figures.js';
import { clientConfig } from './localcloud.js';

/**
 * The reliability suite's stage config: one region, every schedule daily or rarer (the runbook tick, the activation
 * sweep; the stale-volume scan is run by hand), so that moving the clock by days stays a few invocations a day.
 */
export function reliabilityConfig(): OpsautoConfig {
  return defineConfig({
    regions: ['us-east-1'],
    runbooks: { tickSchedule: 'rate(1 day)' },
    staleVolumes: { schedule: 'rate(1000 days)', thresholdDays: 1 },
    activations: { sweepSchedule: 'rate(1 day)' },
  });
}

/** An in-process local stage on the virtual clock, functions silent. */
export const startReliabilityStage = (config: OpsautoConfig = reliabilityConfig()): Promise<Stage> =>
  startStage({ config, port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });

/** Every fault of the suite at once, on every service: 20% throttling, 5% 5xx, `latencyMs` per call. */
export const everyFault = (latencyMs = 50) => [{ throttleRate: 0.2, errorRate: 0.05, latencyMs }];

/** One service answering every call with its 5xx error. */
export const serviceDown = (service: string) => [{ service, errorRate: 1 }];

/** AWS calls made and faults injected (throttles, 5xx) in one phase of a test. */
export interface PhaseFigures {
  calls: number;
  faults: number;
}

/**
 * Fault phases on a stage: `withFaults(phase, rules, act)` runs `act` with `rules` in force, clears them whatever
 * happens, records the phase's AWS calls and injected faults in `figures` (the README's reliability table), and
 * fails when no fault was injected (the phase would prove nothing).
 */
export function faultPhases(stage: Stage) {
  const figures: Record<string, PhaseFigures> = {};
  const injected = countInjected(stage);
  const totalCalls = () => Object.values(stage.cloud.calls.snapshot()).reduce((n, ops) => n + Object.values(ops).reduce((a, b) => a + b, 0), 0);

  async function withFaults<T>(phase: string, rules: FaultRule[], act: () => Promise<T>): Promise<T> {
    const calls = totalCalls();
    const before = injected();
    stage.cloud.faults.set(rules);
    let result: T;
    try {
      result = await act();
    } finally {
      stage.cloud.faults.set([]);
      figures[phase] = { calls: totalCalls() - calls, faults: injected() - before };
    }
    expect(figures[phase].faults, `${phase}: no fault was injected`).toBeGreaterThan(0);
    return result;
  }

  /** Records the phases' totals for the reliability table (recordFigure): their number unless told not to, faults, calls. */
  function recordTotals(file: string, { phases = true } = {}): void {
    const all = Object.values(figures);
    if (phases) recordFigure(file, 'phases', all.length);
    recordFigure(file, 'faults injected', all.reduce((n, p) => n + p.faults, 0));
    recordFigure(file, 'AWS calls under faults', all.reduce((n, p) => n + p.calls, 0));
  }
  return { figures, withFaults, recordTotals };
}

/** Both, as a test's helpers see it: clients for the test's own reads (fast retries), stores of opsauto's table. */
export function reliabilityClients(stage: Stage) {
  const aws = new AwsClients('us-east-1', clientConfig(stage.cloud));
  return {
    ssm: new SSMClient(clientConfig(stage.cloud)),
    events: new EventBridgeClient(clientConfig(stage.cloud)),
    executions: new DynamoExecutionStore(aws, stage.tableName, { clock: stage.cloud.clock }),
    tokens: new DynamoTokenStore(aws, stage.tableName),
  };
}

/** Makes an enrollment token as `opsauto tokens create` does; returns the bearer token and its id. */
export async function createToken(stage: Stage, tokens: DynamoTokenStore, name: string, maxUses: number): Promise<{ token: string; id: string }> {
  const { token, record } = enrollmentToken(
    { name, maxUses, tags: [] },
    { defaultRole: hybridNodeRoleName(stage.tableName), allowedRoles: [], maxUses: 10, expiresIn: '7d' },
    stage.cloud.clock.now(),
    'reliability-suite',
  );
  await tokens.create(record);
  return { token, id: record.id };
}

/** A booting server's `POST /activations`. */
export async function postActivation(stage: Stage, token: string, hostname: string, idempotencyKey: string) {
  const res = await fetch(`${stage.apiUrl}/activations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hostname, idempotencyKey }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, string> };
}

/** The hostnames of every activation in SSM (one entry per activation). */
export const activationHosts = async (ssm: SSMClient): Promise<string[]> =>
  ((await ssm.send(new DescribeActivationsCommand({}))).ActivationList ?? []).map((a) => a.DefaultInstanceName!).sort();

/** Asks the runbook worker for an execution on opsauto's bus; returns the execution's ID (from the key). */
export async function requestRunbook(stage: Stage, events: EventBridgeClient, detail: Record<string, unknown>, idempotencyKey: string): Promise<string> {
  const out = await events.send(
    new PutEventsCommand({ Entries: [{ Source: 'opsauto.runbooks', DetailType: 'Runbook Execution Requested', Detail: JSON.stringify({ ...detail, idempotencyKey }), EventBusName: eventBusName(stage.tableName) }] }),
  );
  if (out.FailedEntryCount) throw new Error(`PutEvents refused the request: ${JSON.stringify(out.Entries)}`);
  await stage.cloud.settle();
  return executionIdFor(idempotencyKey);
}

/** opsauto's OpsItems (Source opsauto), every page. */
export async function opsautoItems(ssm: SSMClient): Promise<OpsItemSummary[]> {
  const items: OpsItemSummary[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ssm.send(new DescribeOpsItemsCommand({ OpsItemFilters: [{ Key: 'Source', Values: ['opsauto'], Operator: 'Equal' }], NextToken }));
    items.push(...(page.OpsItemSummaries ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return items;
}

/** The values of a parameter's versions, oldest first. */
export async function parameterVersions(ssm: SSMClient, name: string): Promise<string[]> {
  return ((await ssm.send(new GetParameterHistoryCommand({ Name: name }))).Parameters ?? []).map((p) => p.Value!);
}

export interface SnsMessage {
  subject?: string;
  message: string;
}

/** What localcloud's SNS delivered to a topic. */
export const snsMessages = async (stage: Stage, topicArn: string): Promise<SnsMessage[]> =>
  (await (await fetch(`${stage.cloud.url}/_localcloud/sns/messages?topicArn=${encodeURIComponent(topicArn)}`)).json()) as SnsMessage[];

/** The notices about one parameter, as `[kind line, due]` pairs. */
export const noticesAbout = (messages: SnsMessage[], name: string): { subject?: string; due?: string }[] =>
  messages.filter((m) => m.message.startsWith(`Parameter: ${name}\n`)).map((m) => ({ subject: m.subject, due: /^Due: (.+)$/m.exec(m.message)?.[1] }));
