/**
 * Load with faults on, shared by the benches (activation-api-faults, stale-scan-faults) and the reliability
 * suite (test/reliability/load.test.ts): booting servers that retry as `scripts/register-node.sh` does, and the
 * counts that prove nothing but a retryable 503 reached them and nothing was made twice.
 */
import { mulberry32 } from '../packages/localcloud/src/random.js';
import { paginateDescribeActivations, paginateDescribeOpsItems, type SSMClient } from '@aws-sdk/client-ssm';

/** What every fault phase of the suite injects on every service (issue 14, "Faults"). */
export const LOAD_FAULTS = [{ throttleRate: 0.2, errorRate: 0.05, latencyMs: 50 }];

/** A seeded PRNG (mulberry32, as localcloud's generated fleets): the jitter of a storm is replayable from its seed. */
export const seededRandom = mulberry32;

export interface BootStormOptions {
  apiUrl: string;
  /** The bearer enrollment token every server holds. */
  token: string;
  hostnames: string[];
  /** Servers booting at once (each its own connection). */
  concurrency: number;
  /** register-node.sh's OPSAUTO_MAX_ATTEMPTS (default 8). */
  maxAttempts?: number;
  /**
   * Milliseconds one second of the script's waits lasts here: 1000 waits as the script does; less scales its back-off
   * (OPSAUTO_RETRY_BASE_SECONDS 2, doubled up to 60) and the Retry-After it honours alike.
   */
  secondMs: number;
  seed: number;
}

export interface BootStormResult {
  servers: number;
  /** Every request made, retries included. */
  requests: number;
  byStatus: Record<string, number>;
  /** Answers other than 2xx or 503 with a numeric Retry-After (network errors included): must be 0. */
  unexpected: number;
  /** The first few unexpected answers (`<status> <error>`), for the failure message. */
  unexpectedSamples: string[];
  /** 503s that came without a numeric Retry-After (counted in `unexpected` too). */
  retryWithoutHint: number;
  /** Servers that got an activation, and those that gave up after maxAttempts. */
  booted: number;
  gaveUp: number;
  maxAttemptsUsed: number;
  wallMs: number;
  /** hostname -> the activation id its server was given. */
  activations: Map<string, string>;
}

/**
 * `hostnames.length` servers, `concurrency` at a time, each POSTing `/activations` with its hostname and a key of its
 * own (`machine-<hostname>`), retrying 429, 5xx and network errors as register-node.sh does: back-off from 2 s doubled
 * up to 60 s with jitter, a numeric Retry-After honoured when longer, the same key every time.
 *
 * @example
 * const r = await bootStorm({ apiUrl: stage.apiUrl, token, hostnames, concurrency: 50, secondMs: 10, seed: 1414 });
 * // r.unexpected === 0, r.booted === hostnames.length
 */
export async function bootStorm(o: BootStormOptions): Promise<BootStormResult> {
  const random = seededRandom(o.seed);
  const maxAttempts = o.maxAttempts ?? 8;
  const result: BootStormResult = { servers: o.hostnames.length, requests: 0, byStatus: {}, unexpected: 0, unexpectedSamples: [], retryWithoutHint: 0, booted: 0, gaveUp: 0, maxAttemptsUsed: 0, wallMs: 0, activations: new Map() };
  const unexpected = (what: string) => {
    result.unexpected++;
    if (result.unexpectedSamples.length < 10) result.unexpectedSamples.push(what);
  };
  const boot = async (hostname: string) => {
    let delay = 2;
    for (let attempt = 1; ; attempt++) {
      result.requests++;
      result.maxAttemptsUsed = Math.max(result.maxAttemptsUsed, attempt);
      let status = 0;
      let retryAfter: string | null = null;
      let body: Record<string, unknown> = {};
      try {
        const res = await fetch(`${o.apiUrl}/activations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json', 'user-agent': 'opsauto-register-node/1 (load)' },
          body: JSON.stringify({ hostname, idempotencyKey: `machine-${hostname}` }),
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      } catch (e) {
        unexpected(`network ${(e as Error).name}`);
      }
      result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
      if (status >= 200 && status < 300) {
        result.booted++;
        result.activations.set(hostname, String(body.activationId));
        return;
      }
      const hinted = retryAfter !== null && /^\d+$/.test(retryAfter);
      if (status === 503 && !hinted) result.retryWithoutHint++;
      if (status !== 0 && !(status === 503 && hinted)) unexpected(`${status} ${JSON.stringify(body.error ?? body.message ?? '')}`);
      // What register-node.sh does: 429, 5xx and no answer are retried; anything else ends the boot (exit 3).
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable || attempt >= maxAttempts) {
        result.gaveUp++;
        return;
      }
      let wait = Math.floor(delay / 2) + Math.floor(random() * (delay - Math.floor(delay / 2) + 1));
      if (hinted && Number(retryAfter) > wait) wait = Number(retryAfter);
      wait = Math.min(wait, 60);
      await new Promise((resolve) => setTimeout(resolve, wait * o.secondMs));
      delay = Math.min(delay * 2, 60);
    }
  };
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency, o.hostnames.length) }, async () => {
      while (next < o.hostnames.length) await boot(o.hostnames[next++]);
    }),
  );
  result.wallMs = Math.round(performance.now() - t0);
  return result;
}

/** The live activations whose instance name starts with `prefix`, by hostname (DescribeActivations, every page). */
export async function liveActivations(ssm: SSMClient, prefix: string): Promise<Map<string, string[]>> {
  const byHost = new Map<string, string[]>();
  for await (const page of paginateDescribeActivations({ client: ssm, pageSize: 50 }, {})) {
    for (const a of page.ActivationList ?? []) {
      if (!a.DefaultInstanceName?.startsWith(prefix)) continue;
      byHost.set(a.DefaultInstanceName, [...(byHost.get(a.DefaultInstanceName) ?? []), a.ActivationId!]);
    }
  }
  return byHost;
}

/**
 * What a storm left behind, checked against what its servers were given: hostnames with more than one live
 * activation (duplicates), servers whose activation is not the live one of their hostname (a withdrawn one, or none).
 */
export function activationChecks(storm: BootStormResult, live: Map<string, string[]>): { live: number; duplicates: number; stale: number } {
  let stale = 0;
  for (const [host, id] of storm.activations) if (!(live.get(host) ?? []).includes(id)) stale++;
  const counts = [...live.values()].map((ids) => ids.length);
  return { live: counts.reduce((a, b) => a + b, 0), duplicates: counts.filter((n) => n > 1).length, stale };
}

/** opsauto's OpsItems (Source opsauto) per volume ID (from their titles), every page. */
export async function opsItemsPerVolume(ssm: SSMClient): Promise<Map<string, number>> {
  const perVolume = new Map<string, number>();
  for await (const page of paginateDescribeOpsItems({ client: ssm, pageSize: 50 }, { OpsItemFilters: [{ Key: 'Source', Values: ['opsauto'], Operator: 'Equal' }] })) {
    for (const item of page.OpsItemSummaries ?? []) {
      const volume = /vol-[0-9a-f]+/.exec(item.Title ?? '')?.[0] ?? `(untitled ${item.OpsItemId})`;
      perVolume.set(volume, (perVolume.get(volume) ?? 0) + 1);
    }
  }
  return perVolume;
}

/** Counts the faults localcloud injects from now on (a fault thrown is an error answered). */
export function countInjected(stage: { cloud: { faults: { apply: (service: string, operation: string) => Promise<void> } } }): () => number {
  let injected = 0;
  const faults = stage.cloud.faults;
  const apply = faults.apply.bind(faults);
  faults.apply = async (service, operation) => {
    try {
      await apply(service, operation);
    } catch (e) {
      injected++;
      throw e;
    }
  };
  return () => injected;
}
