import { ActionFailure } from '@opsauto/core';

// Inputs arrive validated by core's actionRules; these read the few whose form the action itself decides (a
// String parameter carrying a Boolean, a single id where a list is allowed) and fail naming the input.

/** A list of strings, or one string as a list of one. */
export function stringList(value: unknown, name: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string')) throw new ActionFailure(`${name} must be a non-empty list of strings`);
  return list;
}

/** A Boolean input; text `true` / `false` (any case) counts, as a String parameter may carry it. Absent is false. */
export function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw new ActionFailure(`${name} must be true or false`);
}

/** The `Tags` input: `{ Key, Value }` pairs, a missing Value being empty. */
export function tagList(value: unknown): { Key: string; Value: string }[] {
  if (!Array.isArray(value) || value.length === 0) throw new ActionFailure('Tags must be a non-empty list of { Key, Value }');
  return value.map((t: unknown) => {
    const { Key, Value } = (typeof t === 'object' && t !== null ? t : {}) as { Key?: unknown; Value?: unknown };
    if (typeof Key !== 'string' || (Value !== undefined && typeof Value !== 'string')) throw new ActionFailure('Tags must be a non-empty list of { Key, Value }');
    return { Key, Value: Value ?? '' };
  });
}

/** `items` in lists of at most `size`: the most ids an API takes in one call. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
