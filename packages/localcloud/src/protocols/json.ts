import { AwsError } from '../errors.js';

/**
 * Deepest nesting of objects and arrays accepted in an awsJson body. The deepest shapes the emulated operations
 * read are a few levels (OpsItem data, event patterns as strings); far past that is refused before parsing, so
 * that no reader (nor the parser's own reviver) recurses on a hostile document.
 */
export const MAX_JSON_DEPTH = 64;

const serialization = (message: string) => new AwsError('SerializationException', message);

/** The deepest nesting of `text` (strings skipped), stopping as soon as it passes `max`. */
function depthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** A reviver that makes every object of the document a map without prototype: its keys are data. */
const withoutPrototypes = (_key: string, value: unknown): unknown =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.assign(Object.create(null) as object, value) : value;

/**
 * Parses the body of an awsJson request: an empty body is an empty input; anything that is not a JSON object is
 * `SerializationException`, as the awsJson services answer. Objects of the result have no prototype.
 */
export function parseJsonBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return Object.create(null) as Record<string, unknown>;
  if (depthExceeds(body, MAX_JSON_DEPTH)) throw serialization(`The request body nests objects or lists more than ${MAX_JSON_DEPTH} levels deep.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body, withoutPrototypes);
  } catch {
    throw serialization('The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw serialization('The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}
