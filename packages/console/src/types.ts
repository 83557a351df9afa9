/** The shapes of the console's JSON API (docs/console-api.md); fields the page does not read are left out. */

export type Signal = 'approve' | 'deny' | 'resume' | 'cancel';

export interface Children {
  total: number;
  success: number;
  failed: number;
  running: number;
  pending: number;
  maxConcurrency: string | number;
  maxErrors: string | number;
  errorsLeft?: number;
}

export interface ExecutionSummary {
  executionId: string;
  runbook: string;
  status: string;
  startedAt: string;
  endedAt?: string;
  automation?: string;
  targets: string[];
  parentExecutionId?: string;
  waitingFor?: 'approval' | 'resume';
  actions: Signal[];
  children?: Children;
}

export interface Step {
  name: string;
  action: string;
  status: string;
  startedAt?: string;
  endedAt?: string;
  attempts: number;
  outputs?: Record<string, unknown>;
  error?: string;
}

export interface ExecutionDetail extends ExecutionSummary {
  steps: Step[];
  outputs?: Record<string, unknown>;
  failureMessage?: string;
  /** A rate-controlled parent's children (the first 100). */
  childExecutions?: ExecutionSummary[];
}

export interface NowResponse {
  stage: string;
  now: string;
  local: boolean;
  running: ExecutionSummary[];
  waiting: ExecutionSummary[];
  /** `count` is null in AWS (the API does not read the FailedInvocations queue), with a `note` saying so. */
  failures: { count: number | null; note?: string; items: { function: string; error: string; at: string }[] };
  /** `nextRun` is null for a schedule that never fires again. */
  automations: { name: string; kind: string; timezone: string; nextRun: string | null; nextRunLocal: string | null }[];
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

export interface StaleVolume {
  volumeId: string;
  accountId: string;
  region: string;
  sizeGiB: number;
  volumeType: string;
  state: string;
  daysUnattached: number;
  monthlyCostUsd: number;
  opsItemId?: string;
}

export interface SavingsPoint {
  date: string;
  monthlyWasteUsd: number;
  remediatedMonthlySavingsUsd: number;
  volumes: number;
}

export interface FindingsResponse {
  volumes: StaleVolume[];
  /** More volumes after these (`?nextToken=`). */
  volumesNextToken?: string;
  totals: { monthlyWasteUsd: number; remediatedMonthlySavingsUsd: number; volumes: number };
  history: SavingsPoint[];
}

export interface ImagesResponse {
  families: {
    family: string;
    regions: {
      region: string;
      parameter: string;
      current?: { imageId: string; publishedAt: string };
      history: { imageId: string; publishedAt: string; rolledBack?: boolean }[];
      warnings: string[];
    }[];
  }[];
}

export interface Deadline {
  name: string;
  kind: 'expiry' | 'reminder' | 'no-change';
  at: string;
}

export interface ParametersResponse {
  from: string;
  to: string;
  deadlines: Deadline[];
  deadlinesNextToken?: string;
  notifications: { name: string; kind: string; sentAt: string; escalated: boolean }[];
}

export interface ActivationsResponse {
  tokens: { id: string; name: string; maxUses: number; uses: number; expiresAt: string; revokedAt?: string; namePrefix?: string }[];
  issuances: {
    activationId: string;
    tokenId: string;
    hostname: string;
    issuedAt: string;
    expiresAt: string;
    managedNodeId?: string;
    registeredAt?: string;
    deletedAt?: string;
  }[];
  issuancesNextToken?: string;
  nodesRegistered: number;
  failedBoots: { at: string; sourceIp: string; reason: string }[];
}

export interface ClockResponse {
  now: string;
  offsetMs: number;
}

export interface FaultsResponse {
  rules: Record<string, unknown>[];
}
