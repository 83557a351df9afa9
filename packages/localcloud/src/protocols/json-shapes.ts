/**
 * Type checks of awsJson request members against the service's own model: the schemas the AWS SDK v3 clients
 * ship (`GetParameter$` → `GetParameterRequest$` …). AWS refuses a member of the wrong type with
 * `SerializationException` before the operation runs; so does localcloud, so that no operation ever sees (or
 * stores) a list where a string belongs. Only types are checked here: required members and value constraints
 * stay with each operation, which answers them in the service's words.
 *
 * The schema arrays are read as the SDK writes them: a structure is `[3, ns, name, traits, memberNames,
 * memberSchemas]`, a list `[1, ns, name, traits, item]`, a map `[2, ns, name, traits, key, value]`, a simple
 * shape `[0, ns, name, traits, type]`; a member is a type code, a thunk, or `[schema, traits]`; type codes are
 * 0 string, 1 number, 2 boolean, 4–7 timestamp, 15 document, 17/19 big numbers, 21/42 blob, and `64 |` (list of)
 * or `128 |` (map of) a code.
 */
import { AwsError } from '../errors.js';

/** The SDK client whose model describes each awsJson service of localcloud (by service name). */
const MODEL_MODULES: Record<string, string> = {
  ssm: '@aws-sdk/client-ssm',
  events: '@aws-sdk/client-eventbridge',
};

type Schema = unknown;

const models = new Map<string, Promise<Record<string, unknown>>>();

/** The module exports of a service's SDK client (its schemas), loaded once and only when first needed. */
function model(service: string): Promise<Record<string, unknown>> | undefined {
  if (!Object.hasOwn(MODEL_MODULES, service)) return undefined;
  let loading = models.get(service);
  if (!loading) {
    loading = import(MODEL_MODULES[service]) as Promise<Record<string, unknown>>;
    models.set(service, loading);
  }
  return loading;
}

const LIST = 64;
const MAP = 128;

/** A member entry, a thunk or a pair `[schema, traits]`, resolved to the schema itself. */
function resolve(ref: Schema): Schema {
  let s = ref;
  for (let i = 0; i < 4; i++) {
    if (typeof s === 'function') s = (s as () => Schema)();
    else if (Array.isArray(s) && s.length === 2) s = s[0];
    else break;
  }
  return s;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

class ShapeError extends Error {}

/** Checks `value` against `schema`; throws ShapeError naming `path` on the first member of the wrong type. */
function check(value: unknown, ref: Schema, path: string): void {
  const schema = resolve(ref);
  const fail = (expected: string) => {
    throw new ShapeError(`${path} must be ${expected}, not ${describe(value)}`);
  };
  if (typeof schema === 'number') {
    if (schema & LIST) {
      if (!Array.isArray(value)) fail('a list');
      (value as unknown[]).forEach((item, i) => check(item, schema & ~LIST, `${path}[${i}]`));
      return;
    }
    if (schema & MAP) {
      if (!isObject(value)) fail('a map (JSON object)');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) check(v, schema & ~MAP, `${path}.${k}`);
      return;
    }
    if (schema === 0 || schema === 21 || schema === 42) return void (typeof value === 'string' || fail('a string'));
    if (schema === 1 || schema === 17 || schema === 19) return void (typeof value === 'number' || fail('a number'));
    if (schema === 2) return void (typeof value === 'boolean' || fail('a boolean'));
    if (schema >= 4 && schema <= 7) return void (typeof value === 'number' || typeof value === 'string' || fail('a timestamp'));
    return;
  }
  if (!Array.isArray(schema)) return;
  const kind = schema[0] as number;
  if (kind === 0) return check(value, schema[4], path);
  if (kind === 1) {
    if (!Array.isArray(value)) fail('a list');
    (value as unknown[]).forEach((item, i) => check(item, schema[4], `${path}[${i}]`));
    return;
  }
  if (kind === 2) {
    if (!isObject(value)) fail('a map (JSON object)');
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) check(v, schema[5], `${path}.${k}`);
    return;
  }
  if (kind === 3 || kind === 4 || kind === -3) {
    if (!isObject(value)) fail('a structure (JSON object)');
    const names = schema[4] as string[];
    const members = schema[5] as Schema[];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const i = names.indexOf(k);
      // Unknown members are ignored, as AWS does; a null member is an absent one.
      if (i >= 0 && v !== null) check(v, members[i], path ? `${path}.${k}` : k);
    }
  }
}

/**
 * Throws `SerializationException` naming the member when `input` does not fit the request shape of
 * `service:operation`. Services without a model here, and operations the model does not know, pass.
 */
export async function checkJsonShape(service: string, operation: string, input: Record<string, unknown>): Promise<void> {
  const loading = model(service);
  if (!loading) return;
  const exports = await loading;
  const key = `${operation}$`;
  const op = Object.hasOwn(exports, key) ? exports[key] : undefined;
  if (!Array.isArray(op) || op[0] !== 9) return;
  try {
    check(input, op[4], '');
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw new AwsError('SerializationException', `${operation}: ${e.message.replace(/^ must/, 'the request must')}`);
  }
}
