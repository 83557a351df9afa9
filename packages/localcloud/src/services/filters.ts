/**
 * Helpers shared by the emulated services: tags, EC2-style filter values with wildcards, and opaque
 * pagination tokens. Kept free of any one service's wire format.
 */
import { randomBytes } from 'node:crypto';
import type { VirtualClock } from '../clock.js';
import type { EventBus } from '../bus.js';
import type { Store } from '../store.js';

/** What a lifecycle timer needs of the emulator: the parts of a request context that outlive the request. */
export interface Runtime {
  clock: VirtualClock;
  store: Store;
  bus: EventBus;
}

/** A tag as the services keep it (EC2 and SSM both use Key/Value). */
export interface Tag {
  Key: string;
  Value: string;
}

/** `prefix` + `hexDigits` random lowercase hex digits, the shape of EC2 resource ids (`ami-0123…`). */
export function randomId(prefix: string, hexDigits = 17): string {
  return prefix + randomBytes(Math.ceil(hexDigits / 2)).toString('hex').slice(0, hexDigits);
}

/** `count` ids as `randomId` makes them, from one buffer of randomness (bulk generation makes 100,000 at a time). */
export function randomIds(prefix: string, count: number, hexDigits = 17): string[] {
  const hex = randomBytes(Math.ceil((count * hexDigits) / 2)).toString('hex');
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = prefix + hex.slice(i * hexDigits, (i + 1) * hexDigits);
  return ids;
}

/** Sets each tag, replacing the value of a key already present and keeping the order of first use. */
export function upsertTags(tags: Tag[], add: Tag[]): Tag[] {
  const out = tags.map((t) => ({ ...t }));
  for (const t of add) {
    const existing = out.find((o) => o.Key === t.Key);
    if (existing) existing.Value = t.Value;
    else out.push({ Key: t.Key, Value: t.Value });
  }
  return out;
}

/**
 * Removes tags as EC2 DeleteTags does: no list removes all; a key alone removes the key whatever its value;
 * a key with a value removes it only when the value matches.
 */
export function removeTags(tags: Tag[], remove: { Key: string; Value?: string }[] | undefined): Tag[] {
  if (!remove) return [];
  return tags.filter((t) => !remove.some((r) => r.Key === t.Key && (r.Value === undefined || r.Value === t.Value)));
}

/** EC2 filter values: `*` matches any run of characters, `?` any one; `\*`, `\?` and `\\` are literal. */
export function wildcardToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length && '*?\\'.includes(pattern[i + 1])) {
      source += escapeRegExp(pattern[++i]);
    } else if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, 's');
}

export function matchesAnyWildcard(value: string | undefined, patterns: string[]): boolean {
  return wildcardMatcher(patterns)(value);
}

/** Whether a filter value holds a wildcard (or an escape), i.e. cannot be compared as a plain string. */
export function hasWildcard(pattern: string): boolean {
  return /[*?\\]/.test(pattern);
}

/**
 * `matchesAnyWildcard` for patterns used many times: compiled once, plain values compared through a set, so
 * a filter tested against thousands of resources does not build a regular expression per test.
 */
export function wildcardMatcher(patterns: string[]): (value: string | undefined) => boolean {
  const exact = new Set(patterns.filter((p) => !hasWildcard(p)));
  const regexps = patterns.filter(hasWildcard).map(wildcardToRegExp);
  if (regexps.length === 0) return (value) => value !== undefined && exact.has(value);
  return (value) => value !== undefined && (exact.has(value) || regexps.some((r) => r.test(value)));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Opaque pagination tokens: base64url JSON that carries where the next page starts. A token that does not
 * decode (or was made for something else) yields `undefined`, and the caller answers with its service's error.
 */
export function encodeToken(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify({ v: 1, ...position }), 'utf8').toString('base64url');
}

export function decodeToken(token: string): Record<string, string | number> | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || (parsed as { v?: unknown }).v !== 1) return undefined;
    return parsed as Record<string, string | number>;
  } catch {
    return undefined;
  }
}

/**
 * One page of `items` (in their stable order) after the item whose key the token names. Keys are unique ids or
 * names, so a page boundary survives items added between calls; when the boundary item itself has gone, the
 * page continues at the position it had.
 */
export function pageAfter<T>(
  items: T[],
  keyOf: (item: T) => string,
  maxResults: number,
  nextToken: string | undefined,
  invalidToken: () => Error,
): { page: T[]; nextToken?: string } {
  let start = 0;
  if (nextToken !== undefined && nextToken !== '') {
    const position = decodeToken(nextToken);
    if (!position || typeof position.after !== 'string' || typeof position.index !== 'number') throw invalidToken();
    const after = position.after;
    const index = items.findIndex((i) => keyOf(i) === after);
    start = index >= 0 ? index + 1 : Math.min(position.index + 1, items.length);
  }
  const page = items.slice(start, start + maxResults);
  const more = start + maxResults < items.length;
  if (!more) return { page };
  return { page, nextToken: encodeToken({ after: keyOf(page[page.length - 1]), index: start + page.length - 1 }) };
}
