/**
 * AWS's rules for SSM tags (the `Tag` type of the SSM API), shared by every SSM operation that takes tags:
 * key 1-128 characters, not starting with `aws:`; value 0-256 characters; letters, numbers, spaces and `_.:/=+-@`;
 * at most 50 tags on a resource.
 */
import { AwsError, validation } from '../errors.js';
import type { Tag } from './filters.js';

export const MAX_TAGS_PER_RESOURCE = 50;

const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Checks tags as the request's `tags` member (`field` names it in the message) and returns them as stored. */
export function validateTags(tags: { Key?: string; Value?: string }[] | undefined, field = 'tags'): Tag[] {
  return (tags ?? []).map((t, i) => {
    const at = `'${field}.${i + 1}.member`;
    const key = t.Key;
    if (key === undefined || key === null) throw validation(`1 validation error detected: Value null at ${at}.key' failed to satisfy constraint: Member must not be null`);
    if (key.length < 1 || key.length > 128) {
      throw validation(`1 validation error detected: Value '${key}' at ${at}.key' failed to satisfy constraint: Member must have length less than or equal to 128 and greater than or equal to 1`);
    }
    if (!TAG_CHARS.test(key) || /^aws:/i.test(key)) {
      throw validation(
        `1 validation error detected: Value '${key}' at ${at}.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!^(?i)aws:)(?=^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$).*$`,
      );
    }
    const value = t.Value;
    if (value === undefined || value === null) throw validation(`1 validation error detected: Value null at ${at}.value' failed to satisfy constraint: Member must not be null`);
    if (value.length > 256) {
      throw validation(`1 validation error detected: Value '${value}' at ${at}.value' failed to satisfy constraint: Member must have length less than or equal to 256`);
    }
    if (!TAG_CHARS.test(value)) {
      throw validation(`1 validation error detected: Value '${value}' at ${at}.value' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$`);
    }
    return { Key: key, Value: value };
  });
}

/** AWS's answer when a resource would carry more than 50 tags. */
export function checkTagCount(tags: Tag[]): void {
  if (tags.length > MAX_TAGS_PER_RESOURCE) {
    throw new AwsError('TooManyTagsError', `The resource would have ${tags.length} tags; a resource can have a maximum of ${MAX_TAGS_PER_RESOURCE} tags.`);
  }
}
