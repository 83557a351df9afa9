/**
 * The MaxResults / NextToken rules every paged SSM List/Describe operation shares: a range check worded as AWS's
 * request validation words it, and the `InvalidNextToken` answer for a token that is not ours.
 */
import { AwsError, validation } from '../errors.js';

export const invalidNextToken = () => new AwsError('InvalidNextToken', 'The specified token is not valid.');

/** `value` if it is a whole number in min..max, `fallback` when absent; otherwise AWS's ValidationException. */
export function maxResults(value: number | undefined, max: number, fallback: number, min = 1): number {
  if (value === undefined || value === null) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw validation(
      `1 validation error detected: Value '${value}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${max} and greater than or equal to ${min}`,
    );
  }
  return value;
}
