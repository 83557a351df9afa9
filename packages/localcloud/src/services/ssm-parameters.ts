/**
 * Parameter Store's persisted state (per account and region), AWS's rules for names, values, tiers, policies
 * and labels, and the lookups the SSM operations share. Times are epoch ms; answers turn them into Dates.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, validation } from '../errors.js';
import type { Store } from '../store.js';
import { type Tag } from './filters.js';
import { checkTagCount, validateTags } from './ssm-tag-rules.js';

export const SSM_SERVICE = 'ssm';

export type ParameterType = 'String' | 'StringList' | 'SecureString';
export type StoredTier = 'Standard' | 'Advanced';

export const PARAMETER_TYPES: ParameterType[] = ['String', 'StringList', 'SecureString'];
export const TIERS = ['Standard', 'Advanced', 'Intelligent-Tiering'] as const;
export const DATA_TYPES = ['text', 'aws:ec2:image', 'aws:ssm:integration'] as const;
export const POLICY_TYPES = ['Expiration', 'ExpirationNotification', 'NoChangeNotification'] as const;

export const MAX_NAME_LENGTH = 1011;
export const MAX_HIERARCHY_LEVELS = 15;
export const MAX_VERSIONS = 100;
export const MAX_POLICIES = 10;
export const MAX_LABELS_PER_VERSION = 10;
export const STANDARD_MAX_VALUE = 4096;
export const ADVANCED_MAX_VALUE = 8192;
export const DEFAULT_KEY_ID = 'alias/aws/ssm';

/**
 * One parameter policy as stored: AWS's three answered fields, plus what the emulator needs to enforce it on the
 * virtual clock. `id` survives new versions that keep the policies and changes when a PutParameter replaces them,
 * so a timer armed for a replaced policy finds nothing to do.
 */
export interface PolicyRecord {
  PolicyText: string;
  PolicyType: string;
  /** Pending until the policy has acted, then Finished (AWS's ParameterInlinePolicy statuses). */
  PolicyStatus: string;
  id: string;
  /** Epoch ms when the policy was applied (quoted in the event's action-reason). */
  createdAt: number;
  /** The due time (epoch ms) the policy last acted for, so that a second timer for the same moment does nothing. */
  firedFor?: number;
}

export interface ParameterVersion {
  version: number;
  value: string;
  type: ParameterType;
  dataType: string;
  tier: StoredTier;
  description?: string;
  allowedPattern?: string;
  keyId?: string;
  policies: PolicyRecord[];
  /** Epoch ms, virtual time. */
  lastModifiedDate: number;
  lastModifiedUser: string;
  labels: string[];
}

export interface ParameterRecord {
  name: string;
  tags: Tag[];
  /** Oldest first; the last one is the current value. At most MAX_VERSIONS are kept. */
  versions: ParameterVersion[];
}

/** Plain JSON, persisted by the store. */
export interface SsmState {
  parameters: Record<string, ParameterRecord>;
  /** Virtual ms between PutParameter and the check of an `aws:ec2:image` value (default 0: checked at once). */
  imageValidationDelayMs?: number;
}

export function ssmState(store: Store, account: string, region: string): SsmState {
  return store.scope<SsmState>(SSM_SERVICE, account, region, () => ({ parameters: {} }));
}

/**
 * How long (virtual time) Parameter Store takes to validate an `aws:ec2:image` value in a region: the write shows
 * (or is dropped) only then, as on AWS where validation runs after PutParameter returns. 0 restores the default.
 * For tests and stages that want slow validation: `setImageValidationDelay(cloud.store, '000000000000', 'us-east-1', 25_000)`.
 */
export function setImageValidationDelay(store: Store, account: string, region: string, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the image validation delay is a non-negative number of milliseconds');
  const state = ssmState(store, account, region);
  if (ms === 0) delete state.imageValidationDelayMs;
  else state.imageValidationDelayMs = ms;
  store.changed();
}

export function latest(p: ParameterRecord): ParameterVersion {
  return p.versions[p.versions.length - 1];
}

export function parameterArn(region: string, account: string, name: string): string {
  return `arn:aws:ssm:${region}:${account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

export const callerArn = (account: string) => `arn:aws:iam::${account}:root`;

export const parameterNotFound = (name: string) => new AwsError('ParameterNotFound', `Parameter ${name} not found.`);

// --- names ---------------------------------------------------------------------------------------------------

export const NAME_CHARS = /^[a-zA-Z0-9_.\-/]+$/;
const NAME_RULES =
  'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';

/** Checks a name to create under AWS's naming rules; returns it without surrounding spaces (as AWS trims them). */
export function validateNewName(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
  const name = raw.trim();
  if (/\s/.test(name)) throw validation(`Parameter name can't contain spaces: ${name}`);
  if (name.length > MAX_NAME_LENGTH) throw validation(`Parameter name ${name.slice(0, 40)}… is ${name.length} characters long; the maximum is ${MAX_NAME_LENGTH}.`);
  if (!NAME_CHARS.test(name)) throw validation(NAME_RULES);
  if (name.includes('/') && !name.startsWith('/')) throw validation('Parameter name must be a fully qualified name.');
  if (name.includes('//') || (name.length > 1 && name.endsWith('/')) || name === '/') throw validation(NAME_RULES);
  const segments = name.split('/').filter(Boolean);
  if (segments.length > MAX_HIERARCHY_LEVELS) {
    throw new AwsError(
      'HierarchyLevelLimitExceededException',
      `A hierarchy can have a maximum of ${MAX_HIERARCHY_LEVELS} levels (${name} has ${segments.length}). For more information, see Requirements and constraints for parameter names in the AWS Systems Manager User Guide.`,
    );
  }
  const first = segments[0].toLowerCase();
  if (first.startsWith('aws') || first.startsWith('ssm')) {
    if (name.toLowerCase().startsWith('/aws/')) throw new AwsError('AccessDeniedException', `No access to reserved parameter name: ${name}.`);
    throw validation(NAME_RULES);
  }
  return name;
}

/**
 * A name as GetParameter(s) take it: a name or ARN, optionally with `:version` or `:label`. The selector is
 * answered back as `Selector` (`:3`, `:prod`). An ARN's `parameter/x` is the path `/x` if that exists, else `x`.
 */
export function parseNameSelector(raw: string, state?: SsmState): { name: string; selector?: string } {
  let text = raw.trim();
  const arn = /^arn:aws[a-z-]*:ssm:[^:]*:\d*:parameter(\/.*)$/.exec(text);
  if (arn) {
    const rest = arn[1];
    const single = rest.indexOf('/', 1) < 0;
    const bare = rest.slice(1).split(':')[0];
    text = single && !(state && state.parameters[`/${bare}`]) ? rest.slice(1) : rest;
  }
  const colon = text.indexOf(':');
  return colon < 0 ? { name: text } : { name: text.slice(0, colon), selector: text.slice(colon) };
}

/** The version a selector names, or the latest. Throws ParameterNotFound / ParameterVersionNotFound. */
export function resolveVersion(state: SsmState, name: string, selector: string | undefined): ParameterVersion {
  const p = state.parameters[name];
  if (!p) throw parameterNotFound(selector ? `${name}${selector}` : name);
  if (!selector) return latest(p);
  const key = selector.slice(1);
  if (/^\d+$/.test(key)) {
    const v = p.versions.find((x) => x.version === Number(key));
    if (!v) throw new AwsError('ParameterVersionNotFound', `Systems Manager could not find version ${key} of ${name}. Verify the version and try again.`);
    return v;
  }
  const v = p.versions.find((x) => x.labels.includes(key));
  if (!v) throw new AwsError('ParameterVersionNotFound', `Systems Manager could not find label ${key} of ${name}. Verify the label and try again.`);
  return v;
}

// --- labels -------------------------------------------------------------------------------------------------

/** Letters, numbers, `.`, `-`, `_`; 1-100 characters; not starting with a number, `aws` or `ssm`. */
export function isValidLabel(label: string): boolean {
  return /^[a-zA-Z0-9_.-]{1,100}$/.test(label) && !/^[0-9]/.test(label) && !/^(aws|ssm)/i.test(label);
}

// --- policies -----------------------------------------------------------------------------------------------

/**
 * Parses the `Policies` JSON array: at most ten, of the three documented types, with their required attributes.
 * Each policy is kept as its own JSON text, as GetParameterHistory answers it. `[{}]` (and `[]`) removes every
 * policy, as the user guide documents. Only Expiration may not repeat: the guide's own example carries two
 * ExpirationNotification policies (30 and 15 days before).
 */
export function parsePolicies(text: string, now: number): PolicyRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AwsError('InvalidPolicyAttributeException', 'Policies must be a JSON array of parameter policies.');
  }
  if (!Array.isArray(parsed)) throw new AwsError('InvalidPolicyAttributeException', 'Policies must be a JSON array of parameter policies.');
  if (parsed.length > MAX_POLICIES) {
    throw new AwsError('PoliciesLimitExceededException', `You specified more than the maximum number of allowed policies for the parameter. The maximum is ${MAX_POLICIES}.`);
  }
  const isEmpty = (p: unknown) => typeof p === 'object' && p !== null && !Array.isArray(p) && Object.keys(p).length === 0;
  let expirations = 0;
  return parsed.filter((p) => !isEmpty(p)).map((policy: unknown) => {
    const p = (typeof policy === 'object' && policy !== null ? policy : {}) as { Type?: unknown; Version?: unknown; Attributes?: unknown };
    const type = p.Type;
    if (typeof type !== 'string' || !(POLICY_TYPES as readonly string[]).includes(type)) {
      throw new AwsError('InvalidPolicyTypeException', `The policy type ${String(type)} is not supported. Parameter Store supports the following policy types: ${POLICY_TYPES.join(', ')}.`);
    }
    if (type === 'Expiration' && ++expirations > 1) {
      throw new AwsError('IncompatiblePolicyException', 'There is a conflict in the policies specified for this parameter: a parameter can have only one Expiration policy.');
    }
    const attrs = (typeof p.Attributes === 'object' && p.Attributes !== null ? p.Attributes : {}) as Record<string, unknown>;
    const bad = (why: string) => new AwsError('InvalidPolicyAttributeException', `${type} policy: ${why}`);
    if (type === 'Expiration') {
      if (typeof attrs.Timestamp !== 'string' || Number.isNaN(Date.parse(attrs.Timestamp))) throw bad('Attributes.Timestamp must be an ISO-8601 time.');
    } else {
      const field = type === 'ExpirationNotification' ? 'Before' : 'After';
      if (typeof attrs[field] !== 'string' || !/^\d+$/.test(attrs[field])) throw bad(`Attributes.${field} must be a whole number as a string.`);
      if (attrs.Unit !== 'Days' && attrs.Unit !== 'Hours') throw bad('Attributes.Unit must be Days or Hours.');
    }
    return { PolicyText: JSON.stringify(policy), PolicyType: type, PolicyStatus: 'Pending', id: randomUUID(), createdAt: now };
  });
}

/**
 * The policies a new version keeps when PutParameter has no `Policies`: the same ones (same ids, so their timers
 * stay valid), except that a NoChangeNotification starts over, as its period runs from the new LastModifiedTime.
 */
export function carryPolicies(previous: PolicyRecord[]): PolicyRecord[] {
  return previous.map((p) => {
    const copy = { ...p };
    if (p.PolicyType === 'NoChangeNotification') {
      copy.PolicyStatus = 'Pending';
      delete copy.firedFor;
    }
    return copy;
  });
}

/** A policy as AWS answers it (ParameterInlinePolicy), without the emulator's bookkeeping. */
export function policyOut(p: PolicyRecord): { PolicyText: string; PolicyType: string; PolicyStatus: string } {
  return { PolicyText: p.PolicyText, PolicyType: p.PolicyType, PolicyStatus: p.PolicyStatus };
}

// --- writing a version ---------------------------------------------------------------------------------------

export interface PutRequest {
  Name?: string;
  Value?: string;
  Type?: string;
  Description?: string;
  KeyId?: string;
  Overwrite?: boolean;
  AllowedPattern?: string;
  Tags?: { Key?: string; Value?: string }[];
  Tier?: string;
  Policies?: string;
  DataType?: string;
}

/** A checked new version, not yet stored: what PutParameter (and the seed) would write. */
export interface PreparedPut {
  name: string;
  operation: 'Create' | 'Update';
  version: ParameterVersion;
  tags: Tag[];
}

/** Applies every synchronous PutParameter rule and builds the next version of the parameter. */
export function preparePut(state: SsmState, req: PutRequest, now: number, user: string): PreparedPut {
  const name = validateNewName(req.Name);
  const existing = state.parameters[name];
  const previous = existing ? latest(existing) : undefined;
  if (req.Value === undefined || req.Value === null) throw validation("1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null");
  if (req.Value.length < 1) throw validation("1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1");
  if (req.Tags && req.Tags.length > 0 && req.Overwrite) {
    throw validation(
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    );
  }
  if (existing && !req.Overwrite) {
    throw new AwsError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
  }

  if (req.Type !== undefined && !(PARAMETER_TYPES as string[]).includes(req.Type)) {
    throw validation(`1 validation error detected: Value '${req.Type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [${PARAMETER_TYPES.join(', ')}]`);
  }
  const type = (req.Type ?? previous?.type) as ParameterType | undefined;
  if (!type) throw validation('A parameter type is required when you create a parameter.');

  const dataType = req.DataType ?? previous?.dataType ?? 'text';
  if (!(DATA_TYPES as readonly string[]).includes(dataType)) throw validation(`The following data type is not supported: ${dataType} (Data type names are all lowercase.)`);
  // Of the data types emulated, text is the only one that is not aws:*, and those can't be changed to or from.
  if (previous && previous.dataType !== dataType) {
    throw validation(`You can't change the data type of ${name} from ${previous.dataType} to ${dataType}: parameters can't be changed to or from the aws:ec2:image and aws:ssm:integration data types.`);
  }
  if (dataType === 'aws:ec2:image' && type !== 'String') throw validation(`The ${dataType} data type is supported only for parameters of type String.`);

  const description = req.Description ?? previous?.description;
  if (description !== undefined && description.length > 1024) {
    throw validation("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1024");
  }

  const allowedPattern = req.AllowedPattern ?? previous?.allowedPattern;
  if (allowedPattern !== undefined) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(allowedPattern);
    } catch (e) {
      throw new AwsError('InvalidAllowedPatternException', `The request does not meet the regular expression requirement: ${(e as Error).message}`);
    }
    if (!pattern.test(req.Value)) {
      throw new AwsError('ParameterPatternMismatchException', `Parameter value, cannot be validated against allowedPattern: ${allowedPattern}`);
    }
  }

  const policies = req.Policies !== undefined ? parsePolicies(req.Policies, now) : carryPolicies(previous?.policies ?? []);
  const tier = decideTier(name, req.Tier, previous?.tier, req.Value.length, policies.length > 0);
  const limit = tier === 'Advanced' ? ADVANCED_MAX_VALUE : STANDARD_MAX_VALUE;
  if (req.Value.length > limit) {
    throw validation(
      tier === 'Standard'
        ? `Standard tier parameters support a maximum parameter value of ${STANDARD_MAX_VALUE} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.`
        : `Advanced tier parameters support a maximum parameter value of ${ADVANCED_MAX_VALUE} characters.`,
    );
  }

  const tags = validateTags(req.Tags);
  checkTagCount(tags);

  const keyId = type === 'SecureString' ? (req.KeyId ?? (previous?.type === 'SecureString' ? previous.keyId : undefined) ?? DEFAULT_KEY_ID) : undefined;
  const version: ParameterVersion = {
    version: (previous?.version ?? 0) + 1,
    value: req.Value,
    type,
    dataType,
    tier,
    ...(description !== undefined ? { description } : {}),
    ...(allowedPattern !== undefined ? { allowedPattern } : {}),
    ...(keyId !== undefined ? { keyId } : {}),
    policies,
    lastModifiedDate: now,
    lastModifiedUser: user,
    labels: [],
  };
  return { name, operation: existing ? 'Update' : 'Create', version, tags };
}

/**
 * The tier to store: an explicit Standard or Advanced; Intelligent-Tiering picks Advanced only when the request
 * needs it (policies, a value over 4 KB). An Advanced parameter can't go back to Standard.
 */
function decideTier(name: string, requested: string | undefined, previous: StoredTier | undefined, valueLength: number, hasPolicies: boolean): StoredTier {
  if (requested !== undefined && !(TIERS as readonly string[]).includes(requested)) {
    throw validation(`1 validation error detected: Value '${requested}' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [${TIERS.join(', ')}]`);
  }
  const needsAdvanced = hasPolicies || valueLength > STANDARD_MAX_VALUE;
  let tier: StoredTier;
  if (requested === 'Advanced') tier = 'Advanced';
  else if (requested === 'Standard') tier = 'Standard';
  else if (requested === 'Intelligent-Tiering') tier = needsAdvanced || previous === 'Advanced' ? 'Advanced' : 'Standard';
  else tier = previous ?? 'Standard';
  if (previous === 'Advanced' && tier === 'Standard') {
    throw validation(
      `This parameter (${name}) uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.`,
    );
  }
  if (hasPolicies && tier !== 'Advanced') {
    throw validation('Parameter policies are supported only for the advanced-parameter tier. Use Tier Advanced or Intelligent-Tiering.');
  }
  return tier;
}

/** Stores a prepared version, dropping the oldest past MAX_VERSIONS (unless a label holds it). */
export function commitPut(state: SsmState, put: PreparedPut): ParameterRecord {
  const existing = state.parameters[put.name];
  if (!existing) {
    const record: ParameterRecord = { name: put.name, tags: put.tags, versions: [put.version] };
    state.parameters[put.name] = record;
    return record;
  }
  if (existing.versions.length >= MAX_VERSIONS) {
    const oldest = existing.versions[0];
    if (oldest.labels.length > 0) {
      throw new AwsError(
        'ParameterMaxVersionLimitExceeded',
        `You attempted to create a new version of ${put.name} by calling the PutParameter API with the overwrite flag. Version ${oldest.version}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.`,
      );
    }
    existing.versions.shift();
  }
  existing.versions.push(put.version);
  return existing;
}
