/** A copy as a store keeps it: cloned, and without the fields that are undefined (DynamoDB keeps no such attribute). */
export function storedCopy<T extends object>(value: T): T {
  const copy = structuredClone(value);
  for (const k of Object.keys(copy) as (keyof T)[]) if (copy[k] === undefined) delete copy[k];
  return copy;
}
