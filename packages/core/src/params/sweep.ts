import { mapBounded } from '../bounded-concurrency.js';
import type { Clock } from '../clock.js';
import type { OpsautoConfig } from '../config.js';
import * as z from 'zod/mini';
import { scheduledEvent } from '../events/eventbridge.js';
import { dueDeadlines, parameterDeadlines, upcomingDeadlines, type Deadline, type DeadlineOptions, type ParameterSummary } from './deadlines.js';
import { parseSpan } from './policy.js';
import type { NoticePublisher, NoticeStore, ParameterCatalog, SendNotice } from './ports.js';

type ExpiryConfig = OpsautoConfig['parameterExpiry'];
type Filter = { key: string; option?: string; values?: string[] };

const DAY_MS = 86_400_000;
/** Parameters of one page worked on at a time (tags read, notices sent). */
const PAGE_CONCURRENCY = 8;
/** Lines a digest lists (the soonest); the rest are counted. Bounds the sweep's memory and the SNS message. */
export const DIGEST_MAX_ENTRIES = 50;
/** How long a digest claim is kept: longer than Lambda retries or redelivers a scheduled event. */
const DIGEST_CLAIM_MS = 7 * DAY_MS;
/** Owner of parameters that carry none of the owner tags, in digests and `params expiring`. */
export const NO_OWNER = '(no owner)';

/**
 * The DescribeParameters queries of a sweep, each streamed page by page:
 * 1. `Tier` Equals `Advanced`: only advanced parameters can carry policies.
 * 2. `tag:<expiryTag>` with no values: every parameter carrying the expiry tag, whatever its value (the
 *    ParameterStringFilter key pattern is `tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType` and `Values` is optional;
 *    there is no `tag-key` filter as EC2 has).
 * Both are narrowed to `paths` with a `Path` Recursive filter unless `/` (every parameter) is configured.
 *
 * @example
 * sweepQueries({ ...config.parameterExpiry, paths: ['/app/'] })
 * // [[{ key: 'Tier', option: 'Equals', values: ['Advanced'] }, { key: 'Path', option: 'Recursive', values: ['/app'] }],
 * //  [{ key: 'tag:opsauto:expires-at' }, { key: 'Path', option: 'Recursive', values: ['/app'] }]]
 */
export function sweepQueries(config: Pick<ExpiryConfig, 'expiryTag' | 'paths'>): { policies: Filter[]; tagged: Filter[] } {
  const everywhere = config.paths.some((p) => p === '/');
  // `/app/` and `/app` are the same hierarchy; the filter takes it without the trailing slash.
  const paths = [...new Set(config.paths.map((p) => p.replace(/\/+$/, '')))];
  const path: Filter[] = everywhere ? [] : [{ key: 'Path', option: 'Recursive', values: paths }];
  return {
    policies: [{ key: 'Tier', option: 'Equals', values: ['Advanced'] }, ...path],
    tagged: [{ key: `tag:${config.expiryTag}` }, ...path],
  };
}

/** The first of `ownerTags` a parameter carries names its owner. */
export function parameterOwner(tags: Record<string, string> | undefined, ownerTags: readonly string[]): string {
  for (const t of ownerTags) {
    const v = tags?.[t]?.trim();
    if (v) return v;
  }
  return NO_OWNER;
}

/**
 * The config's deadline options: the expiry tag, and its reminders as spans (the config holds them as text).
 *
 * @throws ValidationError naming `parameterExpiry.tagReminders.<i>` for a span of zero.
 * @example
 * deadlineOptions(defineConfig({}).parameterExpiry)
 * // { expiryTag: 'opsauto:expires-at', tagReminders: [{ amount: 15, unit: 'Days' }, { amount: 1, unit: 'Days' }] }
 */
export function deadlineOptions(config: Pick<ExpiryConfig, 'expiryTag' | 'tagReminders'>): DeadlineOptions {
  return { expiryTag: config.expiryTag, tagReminders: config.tagReminders.map((s, i) => parseSpan(s, `parameterExpiry.tagReminders.${i}`)) };
}

/** A parameter that has deadlines, with its tags (read once) and its deadlines. */
interface WithDeadlines {
  parameter: ParameterSummary;
  deadlines: Deadline[];
}

/**
 * Streams every parameter in scope that has deadlines, page by page (one page held at a time): advanced ones with
 * policies, then those carrying the expiry tag. Tags are read (ListTagsForResource) only for a parameter that has
 * deadlines: one whose policies ask for some, or one the tag query listed. An advanced parameter with policies is
 * handled by the first query only (its tags are read there, so its expiry tag counts too).
 * `onListed` counts the parameters DescribeParameters returned.
 */
async function* parametersWithDeadlines(catalog: ParameterCatalog, config: ExpiryConfig, onListed: (n: number) => void): AsyncGenerator<WithDeadlines[]> {
  const options = deadlineOptions(config);
  const queries = sweepQueries(config);
  const withTags = async (p: ParameterSummary): Promise<WithDeadlines | undefined> => {
    const parameter = { ...p, tags: await catalog.tags(p.name) };
    const deadlines = parameterDeadlines(parameter, options);
    return deadlines.length ? { parameter, deadlines } : undefined;
  };
  for await (const page of catalog.pages(queries.policies)) {
    onListed(page.length);
    const candidates = page.filter((p) => parameterDeadlines(p, options).length > 0);
    yield (await mapBounded(candidates, PAGE_CONCURRENCY, withTags)).filter((x): x is WithDeadlines => x !== undefined);
  }
  for await (const page of catalog.pages(queries.tagged)) {
    onListed(page.length);
    const candidates = page.filter((p) => !(p.tier === 'Advanced' && p.policies.length > 0));
    yield (await mapBounded(candidates, PAGE_CONCURRENCY, withTags)).filter((x): x is WithDeadlines => x !== undefined);
  }
}

/**
 * The deadlines a sweep sends now: those due, except an expiry reminder that a later due reminder of the same
 * expiry supersedes: a parameter first seen 2 days before its expiry gets its 15-day reminder, not its 30-day one
 * as well.
 */
export function deadlinesToSend(deadlines: readonly Deadline[], now: Date): Deadline[] {
  const due = dueDeadlines(deadlines, now);
  const latestReminder = new Map<string, string>();
  for (const d of due) {
    if (d.kind !== 'ExpirationNotification') continue;
    const key = d.expiresAt ?? '';
    const seen = latestReminder.get(key);
    if (seen === undefined || d.dueAt > seen) latestReminder.set(key, d.dueAt);
  }
  return due.filter((d) => d.kind !== 'ExpirationNotification' || latestReminder.get(d.expiresAt ?? '') === d.dueAt);
}

export interface SweepDeps {
  catalog: ParameterCatalog;
  send: SendNotice;
  publisher: NoticePublisher;
  store: Pick<NoticeStore, 'rememberParameter' | 'claimDigest' | 'releaseDigest'>;
  /**
   * Names the run (a scheduled event's ID, which Lambda's retries and a second delivery of the event keep): each
   * digest of the run is claimed first and sent once. A run without one (invoked by hand) always sends its digests.
   */
  runKey?: string;
  config: ExpiryConfig;
  topics: { default: string };
  clock: Clock;
  /** The topic a parameter's notices go to, from its tags (routeNotice). */
  route: (tags: Record<string, string>) => string;
}

export interface SweepSummary {
  /** Parameters DescribeParameters returned (both queries). */
  listed: number;
  /** Parameters with at least one deadline (their tags were read, and they were remembered). */
  withDeadlines: number;
  /** Notices sent now. */
  sent: number;
  /** Due notices already sent before (by an event or an earlier sweep). */
  duplicates: number;
  /** Digests published (one per owner and topic). */
  digests: number;
  /** Digests of this run sent before (the same scheduled event delivered again, or retried). */
  digestDuplicates: number;
  /** Parameters whose notices failed (`<name>: <error>`), at most 20; the sweep goes on with the others. */
  failures: string[];
  failed: number;
}

/** One line of a digest. */
export interface DigestEntry {
  parameter: string;
  kind: Deadline['kind'];
  dueAt: string;
  expiresAt?: string;
  policy: string;
}

interface Digest {
  owner: string;
  topic: string;
  /** The soonest DIGEST_MAX_ENTRIES, sorted by due time. */
  entries: DigestEntry[];
  total: number;
}

/** Keeps the soonest `max` entries (sorted), counting every one. */
function addToDigest(digest: Digest, entry: DigestEntry, max: number): void {
  digest.total++;
  const at = digest.entries.findIndex((e) => entry.dueAt < e.dueAt);
  if (at === -1) {
    if (digest.entries.length < max) digest.entries.push(entry);
    return;
  }
  digest.entries.splice(at, 0, entry);
  if (digest.entries.length > max) digest.entries.pop();
}

/** A digest as SNS sends it: subject and one line per deadline. */
export function digestMessage(owner: string, entries: readonly DigestEntry[], total: number, days: number, now: Date): { subject: string; body: string } {
  const subject = `opsauto: ${total} parameter deadline${total === 1 ? '' : 's'} in the next ${days} days (${owner})`;
  const lines = entries.map((e) => `- ${e.dueAt.slice(0, 16).replace('T', ' ')} UTC  ${e.kind}  ${e.parameter}${e.expiresAt && e.kind !== 'Expiration' ? `  (expires ${e.expiresAt.slice(0, 10)})` : ''}  [${e.policy}]`);
  const more = total > entries.length ? [`… and ${total - entries.length} more: opsauto params expiring --within ${days}d`] : [];
  const body = [
    `Parameter Store deadlines of ${owner} between ${now.toISOString().slice(0, 10)} and ${new Date(now.getTime() + days * DAY_MS).toISOString().slice(0, 10)}:`,
    '',
    ...lines,
    ...more,
    '',
    'Rotate or extend a parameter: opsauto params policy set <name> --expires-in 90d (or aws ssm put-parameter --name <name> --overwrite ...).',
  ].join('\n');
  return { subject, body };
}

/**
 * The daily sweep. AWS applies parameter policies by asynchronous periodic scans, so the sweep computes every
 * deadline itself: it streams the parameters that can have deadlines (advanced ones, and standard ones carrying the
 * expiry tag: see `sweepQueries`), reads tags only for those with deadlines, sends the notices that are due
 * (`deadlinesToSend`; the SendNotice dedups, so one already sent by an event or an earlier sweep is a duplicate),
 * remembers each such parameter (for the record of what AWS deleted), and publishes one digest per owner (the
 * deadlines of the next `digestDays`) to the topic its parameters route to.
 * Memory: one page of parameters and the digests (at most DIGEST_MAX_ENTRIES lines each), never the whole list.
 * A parameter whose notice fails is counted in `failures` and the sweep goes on; a failing DescribeParameters or
 * ListTagsForResource ends it (throws).
 *
 * @example
 * const summary = await sweepParameters({ catalog, send, publisher, store, config: config.parameterExpiry, topics, clock, route });
 * // { listed: 20000, withDeadlines: 1000, sent: 12, duplicates: 3, digests: 4, digestDuplicates: 0, failures: [], failed: 0 }
 */
export async function sweepParameters(deps: SweepDeps): Promise<SweepSummary> {
  const { config } = deps;
  const now = deps.clock.now();
  const withinMs = config.digestDays * DAY_MS;
  const summary: SweepSummary = { listed: 0, withDeadlines: 0, sent: 0, duplicates: 0, digests: 0, digestDuplicates: 0, failures: [], failed: 0 };
  const digests = new Map<string, Digest>();
  for await (const batch of parametersWithDeadlines(deps.catalog, config, (n) => (summary.listed += n))) {
    summary.withDeadlines += batch.length;
    await mapBounded(batch, PAGE_CONCURRENCY, async ({ parameter, deadlines }) => {
      try {
        await deps.store.rememberParameter(parameter);
        for (const d of deadlinesToSend(deadlines, now)) {
          if ((await deps.send(d, parameter, 'sweep')) === 'sent') summary.sent++;
          else summary.duplicates++;
        }
      } catch (e) {
        summary.failed++;
        if (summary.failures.length < 20) summary.failures.push(`${parameter.name}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      }
      const upcoming = upcomingDeadlines(deadlines, now, withinMs);
      if (upcoming.length === 0) return;
      const tags = parameter.tags ?? {};
      const owner = parameterOwner(tags, config.ownerTags);
      const topic = deps.route(tags);
      const key = `${topic}\n${owner}`;
      let digest = digests.get(key);
      if (!digest) digests.set(key, (digest = { owner, topic, entries: [], total: 0 }));
      for (const d of upcoming) addToDigest(digest, { parameter: d.parameter, kind: d.kind, dueAt: d.dueAt, ...(d.expiresAt ? { expiresAt: d.expiresAt } : {}), policy: d.policy }, DIGEST_MAX_ENTRIES);
    });
  }
  for (const digest of digests.values()) {
    const claim = deps.runKey === undefined ? undefined : `${deps.runKey}#${digest.topic}#${digest.owner}`;
    if (claim !== undefined && !(await deps.store.claimDigest(claim, new Date(now.getTime() + DIGEST_CLAIM_MS)))) {
      summary.digestDuplicates++;
      continue;
    }
    const message = digestMessage(digest.owner, digest.entries, digest.total, config.digestDays, now);
    try {
      await deps.publisher.publish(digest.topic, { ...message, attributes: { kind: 'Digest', owner: digest.owner } });
    } catch (e) {
      if (claim !== undefined) await deps.store.releaseDigest(claim);
      throw e;
    }
    summary.digests++;
  }
  return summary;
}

/** What starts a sweep: its daily schedule, or a person invoking the function with `{}`. */
export const paramExpirySweepInput = z.union([scheduledEvent, z.strictObject({})]);
export type ParamExpirySweepInput = z.infer<typeof paramExpirySweepInput>;

/** One row of `opsauto params expiring`. */
export interface ExpiringRow {
  parameter: string;
  kind: Deadline['kind'];
  source: Deadline['source'];
  dueAt: string;
  expiresAt?: string;
  policy: string;
  owner: string;
}

/**
 * What expires or goes stale within `withinMs` of `now`: the sweep's own computation (same queries, same deadlines,
 * `upcomingDeadlines`), sorted by due time. Reads, never sends.
 *
 * @example
 * await expiringParameters(catalog, config.parameterExpiry, new Date(), 30 * 86_400_000)
 * // [{ parameter: '/db/password', kind: 'ExpirationNotification', dueAt: '…', expiresAt: '…', policy: 'notify 15d before expiry', owner: 'payments' }, …]
 */
export async function expiringParameters(catalog: ParameterCatalog, config: ExpiryConfig, now: Date, withinMs: number): Promise<ExpiringRow[]> {
  const rows: ExpiringRow[] = [];
  for await (const batch of parametersWithDeadlines(catalog, config, () => undefined)) {
    for (const { parameter, deadlines } of batch) {
      const owner = parameterOwner(parameter.tags, config.ownerTags);
      for (const d of upcomingDeadlines(deadlines, now, withinMs)) {
        rows.push({ parameter: d.parameter, kind: d.kind, source: d.source, dueAt: d.dueAt, ...(d.expiresAt ? { expiresAt: d.expiresAt } : {}), policy: d.policy, owner });
      }
    }
  }
  return rows.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.parameter.localeCompare(b.parameter));
}
