/** The comparison operations aws:branch supports. */
export const BRANCH_OPERATIONS = [
  'StringEquals',
  'EqualsIgnoreCase',
  'StartsWith',
  'EndsWith',
  'Contains',
  'NumericEquals',
  'NumericGreater',
  'NumericLesser',
  'NumericGreaterOrEquals',
  'NumericLesserOrEquals',
  'BooleanEquals',
] as const;

export type BranchOperation = (typeof BRANCH_OPERATIONS)[number];

/** A Boolean expression: `Variable` with one operation, or `And` / `Or` of expressions, or `Not` of one. */
export type BranchCondition = { Variable?: unknown; And?: unknown; Or?: unknown; Not?: unknown } & Partial<Record<BranchOperation, unknown>>;

/** One of `Choices`: a condition and the step to go to when it holds. */
export type BranchChoice = BranchCondition & { NextStep: string };

/** aws:branch `inputs`. */
export interface BranchInputs {
  Choices: BranchChoice[];
  Default?: string;
}

/**
 * Where the branch goes. `via: 'none'` (no choice held and there is no `Default`) leaves `nextStep` undefined: the
 * automation goes on as after any step, to the step's `nextStep`, the next step in the document, or the end
 * (`isEnd`).
 */
export type BranchOutcome = { via: 'choice'; choice: number; nextStep: string } | { via: 'default'; nextStep: string } | { via: 'none'; nextStep: undefined };

export interface BranchOptions {
  /** Resolves a `Variable` such as `"{{ GetInstance.platform }}"`; values are taken as they are without it. */
  resolve?: (variable: unknown) => unknown;
  /**
   * No choice held and there is no `Default`: `'continue'` (AWS's documented behaviour) or `'fail'`, which throws
   * {@link BranchError} for callers that treat it as a fault in the document.
   */
  onNoMatch?: 'continue' | 'fail';
}

/** An aws:branch step that cannot be evaluated: malformed Choices, or a value an operation cannot compare. */
export class BranchError extends Error {
  override name = 'BranchError';
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message);
  }
}

const OPERATIONS: ReadonlySet<string> = new Set(BRANCH_OPERATIONS);
const COMBINATORS = ['And', 'Or', 'Not'] as const;

/**
 * Evaluates aws:branch `Choices` in order and returns where the first that holds goes, else `Default`. When no choice
 * holds and there is no `Default`, AWS documents that "the automation processes the next step in the runbook": the
 * outcome is `{ via: 'none' }` unless `onNoMatch: 'fail'` is passed.
 *
 * Operations: StringEquals (exact), EqualsIgnoreCase, StartsWith, EndsWith and Contains on text (Contains on a
 * StringList value asks whether the list holds the operand); NumericEquals, NumericGreater, NumericLesser,
 * NumericGreaterOrEquals, NumericLesserOrEquals on numbers or numeric text; BooleanEquals on booleans or
 * `true`/`false` text. And, Or and Not nest to any depth and short-circuit.
 *
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-action-branch.html
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-branchdocs.html
 *
 * @throws BranchError when the inputs are malformed (all problems listed, see {@link branchProblems}), a numeric or
 *   boolean operation meets a value that is not one, or no choice matched with `onNoMatch: 'fail'`.
 * @example
 * evaluateBranch(
 *   { Choices: [{ NextStep: 'PutBucketKeysKMS', Not: { Variable: '{{ KmsKeyId }}', StringEquals: '' } }], Default: 'PutBucketKeysAES256' },
 *   { resolve: (v) => interpolate(v, context) },
 * );
 * // { via: 'default', nextStep: 'PutBucketKeysAES256' } when KmsKeyId is ""
 */
export function evaluateBranch(inputs: unknown, options: BranchOptions = {}): BranchOutcome {
  const problems = branchProblems(inputs);
  if (problems.length) throw new BranchError(`invalid aws:branch inputs: ${problems.join('; ')}`, problems);
  const { Choices, Default } = inputs as BranchInputs;
  const resolve = options.resolve ?? ((v: unknown) => v);

  for (const [i, choice] of Choices.entries()) {
    if (holds(choice, resolve, `Choices[${i}]`)) return { via: 'choice', choice: i, nextStep: choice.NextStep };
  }
  if (Default !== undefined) return { via: 'default', nextStep: Default };
  if (options.onNoMatch === 'fail') throw new BranchError('no choice matched and no Default');
  return { via: 'none', nextStep: undefined };
}

/**
 * Everything wrong with aws:branch inputs, one message per problem (empty when they are well formed): for checking a
 * document when it is loaded, as AWS does when a runbook is created.
 *
 * @example
 * branchProblems({ Choices: [{ NextStep: 'a', Variable: '{{ X }}', StringEqual: 'y' }] });
 * // ['Choices[0]: unsupported key StringEqual', 'Choices[0]: needs exactly one of …, found none']
 */
export function branchProblems(inputs: unknown): string[] {
  if (!isObject(inputs)) return ['inputs must be a map with Choices'];
  const problems: string[] = [];
  for (const key of Object.keys(inputs)) if (key !== 'Choices' && key !== 'Default') problems.push(`unsupported input ${key}`);
  if (inputs.Default !== undefined && !isStepName(inputs.Default)) problems.push('Default must be a step name');
  if (!Array.isArray(inputs.Choices) || inputs.Choices.length === 0) {
    problems.push('Choices must be a non-empty list');
    return problems;
  }
  inputs.Choices.forEach((choice: unknown, i) => {
    const at = `Choices[${i}]`;
    if (!isObject(choice)) {
      problems.push(`${at}: must be a map`);
      return;
    }
    if (!isStepName(choice.NextStep)) problems.push(`${at}: NextStep must be a step name`);
    conditionProblems(choice, at, true, problems);
  });
  return problems;
}

/**
 * The steps an aws:branch step can go to (each choice's NextStep, then Default), for checking step references.
 *
 * @example
 * branchTargets({ Choices: [{ NextStep: 'a', Variable: 'x', StringEquals: 'x' }], Default: 'b' }); // ['a', 'b']
 */
export function branchTargets(inputs: unknown): string[] {
  if (!isObject(inputs)) return [];
  const targets = Array.isArray(inputs.Choices) ? inputs.Choices.map((c: unknown) => (isObject(c) ? c.NextStep : undefined)) : [];
  targets.push(inputs.Default);
  return [...new Set(targets.filter(isStepName))];
}

function conditionProblems(condition: Record<string, unknown>, at: string, isChoice: boolean, problems: string[]): void {
  const keys = Object.keys(condition).filter((k) => !(isChoice && k === 'NextStep'));
  const operations = keys.filter((k) => OPERATIONS.has(k));
  const combinators = keys.filter((k) => (COMBINATORS as readonly string[]).includes(k));
  for (const key of keys) {
    if (key !== 'Variable' && !OPERATIONS.has(key) && !(COMBINATORS as readonly string[]).includes(key)) problems.push(`${at}: unsupported key ${key}`);
  }
  const kinds = operations.length + combinators.length;
  if (kinds !== 1) {
    const found = kinds === 0 ? 'none' : [...operations, ...combinators].join(', ');
    problems.push(`${at}: needs exactly one of an operation (${BRANCH_OPERATIONS.join(', ')}), And, Or or Not, found ${found}`);
    return;
  }
  if (operations.length === 1) {
    if (!('Variable' in condition)) problems.push(`${at}: ${operations[0]} needs a Variable`);
    return;
  }
  const combinator = combinators[0];
  if ('Variable' in condition) problems.push(`${at}: Variable cannot sit beside ${combinator}`);
  const operand = condition[combinator];
  if (combinator === 'Not') {
    if (isObject(operand)) conditionProblems(operand, `${at}.Not`, false, problems);
    else problems.push(`${at}.Not: must be a condition`);
    return;
  }
  if (!Array.isArray(operand) || operand.length === 0) {
    problems.push(`${at}.${combinator}: must be a non-empty list of conditions`);
    return;
  }
  operand.forEach((inner: unknown, j) => {
    if (isObject(inner)) conditionProblems(inner, `${at}.${combinator}[${j}]`, false, problems);
    else problems.push(`${at}.${combinator}[${j}]: must be a condition`);
  });
}

function holds(condition: BranchCondition, resolve: (v: unknown) => unknown, at: string): boolean {
  if (condition.And !== undefined) return (condition.And as BranchCondition[]).every((c, j) => holds(c, resolve, `${at}.And[${j}]`));
  if (condition.Or !== undefined) return (condition.Or as BranchCondition[]).some((c, j) => holds(c, resolve, `${at}.Or[${j}]`));
  if (condition.Not !== undefined) return !holds(condition.Not as BranchCondition, resolve, `${at}.Not`);
  const operation = BRANCH_OPERATIONS.find((op) => op in condition)!;
  return compare(operation, resolve(condition.Variable), condition[operation], `${at}.${operation}`);
}

function compare(operation: BranchOperation, value: unknown, operand: unknown, at: string): boolean {
  switch (operation) {
    case 'StringEquals':
      return text(value, at) === text(operand, at);
    case 'EqualsIgnoreCase':
      return text(value, at).toLowerCase() === text(operand, at).toLowerCase();
    case 'StartsWith':
      return text(value, at).startsWith(text(operand, at));
    case 'EndsWith':
      return text(value, at).endsWith(text(operand, at));
    case 'Contains':
      return Array.isArray(value) ? value.some((item) => text(item, at) === text(operand, at)) : text(value, at).includes(text(operand, at));
    case 'NumericEquals':
      return number(value, at) === number(operand, at);
    case 'NumericGreater':
      return number(value, at) > number(operand, at);
    case 'NumericLesser':
      return number(value, at) < number(operand, at);
    case 'NumericGreaterOrEquals':
      return number(value, at) >= number(operand, at);
    case 'NumericLesserOrEquals':
      return number(value, at) <= number(operand, at);
    case 'BooleanEquals':
      return boolean(value, at) === boolean(operand, at);
  }
}

function text(value: unknown, at: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new BranchError(`${at}: cannot compare ${describe(value)} as text`);
}

const NUMERIC = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function number(value: unknown, at: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && NUMERIC.test(value.trim())) return Number(value.trim());
  throw new BranchError(`${at}: ${describe(value)} is not a number`);
}

function boolean(value: unknown, at: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw new BranchError(`${at}: ${describe(value)} is not a boolean`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStepName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function describe(value: unknown): string {
  if (value === undefined) return 'an undefined value';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `the list ${JSON.stringify(value)}`;
  if (typeof value === 'object') return `the map ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}
