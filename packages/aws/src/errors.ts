/** True when `e` is an AWS service error with one of these codes (the SDK names the error after its code). */
export function isAwsError(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes((e as { name?: string }).name ?? '');
}
