import jsep from 'jsep';

/**
 * What a filter expression (`[?(…)]`) in a selector may do: read fields of the current item `@` (or of the whole
 * response, `@root`), compare them with literals or each other (`==`, `!=`, `===`, `!==`, `<`, `<=`, `>`, `>=`),
 * combine tests with `&&`, `||`, `!`, and test that a field exists (`[?(@.KmsKeyId)]`). Nothing else: no function
 * or method call, no assignment, no arithmetic, no regular expression. A selector comes from a document, and a
 * document must not run code.
 *
 * jsep (the parser jsonpath-plus itself uses) reads the expression; this class checks every node against the list
 * above and evaluates the result itself, so jsonpath-plus's own evaluator, which allows calls, never runs. It is
 * handed to jsonpath-plus as its `eval` class: jsonpath-plus has already rewritten `@` to `_$_v` and `@root` to
 * `_$_root` in the code it passes.
 *
 * @example
 * new FilterExpression("_$_v.State == 'available'").runInNewContext({ _$_v: { State: 'available' } }); // true
 */
export class FilterExpression {
  private readonly ast: jsep.Expression;

  constructor(readonly code: string) {
    let ast: jsep.Expression;
    try {
      ast = jsep(code);
    } catch (error) {
      throw new FilterRefused(`${shown(code)} is not an expression: ${(error as Error).message}`);
    }
    check(ast, code);
    this.ast = ast;
  }

  runInNewContext(context: Record<string, unknown>): unknown {
    return evaluate(this.ast, context);
  }
}

/** A filter expression that is not a plain comparison, or not an expression at all. */
export class FilterRefused extends Error {
  override name = 'FilterRefused';
}

const ROOTS = new Set(['_$_v', '_$_root']);
const COMPARISONS = new Set(['==', '!=', '===', '!==', '<', '<=', '>', '>=']);
const LOGICAL = new Set(['&&', '||']);

const ALLOWED = 'filters may read fields of @ or @root, compare them (==, !=, <, <=, >, >=), combine tests (&&, ||, !) and test that a field exists';

function shown(code: string): string {
  return code.replaceAll('_$_root', '@root').replaceAll('_$_v', '@');
}

function check(node: jsep.Expression, code: string): void {
  const refuse = (what: string): never => {
    throw new FilterRefused(`filter ${shown(code)} uses ${what}, which is not allowed: ${ALLOWED}`);
  };
  switch (node.type) {
    case 'Literal': {
      const value = (node as jsep.Literal).value;
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) refuse('a regular expression');
      return;
    }
    case 'Identifier': {
      const name = (node as jsep.Identifier).name;
      if (!ROOTS.has(name)) refuse(`the name ${shown(name)}`);
      return;
    }
    case 'MemberExpression': {
      const member = node as jsep.MemberExpression;
      check(member.object, code);
      if (member.computed) {
        const property = member.property;
        if (property.type !== 'Literal' || !['string', 'number'].includes(typeof (property as jsep.Literal).value)) refuse('a computed field name');
      } else if (member.property.type !== 'Identifier') refuse('a field that is not a name');
      return;
    }
    case 'BinaryExpression': {
      const binary = node as jsep.BinaryExpression;
      if (!COMPARISONS.has(binary.operator) && !LOGICAL.has(binary.operator)) refuse(`the operator ${binary.operator}`);
      check(binary.left, code);
      check(binary.right, code);
      return;
    }
    case 'UnaryExpression': {
      const unary = node as jsep.UnaryExpression;
      if (unary.operator === '-' && unary.argument.type === 'Literal' && typeof (unary.argument as jsep.Literal).value === 'number') return;
      if (unary.operator !== '!') refuse(`the operator ${unary.operator}`);
      check(unary.argument, code);
      return;
    }
    case 'CallExpression':
      return refuse('a function call');
    case 'Compound':
      return refuse('several statements');
    default:
      return refuse(`a ${node.type}`);
  }
}

function evaluate(node: jsep.Expression, context: Record<string, unknown>): unknown {
  switch (node.type) {
    case 'Literal':
      return (node as jsep.Literal).value;
    case 'Identifier': {
      const name = (node as jsep.Identifier).name;
      return Object.hasOwn(context, name) ? context[name] : undefined;
    }
    case 'MemberExpression': {
      const member = node as jsep.MemberExpression;
      const object = evaluate(member.object, context);
      const key = member.computed ? String((member.property as jsep.Literal).value) : (member.property as jsep.Identifier).name;
      // Own data only: a field named constructor or __proto__ reads nothing of JavaScript's.
      if (typeof object !== 'object' || object === null || !Object.hasOwn(object, key)) return undefined;
      return (object as Record<string, unknown>)[key];
    }
    case 'UnaryExpression': {
      const unary = node as jsep.UnaryExpression;
      const value = evaluate(unary.argument, context);
      return unary.operator === '-' ? -(value as number) : !truthy(value);
    }
    case 'BinaryExpression': {
      const binary = node as jsep.BinaryExpression;
      const left = evaluate(binary.left, context);
      if (binary.operator === '&&') return truthy(left) && truthy(evaluate(binary.right, context));
      if (binary.operator === '||') return truthy(left) || truthy(evaluate(binary.right, context));
      return compare(binary.operator, left, evaluate(binary.right, context));
    }
    default:
      return false;
  }
}

/** An existence test: a field that is there, even `false`, `0` or `""`, exists; null and missing do not. */
function truthy(value: unknown): boolean {
  return typeof value === 'boolean' ? value : value !== undefined && value !== null;
}

/**
 * Equality of JSON values without JavaScript's coercions, except that a number and its decimal text are equal (AWS
 * responses give some numbers as text); order only between two numbers or two strings.
 */
function compare(operator: string, a: unknown, b: unknown): boolean {
  const equal = (): boolean => {
    if (a === b) return true;
    if (typeof a === 'number' && typeof b === 'string') return b.trim() !== '' && Number(b) === a;
    if (typeof a === 'string' && typeof b === 'number') return a.trim() !== '' && Number(a) === b;
    return false;
  };
  const ordered = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
  switch (operator) {
    case '==':
    case '===':
      return equal();
    case '!=':
    case '!==':
      return !equal();
    case '<':
      return ordered && (a as number) < (b as number);
    case '<=':
      return ordered && (a as number) <= (b as number);
    case '>':
      return ordered && (a as number) > (b as number);
    case '>=':
      return ordered && (a as number) >= (b as number);
    default:
      return false;
  }
}
