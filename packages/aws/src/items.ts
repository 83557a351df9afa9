/** The attributes of a DynamoDB item that belong to the domain object (keys, type and timestamps left out). */
export function pick<T>(item: Record<string, unknown>, keep: readonly string[]): T {
  return Object.fromEntries(Object.entries(item).filter(([k]) => keep.includes(k))) as T;
}
