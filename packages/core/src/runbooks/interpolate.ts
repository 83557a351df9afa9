/**
 * What `{{ … }}` references resolve against. Time is passed in (`now`): core never reads the clock.
 */
export interface InterpolationContext {
  /** The execution's resolved parameter values, by name. */
  parameters: Record<string, unknown>;
  /** Outputs of the steps that have run, by step name then output name. */
  stepOutputs: Record<string, Record<string, unknown>>;
  executionId: string;
  accountId: string;
  region: string;
  /** aws, aws-cn, aws-us-gov, …; derived from the region when absent. */
  partition?: string;
  now: Date;
}

export interface InterpolateOptions {
  /** Where `value` sits in the document, prefixed to the paths in errors (e.g. `mainSteps[2].inputs`). */
  path?: string;
}

/** A `{{ … }}` reference that names nothing known: which variable, and where in the value it was found. */
export class InterpolationError extends Error {
  override name = 'InterpolationError';
  constructor(
    readonly variable: string,
    readonly path: string,
  ) {
    super(`unknown variable {{ ${variable} }} at ${path || '(root)'}`);
  }
}

const REFERENCE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE_REFERENCE = /^\{\{\s*([^{}]*?)\s*\}\}$/;

/**
 * Replaces `{{ … }}` references throughout a step's inputs (strings, and recursively arrays and objects):
 * parameters (`{{ InstanceId }}`), step outputs (`{{ getImage.ImageId }}`), `automation:EXECUTION_ID`,
 * `automation:AUTOMATION_EXECUTION_ID` and the `global:` system variables ACCOUNT_ID, REGION, DATE (yyyy-MM-dd),
 * DATE_TIME (yyyy-MM-dd_HH.mm.ss), AWS_PARTITION and AWS_URL_SUFFIX, all in UTC.
 *
 * A string that is exactly one reference takes the referenced value whole, with its type, so a StringList parameter
 * fills a list input and an Integer stays a number; such a reference that is an item of a list and resolves to a list
 * is spliced into it (`InstanceIds: ["{{ InstanceIds }}"]`). A reference inside a longer string is stringified: lists
 * and maps as JSON. Object keys are left as written. The value passed in is not modified.
 *
 * @throws InterpolationError naming the first unknown variable and its path.
 * @example
 * interpolate(
 *   { InstanceIds: '{{ InstanceId }}', ImageName: '{{ InstanceId }}_{{ global:DATE }}' },
 *   { parameters: { InstanceId: ['i-1'] }, stepOutputs: {}, executionId: 'e-1', accountId: '123456789012',
 *     region: 'us-east-1', now: new Date('2026-03-01T08:09:10Z') },
 * );
 * // { InstanceIds: ['i-1'], ImageName: '["i-1"]_2026-03-01' }
 */
export function interpolate(value: unknown, context: InterpolationContext, options: InterpolateOptions = {}): unknown {
  const resolver = new Resolver(context);
  return walk(value, options.path ?? '', resolver);
}

/**
 * The value one variable name (the text between the braces) stands for, or undefined when it names nothing.
 *
 * @example
 * resolveVariable('global:REGION', context); // 'us-east-1'
 */
export function resolveVariable(variable: string, context: InterpolationContext): unknown {
  return new Resolver(context).lookup(variable);
}

/** The partition a region belongs to, as its ARNs spell it. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  return 'aws';
}

// Partitions, region prefixes and DNS suffixes as in the AWS SDK's endpoint rules (@aws-sdk/util-endpoints partitions.json).
const URL_SUFFIX: Record<string, string> = {
  aws: 'amazonaws.com',
  'aws-us-gov': 'amazonaws.com',
  'aws-cn': 'amazonaws.com.cn',
  'aws-iso': 'c2s.ic.gov',
  'aws-iso-b': 'sc2s.sgov.gov',
  'aws-iso-e': 'cloud.adc-e.uk',
  'aws-iso-f': 'csp.hci.ic.gov',
};

class Resolver {
  private readonly system: Map<string, string>;

  constructor(private readonly context: InterpolationContext) {
    const partition = context.partition ?? partitionOf(context.region);
    const iso = context.now.toISOString(); // yyyy-MM-ddTHH:mm:ss.sssZ
    this.system = new Map([
      ['automation:EXECUTION_ID', context.executionId],
      ['automation:AUTOMATION_EXECUTION_ID', context.executionId],
      ['global:ACCOUNT_ID', context.accountId],
      ['global:REGION', context.region],
      ['global:DATE', iso.slice(0, 10)],
      ['global:DATE_TIME', `${iso.slice(0, 10)}_${iso.slice(11, 19).replaceAll(':', '.')}`],
      ['global:AWS_PARTITION', partition],
      ['global:AWS_URL_SUFFIX', URL_SUFFIX[partition] ?? 'amazonaws.com'],
    ]);
  }

  lookup(variable: string): unknown {
    if (this.system.has(variable)) return this.system.get(variable);
    if (variable.includes(':')) return undefined;
    if (Object.hasOwn(this.context.parameters, variable)) return this.context.parameters[variable];
    // Step names cannot contain a dot, output names can: the first dot separates them.
    const dot = variable.indexOf('.');
    if (dot <= 0) return undefined;
    const outputs = this.context.stepOutputs[variable.slice(0, dot)];
    const name = variable.slice(dot + 1);
    return outputs && Object.hasOwn(outputs, name) ? outputs[name] : undefined;
  }

  resolve(variable: string, path: string): unknown {
    const value = this.lookup(variable);
    if (value === undefined) throw new InterpolationError(variable, path);
    return value;
  }
}

function walk(value: unknown, path: string, resolver: Resolver): unknown {
  if (typeof value === 'string') return interpolateString(value, path, resolver);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    value.forEach((item, i) => {
      const itemPath = `${path}[${i}]`;
      const whole = typeof item === 'string' ? WHOLE_REFERENCE.exec(item) : null;
      const resolved = walk(item, itemPath, resolver);
      if (whole && Array.isArray(resolved)) out.push(...(resolved as unknown[]));
      else out.push(resolved);
    });
    return out;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = walk(item, path ? `${path}.${key}` : key, resolver);
    return out;
  }
  return value;
}

function interpolateString(text: string, path: string, resolver: Resolver): unknown {
  const whole = WHOLE_REFERENCE.exec(text);
  if (whole) return copy(resolver.resolve(whole[1], path));
  return text.replace(REFERENCE, (_match, variable: string) => stringify(resolver.resolve(variable, path)));
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

// Lists and maps are handed out as copies so that a step cannot change a parameter or another step's output.
function copy(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}
