import { RE2JS } from 're2js';

/** A compiled `allowedPattern`: `test` answers whether a value matches (a search, as AWS's checks do). */
export interface AllowedPattern {
  readonly source: string;
  /** `backtracking` (JavaScript's RegExp) only for patterns that passed the nesting check; else `re2` (one RE2 test, or several for leading lookaheads), linear. */
  readonly engine: 're2' | 'backtracking';
  test(value: string): boolean;
}

/** An `allowedPattern` this engine cannot evaluate, naming the construct and where it is. */
export class AllowedPatternError extends Error {
  override name = 'AllowedPatternError';
  constructor(
    message: string,
    readonly pattern: string,
  ) {
    super(message);
  }
}

/**
 * An `allowedPattern`, written in the Java regex dialect AWS evaluates it with, compiled to run here.
 *
 * - No catastrophic backtracking: a pattern runs on JavaScript's RegExp only when no unbounded repetition is nested
 *   in another and no repeated group holds alternatives (the shapes that backtrack exponentially). Any other pattern
 *   runs on RE2 (re2js), in time linear in the value. One that also needs lookaround runs on RE2 too when its
 *   lookarounds are all lookaheads at the start (`^(?!…)…`, or `(?=^…)(?!…)…` as AWS Solutions' BucketName
 *   pattern): each lookahead becomes a separate RE2 check at the start of the value. Any other pattern that needs
 *   lookaround or a backreference and has such a shape is refused.
 * - Translated: a leading `(?i)`, `(?i:…)` and `(?-i)` (letters spelled in both cases; Node 20 has no RegExp
 *   modifiers), `\A`, `\z`, `\Z`, `\Q…\E`, POSIX classes (`\p{Alpha}`, `\p{Punct}` …), `\h`, `\v`, `\uXXXX`;
 *   on RE2 also Unicode classes (`\p{L}`, `\p{IsLatin}`) and inline `(?s)`/`(?m)` anywhere. Lookaround, which
 *   AWS's own runbooks use (`(?!.*--)`), runs on RegExp.
 * - A possessive quantifier (`a*+`) or an atomic group (`(?>…)`) is translated when nothing but the end of the
 *   pattern follows it (it then cannot give back anything a later part needs); anywhere else it is refused, named.
 * - Refused with the construct named: character class intersection `&&` and nested classes, the comments flag
 *   `(?x)`, `(?U)`, escapes neither engine knows.
 *
 * Differences left: on RE2, `(?i)` folds non-ASCII letters too (Java folds ASCII only unless `(?u)`); `$` matches only at
 * the very end (Java's also before a final line break), which refuses more, never less.
 *
 * @throws AllowedPatternError naming the construct that cannot be evaluated.
 * @example
 * compileAllowedPattern('^key/(?i:[0-9a-f]{8})$').test('key/ABCDEF01'); // true
 * compileAllowedPattern('^(?!.*--)[a-z-]+$').test('a--b'); // false
 * compileAllowedPattern('^a*+a$'); // throws: possessive quantifier `*+` at 2 …
 */
export function compileAllowedPattern(pattern: string): AllowedPattern {
  if (typeof pattern !== 'string') throw new AllowedPatternError('allowedPattern must be a string', String(pattern));
  let js: Translation | undefined;
  let jsError: Error | undefined;
  try {
    js = translate(pattern, 'js');
  } catch (error) {
    jsError = error as Error;
  }
  if (js && !js.risk) {
    try {
      const re = new RegExp(js.source, js.flags);
      return { source: pattern, engine: 'backtracking', test: (value) => re.test(value) };
    } catch (error) {
      jsError = error as Error;
    }
  }
  const scan = translate(pattern, 're2');
  if (!scan.needsBacktracking) {
    try {
      const re = RE2JS.compile(scan.source);
      return { source: pattern, engine: 're2', test: (value) => re.test(value) };
    } catch (error) {
      throw new AllowedPatternError(`${(error as Error).message.replace(/^error parsing regexp: /, '')}`, pattern);
    }
  }
  const split = splitLeadingLookaheads(pattern);
  if (split) return split;
  if (js?.risk) throw new AllowedPatternError(`${js.risk}: with lookaround or a backreference it would need a backtracking engine, where this shape can take exponential time`, pattern);
  throw new AllowedPatternError(jsError?.message ?? 'cannot be evaluated', pattern);
}

/**
 * A pattern whose lookarounds are all leading lookaheads checked at the start of the value, as separate RE2 tests:
 * `P = ^(?=A)(?!B)C` (or `(?=^A)(?!B)C`, where a positive lookahead anchored at `^` pins the only position a match
 * can start at) matches a value exactly when `\A(?:A)` matches it, `\A(?:B)` does not, and `\A(?:C)` does, each
 * on RE2 in linear time. AWS Solutions' bucket name pattern has this shape:
 * `(?=^.{3,63}$)(?!^(\d+\.)+\d+$)(^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|…)$)`.
 * Undefined when the pattern has another shape (lookaround after the start, a backreference, multi-line mode).
 */
function splitLeadingLookaheads(pattern: string): AllowedPattern | undefined {
  // With (?m), `^` also matches after a line break, so a lookahead at `^` does not pin the start.
  if (/\(\?[a-zA-Z]*m[a-zA-Z]*(?:-[a-zA-Z]*)?[:)]|\(\?[a-zA-Z]*-[a-zA-Z]*m[a-zA-Z]*[:)]/.test(pattern)) return undefined;
  const leadingFlags = /^\(\?[a-zA-Z]+\)/.exec(pattern)?.[0] ?? '';
  let i = leadingFlags.length;
  const anchor = /^(?:\^|\\A)/.exec(pattern.slice(i))?.[0] ?? '';
  i += anchor.length;
  const lookaheads: { body: string; negative: boolean }[] = [];
  while (pattern.startsWith('(?=', i) || pattern.startsWith('(?!', i)) {
    const end = closingParen(pattern, i);
    if (end === undefined) return undefined;
    lookaheads.push({ body: pattern.slice(i + 3, end), negative: pattern[i + 2] === '!' });
    i = end + 1;
  }
  if (lookaheads.length === 0) return undefined;
  // Without a leading anchor, a match could start anywhere unless a positive lookahead is itself anchored at the start.
  if (!anchor && !lookaheads.some((l) => !l.negative && startsAnchored(l.body))) return undefined;
  const part = (body: string): ((value: string) => boolean) | undefined => {
    const scan = translate(`${leadingFlags}\\A(?:${body})`, 're2');
    if (scan.needsBacktracking) return undefined;
    try {
      const re = RE2JS.compile(scan.source);
      return (value) => re.test(value);
    } catch {
      return undefined;
    }
  };
  const checks: { test: (value: string) => boolean; negative: boolean }[] = [];
  for (const l of [...lookaheads, { body: pattern.slice(i), negative: false }]) {
    const test = part(l.body);
    if (!test) return undefined;
    checks.push({ test, negative: l.negative });
  }
  return { source: pattern, engine: 're2', test: (value) => checks.every((c) => c.test(value) !== c.negative) };
}

/** The index of the `)` closing the group opened at `open`, skipping escapes, `\Q…\E` and character classes. */
function closingParen(pattern: string, open: number): number | undefined {
  let depth = 0;
  for (let j = open; j < pattern.length; j++) {
    const c = pattern[j];
    if (c === '\\') {
      if (pattern[j + 1] === 'Q') {
        const end = pattern.indexOf('\\E', j + 2);
        if (end === -1) return undefined;
        j = end + 1;
      } else j += 1;
    } else if (c === '[') {
      j = classEnd(pattern, j);
    } else if (c === '(') depth += 1;
    else if (c === ')') {
      depth -= 1;
      if (depth === 0) return j;
    }
  }
  return undefined;
}

/** The index of the `]` closing the character class opened at `open` (a `]` first in a class is a member). */
function classEnd(pattern: string, open: number): number {
  let k = open + 1;
  if (pattern[k] === '^') k += 1;
  if (pattern[k] === ']') k += 1;
  while (k < pattern.length && pattern[k] !== ']') k += pattern[k] === '\\' ? 2 : 1;
  return k;
}

/** Whether every match of `body` must start at the start of the value: it begins with `^` or `\A` and has no top-level `|`. */
function startsAnchored(body: string): boolean {
  if (!/^(?:\^|\\A)/.test(body)) return false;
  let depth = 0;
  for (let j = 0; j < body.length; j++) {
    const c = body[j];
    if (c === '\\') j += 1;
    else if (c === '[') {
      j = classEnd(body, j);
    } else if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    else if (c === '|' && depth === 0) return false;
  }
  return true;
}

type Target = 're2' | 'js';

interface Translation {
  source: string;
  flags: string;
  needsBacktracking: boolean;
  /** Why the pattern is unsafe for a backtracking engine, when it is. */
  risk?: string;
}

interface Group {
  kind: 'plain' | 'lookaround' | 'atomic';
  ignoreCase: boolean;
  /** Deepest repetition nesting inside the group. */
  repeatDepth: number;
  hasAlternation: boolean;
}

/** Java's POSIX classes (US-ASCII) and their RE2 names. */
const POSIX: Record<string, string> = {
  Lower: 'lower',
  Upper: 'upper',
  ASCII: 'ascii',
  Alpha: 'alpha',
  Digit: 'digit',
  Alnum: 'alnum',
  Punct: 'punct',
  Graph: 'graph',
  Print: 'print',
  Blank: 'blank',
  Cntrl: 'cntrl',
  XDigit: 'xdigit',
  Space: 'space',
};

/** The same classes as JavaScript class contents. */
const POSIX_JS: Record<string, string> = {
  lower: 'a-z',
  upper: 'A-Z',
  ascii: '\\x00-\\x7F',
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  punct: '!-\\/:-@\\[-`{-~',
  graph: '!-~',
  print: ' -~',
  blank: ' \\t',
  cntrl: '\\x00-\\x1F\\x7F',
  xdigit: '0-9a-fA-F',
  space: ' \\t\\n\\x0B\\f\\r',
};

const LINE_END_RE2 = '(?:\\r\\n|[\\n\\r\\x{85}\\x{2028}\\x{2029}])?\\z';
const LINE_END_JS = '(?=(?:\\r\\n|[\\n\\r\\u0085\\u2028\\u2029])?(?![\\s\\S]))';
const HSPACE = ' \\t\\xA0\\x{1680}\\x{180e}\\x{2000}-\\x{200a}\\x{202f}\\x{205f}\\x{3000}';
const VSPACE = '\\n\\x0B\\f\\r\\x{85}\\x{2028}\\x{2029}';
/** Escapes JavaScript reads as Java does; any other letter escape would silently mean the letter itself. */
const JS_ESCAPES = new Set([...'dDwWsSbBnrtf0']);
/** A repetition that can repeat more than this many times counts as unbounded for the nesting check. */
const SMALL_REPEAT = 16;

function translate(pattern: string, target: Target): Translation {
  const fail = (what: string, at: number): never => {
    throw new AllowedPatternError(`${what} at position ${at}`, pattern);
  };
  const toJs = (re2Escape: string): string => re2Escape.replace(/\\x\{([0-9a-fA-F]+)\}/g, (_, hex: string) => `\\u${hex.padStart(4, '0')}`);

  let out = '';
  let flags = '';
  let needsBacktracking = false;
  let risk: string | undefined;
  const stack: Group[] = [{ kind: 'plain', ignoreCase: false, repeatDepth: 0, hasAlternation: false }];
  const top = (): Group => stack[stack.length - 1];
  /** Depth of repetition of the atom just written (0 for none, a group's own depth for a group). */
  let lastAtom: { depth: number; alternation: boolean } | undefined;
  let i = 0;

  // A leading (?i) (or m, s) is a flag for the whole pattern.
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (leading) {
    const on = javaFlags(leading[1] ?? '', 0, fail);
    // JavaScript gets m and s as flags; case is folded by spelling letters out, so that (?-i) later can undo it.
    if (target === 're2') out += on ? `(?${on})` : '';
    else flags = on.replace('i', '');
    top().ignoreCase = target === 'js' && on.includes('i');
    i = leading[0].length;
  }

  /** What follows position j is only the end of the pattern: closing groups and end anchors. */
  const restIsEnd = (j: number): boolean => /^(?:\)|\$|\\[zZ])*$/.test(pattern.slice(j));

  const literal = (ch: string): string => {
    if (target === 'js' && top().ignoreCase && /[a-zA-Z]/.test(ch)) return `[${ch.toLowerCase()}${ch.toUpperCase()}]`;
    return ch;
  };

  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === '\\') {
      const [text, length] = escape(pattern, i, false);
      out += text;
      i += length;
      lastAtom = /^\\[bBAzZ]$|^\(\?[<=!]/.test(text) ? undefined : { depth: 0, alternation: false};
      continue;
    }
    if (ch === '[') {
      const [text, length] = charClass(pattern, i);
      out += text;
      i += length;
      lastAtom = { depth: 0, alternation: false};
      continue;
    }
    if (ch === '(') {
      const rest = pattern.slice(i);
      const ignoreCase = top().ignoreCase;
      let m: RegExpExecArray | null;
      if (rest.startsWith('(?=') || rest.startsWith('(?!') || rest.startsWith('(?<=') || rest.startsWith('(?<!')) {
        needsBacktracking = true;
        const open = rest.startsWith('(?<') ? rest.slice(0, 4) : rest.slice(0, 3);
        out += open;
        i += open.length;
        stack.push({ kind: 'lookaround', ignoreCase, repeatDepth: 0, hasAlternation: false });
      } else if (rest.startsWith('(?>')) {
        out += '(?:';
        i += 3;
        stack.push({ kind: 'atomic', ignoreCase, repeatDepth: 0, hasAlternation: false });
      } else if ((m = /^\(\?<([a-zA-Z][a-zA-Z0-9]*)>/.exec(rest))) {
        out += m[0];
        i += m[0].length;
        stack.push({ kind: 'plain', ignoreCase, repeatDepth: 0, hasAlternation: false });
      } else if ((m = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]+))?([:)])/.exec(rest))) {
        const on = javaFlags(m[1] ?? '', i, fail);
        const off = javaFlags(m[2] ?? '', i, fail);
        const scoped = m[3] === ':';
        const nextIgnoreCase = on.includes('i') ? true : off.includes('i') ? false : ignoreCase;
        if (target === 're2') out += `(?${on}${off ? `-${off}` : ''}${m[3]}`;
        else {
          if (/[ms]/.test(on + off)) fail(`inline flag (?${m[1] ?? ''}${m[2] ? `-${m[2]}` : ''}) inside the pattern (with lookaround)`, i);
          if (scoped) out += '(?:';
        }
        i += m[0].length;
        if (scoped) stack.push({ kind: 'plain', ignoreCase: nextIgnoreCase, repeatDepth: 0, hasAlternation: false });
        else top().ignoreCase = target === 'js' && nextIgnoreCase;
        if (!scoped) lastAtom = undefined;
      } else if (rest.startsWith('(?')) {
        fail(`group ${rest.slice(0, 3)}`, i);
      } else {
        out += '(';
        i += 1;
        stack.push({ kind: 'plain', ignoreCase, repeatDepth: 0, hasAlternation: false });
      }
      continue;
    }
    if (ch === ')') {
      if (stack.length === 1) {
        // Unbalanced: let the engine report it.
        out += ')';
        i += 1;
        continue;
      }
      const group = stack.pop() as Group;
      if (group.kind === 'atomic' && !restIsEnd(i + 1)) fail('atomic group (?>…) followed by more pattern', i);
      out += ')';
      i += 1;
      top().repeatDepth = Math.max(top().repeatDepth, group.repeatDepth);
      lastAtom = group.kind === 'lookaround' ? undefined : { depth: group.repeatDepth, alternation: group.hasAlternation };
      continue;
    }
    if (ch === '|') {
      top().hasAlternation = true;
      out += '|';
      i += 1;
      lastAtom = undefined;
      continue;
    }
    const quantifier = /^(?:[*+?]|\{(\d+)(?:(,)(\d*))?\})/.exec(pattern.slice(i));
    if (quantifier && lastAtom) {
      const [q, , comma, maxText] = quantifier;
      const unbounded = q === '*' || q === '+' || (comma !== undefined && (maxText === '' || Number(maxText) > SMALL_REPEAT)) || (comma === undefined && quantifier[1] !== undefined && Number(quantifier[1]) > SMALL_REPEAT);
      out += q;
      i += q.length;
      if (pattern[i] === '+') {
        if (!restIsEnd(i + 1)) fail(`possessive quantifier \`${q}+\` followed by more pattern`, i - q.length);
        i += 1;
      } else if (pattern[i] === '?') {
        out += '?';
        i += 1;
      }
      if (unbounded) {
        const depth = lastAtom.depth + 1;
        if (depth >= 2) risk ??= `a repetition nested in a repetition (ending at ${i})`;
        if (lastAtom.alternation) risk ??= `a repeated group with alternatives (ending at ${i})`;
        top().repeatDepth = Math.max(top().repeatDepth, depth);
      }
      lastAtom = undefined;
      continue;
    }
    out += ch === '.' || ch === '^' || ch === '$' ? ch : literal(ch);
    i += 1;
    lastAtom = ch === '^' || ch === '$' ? undefined : { depth: 0, alternation: false};
  }
  return { source: out, flags, needsBacktracking, ...(risk ? { risk } : {}) };

  /** An escape outside or inside a class: [text to emit, characters consumed]. */
  function escape(src: string, at: number, inClass: boolean): [string, number] {
    const next = src[at + 1];
    if (next === undefined) return fail('a trailing backslash', at);
    if (next === 'Q') {
      const end = src.indexOf('\\E', at + 2);
      const text = src.slice(at + 2, end === -1 ? undefined : end);
      const length = (end === -1 ? src.length : end + 2) - at;
      if (target === 're2') return [`\\Q${text}\\E`, length];
      return [[...text].map((c) => (/[a-zA-Z0-9]/.test(c) ? (inClass ? c : literal(c)) : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)).join(''), length];
    }
    if (next === 'p' || next === 'P') {
      const m = /^\\[pP]\{(\^?)([A-Za-z_]+)\}/.exec(src.slice(at)) ?? /^\\[pP]([A-Za-z])/.exec(src.slice(at));
      if (!m) return fail(`\\${next} without a class name`, at);
      const name = m.length === 3 ? (m[2] ?? '') : (m[1] ?? '');
      const negated = (next === 'P') !== (m.length === 3 && m[1] === '^');
      const posix = POSIX[name];
      if (posix) {
        if (target === 're2') return [inClass ? `[:${negated ? '^' : ''}${posix}:]` : `[[:${negated ? '^' : ''}${posix}:]]`, m[0].length];
        if (inClass && negated) return fail(`negated class \\${next}{${name}} inside a character class (with lookaround)`, at);
        return [inClass ? (POSIX_JS[posix] ?? '') : `[${negated ? '^' : ''}${POSIX_JS[posix] ?? ''}]`, m[0].length];
      }
      if (target === 'js') return fail(`Unicode class \\${next}{${name}} (with lookaround)`, at);
      const re2Name = /^(?:Is|In)[A-Z]/.test(name) ? name.slice(2) : name;
      return [`\\${negated ? 'P' : 'p'}{${re2Name}}`, m[0].length];
    }
    if (next === 'A') return [target === 're2' ? '\\A' : '(?<![\\s\\S])', 2];
    if (next === 'z') return [target === 're2' ? '\\z' : '(?![\\s\\S])', 2];
    if (next === 'Z') return [target === 're2' ? LINE_END_RE2 : LINE_END_JS, 2];
    if (next === 'h' || next === 'H' || next === 'v' || next === 'V') {
      const set = next.toLowerCase() === 'h' ? HSPACE : VSPACE;
      const negated = next === 'H' || next === 'V';
      if (inClass && negated) return fail(`\\${next} inside a character class`, at);
      const body = target === 're2' ? set : toJs(set);
      return [inClass ? body : `[${negated ? '^' : ''}${body}]`, 2];
    }
    if (next === 'u') {
      const m = /^\\u([0-9a-fA-F]{4})/.exec(src.slice(at));
      if (!m) return fail('\\u without four hex digits', at);
      return [target === 're2' ? `\\x{${m[1]}}` : m[0], m[0].length];
    }
    if (next === 'x') {
      const m = /^\\x(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{2}))/.exec(src.slice(at));
      if (!m) return fail('\\x without hex digits', at);
      if (target === 're2') return [m[0], m[0].length];
      const code = parseInt(m[1] ?? m[2] ?? '0', 16);
      if (code > 0xffff) return fail(`\\x{${m[1]}} beyond the Basic Multilingual Plane (with lookaround)`, at);
      return [`\\u${code.toString(16).padStart(4, '0')}`, m[0].length];
    }
    if (/[1-9]/.test(next) || next === 'k') {
      needsBacktracking = true;
      if (target === 'js') {
        const m = /^\\(?:[1-9]\d*|k<[a-zA-Z][a-zA-Z0-9]*>)/.exec(src.slice(at));
        if (!m) return fail(`\\${next}`, at);
        return [m[0], m[0].length];
      }
      return [`\\${next}`, 2];
    }
    if (/[a-zA-Z0-9]/.test(next)) {
      if (target === 'js' && !JS_ESCAPES.has(next)) return fail(`escape \\${next}`, at);
      if (target === 'js' && inClass && next === 'b') return fail('escape \\b inside a character class', at);
      return [`\\${next}`, 2];
    }
    // An escaped symbol stands for itself in Java; both engines read it so.
    return [`\\${next}`, 2];
  }

  /** A character class from `[` to its `]`: [text to emit, characters consumed]. */
  function charClass(src: string, at: number): [string, number] {
    let j = at + 1;
    let text = '[';
    if (src[j] === '^') {
      text += '^';
      j += 1;
    }
    let first = true;
    const members: string[] = [];
    while (j < src.length) {
      const c = src[j];
      if (c === ']' && !first) break;
      first = false;
      if (c === '[') fail('a nested character class [', j);
      if (c === '&' && src[j + 1] === '&') fail('character class intersection &&', j);
      if (c === '\\') {
        const [t, length] = escape(src, j, true);
        members.push(t);
        j += length;
        continue;
      }
      if (c === ']') {
        members.push('\\]');
        j += 1;
        continue;
      }
      const range = /^(.)-([^\]\\])/su.exec(src.slice(j));
      if (range) {
        members.push(caseFoldRange(range[1] ?? '', range[2] ?? ''));
        j += range[0].length;
        continue;
      }
      members.push(target === 'js' && top().ignoreCase && /[a-zA-Z]/.test(c) ? `${c.toLowerCase()}${c.toUpperCase()}` : c);
      j += 1;
    }
    if (j >= src.length) return fail('a character class [ without its ]', at);
    return [`${text}${members.join('')}]`, j + 1 - at];
  }

  /** A range, with its other-case letters added when a JavaScript translation is case-insensitive here. */
  function caseFoldRange(lo: string, hi: string): string {
    const range = `${lo}-${hi}`;
    if (target !== 'js' || !top().ignoreCase) return range;
    const a = lo.charCodeAt(0);
    const b = hi.charCodeAt(0);
    const extra: string[] = [];
    for (const [start, end, shift] of [
      [97, 122, -32],
      [65, 90, 32],
    ] as const) {
      const from = Math.max(a, start);
      const to = Math.min(b, end);
      if (from <= to) extra.push(`${String.fromCharCode(from + shift)}-${String.fromCharCode(to + shift)}`);
    }
    return range + extra.join('');
  }
}

/** Java inline flags as the target reads them: i, m, s kept; u (Unicode case) and d (Unix lines) need nothing. */
function javaFlags(flags: string, at: number, fail: (what: string, at: number) => never): string {
  let kept = '';
  for (const f of flags) {
    if (f === 'i' || f === 'm' || f === 's') kept += kept.includes(f) ? '' : f;
    else if (f === 'u' || f === 'd') continue;
    else if (f === 'x') fail('the comments flag (?x)', at);
    else if (f === 'U') fail('the flag (?U) (UNICODE_CHARACTER_CLASS)', at);
    else fail(`the inline flag ${f}`, at);
  }
  return kept;
}
