import * as z from 'zod/mini';
import { mapBounded } from '../bounded-concurrency.js';
import type { Clock } from '../clock.js';
import type { OpsautoConfig } from '../config.js';
import { scheduledEvent } from '../events/eventbridge.js';
import type { ActivationIssuer, EnrollmentToken, Issuance, IssuanceChanges, IssuanceStore, ManagedNode, ManagedNodeDirectory, TokenStore } from './ports.js';

const DAY_MS = 86_400_000;
/** Activation ids per DescribeInstanceInformation query (its `ActivationIds` filter takes at most 100 values). */
export const ACTIVATION_IDS_PER_QUERY = 50;
/** Issuances (or stale nodes) worked on at a time: tags, deletions and records. */
const CONCURRENCY = 8;
/** Reports a summary lists; the rest are counted (every one goes to `onReport`). */
export const SUMMARY_MAX_REPORTS = 50;
/** Tag keys the issuer puts on activations and the sweep on nodes; `opsauto:token` marks nodes registered through opsauto. */
export const HOSTNAME_TAG = 'opsauto:hostname';
export const TOKEN_TAG = 'opsauto:token';

/** An activation whose life ended with no node registered: a server that did not finish its boot. */
export interface UnregisteredActivation {
  kind: 'unregistered-activation';
  activationId: string;
  hostname: string;
  sourceIp: string;
  tokenId: string;
  tokenName: string;
  issuedAt: string;
  expiresAt: string;
}

/** A node registered through opsauto that has not pinged for `staleNodeDays`. */
export interface StaleNode {
  kind: 'stale-node';
  nodeId: string;
  name?: string;
  activationId?: string;
  lastPingAt?: string;
  /** It was deregistered (`activations.deregisterStaleNodes`), else only reported. */
  deregistered: boolean;
}

export type SweepReport = UnregisteredActivation | StaleNode;

export interface ActivationSweepDeps {
  issuances: Pick<IssuanceStore, 'listOpen' | 'updateOnce'>;
  tokens: Pick<TokenStore, 'get'>;
  activations: Pick<ActivationIssuer, 'delete'>;
  nodes: ManagedNodeDirectory;
  config: Pick<OpsautoConfig['activations'], 'staleNodeDays' | 'deregisterStaleNodes'>;
  clock: Clock;
  /** Each report as it is made (the handler logs it); the summary keeps the first SUMMARY_MAX_REPORTS. */
  onReport?: (report: SweepReport) => void;
}

export interface ActivationSweepSummary {
  /** Issuances whose activation was not deleted before this run. */
  open: number;
  /** Nodes found registered with an open activation, tagged and recorded now. */
  registered: number;
  /** Activations deleted (expired, or used by their one registration). */
  deleted: number;
  /** Activations that expired with no node registered, reported now (each is reported once). */
  unregistered: UnregisteredActivation[];
  unregisteredCount: number;
  /** Nodes registered through opsauto not seen for `staleNodeDays` (reported every run while they stay stale). */
  staleNodes: StaleNode[];
  staleCount: number;
  deregistered: number;
  /** Issuances or nodes whose handling failed (`<id>: <error>`), at most 20; the sweep goes on with the others. */
  failures: string[];
  failed: number;
}

/**
 * The tags a registered node gets: the token's, then `opsauto:hostname` and `opsauto:token` (the token's name), as
 * its activation had them. A token no longer stored (it never is deleted, but a record may be lost) gives only the
 * last two.
 *
 * @example
 * nodeTags(issuance, token) // { env: 'onprem', 'opsauto:hostname': 'rack7-db-01', 'opsauto:token': 'rack-7' }
 */
export function nodeTags(issuance: Pick<Issuance, 'hostname' | 'tokenName'>, token: Pick<EnrollmentToken, 'tags'> | undefined): Record<string, string> {
  return { ...token?.tags, [HOSTNAME_TAG]: issuance.hostname, [TOKEN_TAG]: issuance.tokenName };
}

/** Whether a node's last ping (or, without one, its registration) is more than `days` before `now`. */
export function isStaleNode(node: Pick<ManagedNode, 'lastPingAt' | 'registeredAt'>, now: Date, days: number): boolean {
  const seen = node.lastPingAt ?? node.registeredAt;
  return seen !== undefined && Date.parse(seen) < now.getTime() - days * DAY_MS;
}

const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/**
 * The clean-up sweep (schedule `activations.sweepSchedule`), over the open issuances and the managed nodes:
 * 1. a node registered with an issuance's activation is tagged (`nodeTags`) and recorded on the issuance
 *    (managedNodeId, registeredAt);
 * 2. an activation that expired, or whose one registration is used, is deleted (DeleteActivation; the node stays
 *    registered) and the issuance records deletedAt: it is no longer open;
 * 3. an activation that expired with no node registered is reported once (hostname, source IP, token, issued and
 *    expiry times) and the issuance records unregisteredReportedAt;
 * 4. nodes carrying `opsauto:token` whose last ping is older than `staleNodeDays` are reported, and deregistered
 *    only when `deregisterStaleNodes` is set.
 * Nodes are looked up 50 activations per query; at most 8 issuances are handled at a time. An issuance or node whose
 * handling fails is counted in `failures` and the sweep goes on; a failing listing ends it (throws). Running it again
 * changes nothing more: what was recorded is not redone. Two runs at once make the (idempotent) effects twice but
 * count and report each once: only the run whose conditional write recorded an issuance's changes, or whose
 * DeregisterManagedInstance removed a node, counts it.
 *
 * @example
 * await sweepActivations({ issuances, tokens, activations, nodes, config: config.activations, clock, onReport: log })
 * // { open: 12, registered: 3, deleted: 5, unregisteredCount: 1, unregistered: [{ hostname: 'rack7-db-09', sourceIp: '10.0.4.9', … }], staleCount: 0, … }
 */
export async function sweepActivations(deps: ActivationSweepDeps): Promise<ActivationSweepSummary> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const summary: ActivationSweepSummary = { open: 0, registered: 0, deleted: 0, unregistered: [], unregisteredCount: 0, staleNodes: [], staleCount: 0, deregistered: 0, failures: [], failed: 0 };
  const fail = (id: string, e: unknown) => {
    summary.failed++;
    if (summary.failures.length < 20) summary.failures.push(`${id}: ${errorText(e)}`);
  };
  const tokens = new Map<string, Promise<EnrollmentToken | undefined>>();
  const tokenOf = (id: string) => {
    let token = tokens.get(id);
    if (!token) tokens.set(id, (token = deps.tokens.get(id)));
    return token;
  };

  const open = await deps.issuances.listOpen();
  summary.open = open.length;
  for (let i = 0; i < open.length; i += ACTIVATION_IDS_PER_QUERY) {
    const batch = open.slice(i, i + ACTIVATION_IDS_PER_QUERY);
    const lookup = batch.filter((x) => x.managedNodeId === undefined).map((x) => x.activationId);
    const byActivation = new Map<string, ManagedNode>();
    for (const node of lookup.length ? await deps.nodes.nodesOfActivations(lookup) : []) {
      if (node.activationId !== undefined && !byActivation.has(node.activationId)) byActivation.set(node.activationId, node);
    }
    await mapBounded(batch, CONCURRENCY, async (issuance) => {
      const changes: IssuanceChanges = {};
      let report: UnregisteredActivation | undefined;
      try {
        const node = issuance.managedNodeId === undefined ? byActivation.get(issuance.activationId) : undefined;
        if (node) {
          await deps.nodes.tag(node.id, nodeTags(issuance, await tokenOf(issuance.tokenId)));
          Object.assign(changes, { managedNodeId: node.id, registeredAt: node.registeredAt ?? at });
        }
        const used = node !== undefined || issuance.managedNodeId !== undefined;
        const expired = Date.parse(issuance.expiresAt) <= now.getTime();
        if (!used && expired && issuance.unregisteredReportedAt === undefined) {
          report = {
            kind: 'unregistered-activation',
            activationId: issuance.activationId,
            hostname: issuance.hostname,
            sourceIp: issuance.sourceIp,
            tokenId: issuance.tokenId,
            tokenName: issuance.tokenName,
            issuedAt: issuance.issuedAt,
            expiresAt: issuance.expiresAt,
          };
          changes.unregisteredReportedAt = at;
        }
        if (used || expired) {
          await deps.activations.delete(issuance.activationId);
          changes.deletedAt = at;
        }
      } catch (e) {
        fail(issuance.activationId, e);
      }
      // What was done is recorded even when a later step failed (a tagged node is not tagged again). The effects are
      // idempotent; the record is written once (a conditional write), and only the run that wrote it counts and
      // reports them: two sweeps at once count each node once between them.
      if (Object.keys(changes).length === 0) return;
      try {
        if (!(await deps.issuances.updateOnce(issuance.activationId, changes))) return;
      } catch (e) {
        fail(issuance.activationId, e);
        return;
      }
      if (changes.managedNodeId !== undefined) summary.registered++;
      if (changes.deletedAt !== undefined) summary.deleted++;
      if (report && changes.unregisteredReportedAt !== undefined) {
        summary.unregisteredCount++;
        if (summary.unregistered.length < SUMMARY_MAX_REPORTS) summary.unregistered.push(report);
        deps.onReport?.(report);
      }
    });
  }

  for await (const page of deps.nodes.nodesTagged(TOKEN_TAG)) {
    const stale = page.filter((n) => isStaleNode(n, now, deps.config.staleNodeDays));
    await mapBounded(stale, CONCURRENCY, async (node) => {
      let deregistered = false;
      if (deps.config.deregisterStaleNodes) {
        try {
          // False when another run (or a person) deregistered it first: counted by that run only.
          deregistered = await deps.nodes.deregister(node.id);
          if (deregistered) summary.deregistered++;
        } catch (e) {
          fail(node.id, e);
        }
      }
      const report: StaleNode = {
        kind: 'stale-node',
        nodeId: node.id,
        ...(node.name !== undefined ? { name: node.name } : {}),
        ...(node.activationId !== undefined ? { activationId: node.activationId } : {}),
        ...(node.lastPingAt !== undefined ? { lastPingAt: node.lastPingAt } : {}),
        deregistered,
      };
      summary.staleCount++;
      if (summary.staleNodes.length < SUMMARY_MAX_REPORTS) summary.staleNodes.push(report);
      deps.onReport?.(report);
    });
  }
  return summary;
}

/** What starts a sweep: its schedule, or a person invoking the function with `{}`. */
export const activationSweepInput = z.union([scheduledEvent, z.strictObject({})]);
export type ActivationSweepInput = z.infer<typeof activationSweepInput>;
