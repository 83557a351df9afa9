/**
 * SSM (awsJson1_1, `AmazonSSM.*`). Parameter Store here: parameters with versions, labels, tiers, data types (with
 * `aws:ec2:image` checked against the emulated EC2 images), `Parameter Store Change` events, and policies that act
 * on the virtual clock (ssm-policies.ts). The rest of SSM comes from its own modules: tags (ssm-tags.ts), OpsCenter
 * (ssm-opsitems.ts), hybrid activations (ssm-activations.ts), managed nodes (ssm-managed-nodes.ts), Run Command with its
 * simulated agent and patch states (ssm-commands.ts), documents (ssm-documents.ts) and their sharing
 * (ssm-document-permissions.ts), and service settings (ssm-service-settings.ts).
 */
import { AwsError, validation } from '../errors.js';
import type { Store } from '../store.js';
import { findImage, IMAGE_ID } from './ec2-model.js';
import { pageAfter, upsertTags, type Tag } from './filters.js';
import { activationOperations } from './ssm-activations.js';
import { armAllCommands, commandOperations } from './ssm-commands.js';
import { documentPermissionOperations } from './ssm-document-permissions.js';
import { documentOperations } from './ssm-documents.js';
import { opsItemOperations } from './ssm-opsitems.js';
import { managedNodeOperations } from './ssm-managed-nodes.js';
import { invalidNextToken, maxResults } from './ssm-paging.js';
import { armAllPolicies, armParameterPolicies } from './ssm-policies.js';
import { serviceSettingOperations } from './ssm-service-settings.js';
import { tagOperations } from './ssm-tags.js';
import {
  callerArn,
  commitPut,
  isValidLabel,
  latest,
  MAX_LABELS_PER_VERSION,
  parameterArn,
  parameterNotFound,
  parseNameSelector,
  policyOut,
  preparePut,
  resolveVersion,
  ssmState,
  type ParameterRecord,
  type ParameterType,
  type ParameterVersion,
  type PreparedPut,
  type PutRequest,
  type SsmState,
} from './ssm-parameters.js';
import { parameterFilter, underPath, type StringFilter } from './ssm-filters.js';
import type { RequestContext, ServiceDefinition } from './types.js';

export { registerFromControlApi, registerManagedInstance, type RegistrationDetails } from './ssm-activations.js';
export { seedDocuments, type SeedDocument } from './ssm-documents.js';
export { configureAgent, type AgentOutcome, type AgentSettings } from './ssm-managed-nodes.js';
export { kickCommands } from './ssm-commands.js';
export { DEFAULT_OPEN_OPSITEM_LIMIT, setOpenOpsItemLimit } from './ssm-opsitems.js';
export { setImageValidationDelay } from './ssm-parameters.js';

/** The exception AWS reports, in the change event, for an `aws:ec2:image` value it could not validate. */
export const AMI_VALIDATION_EXCEPTION = 'Unable to Describe Resource';

function publishChange(ctx: RequestContext, operation: string, name: string, v: Pick<ParameterVersion, 'type' | 'description' | 'dataType'>, exception?: string): void {
  ctx.bus.publish({
    source: 'aws.ssm',
    detailType: 'Parameter Store Change',
    detail: {
      ...(exception ? { exception } : {}),
      operation,
      name,
      type: v.type,
      ...(v.description !== undefined ? { description: v.description } : {}),
      ...(v.dataType !== 'text' ? { dataType: v.dataType } : {}),
    },
    resources: [parameterArn(ctx.region, ctx.account, name)],
    account: ctx.account,
    region: ctx.region,
  });
}

/**
 * Why an `aws:ec2:image` value is not (yet) acceptable, or undefined: it must be an AMI id of an available image
 * of the same account and region.
 */
function amiProblem(ctx: RequestContext, value: string): string | undefined {
  if (!IMAGE_ID.test(value)) return `${value} is not in the format of an AMI ID`;
  const image = findImage(ctx.store, ctx.account, ctx.region, value);
  if (!image) return `${value} does not exist in ${ctx.account} ${ctx.region}`;
  if (image.state !== 'available') return `${value} is ${image.state}`;
  return undefined;
}

/**
 * Slow validation (setImageValidationDelay): the value is checked, and stored or dropped, once the delay has passed
 * on the virtual clock; until then reads see the previous value. Its version number is taken when it is stored.
 */
function validateImageLater(ctx: RequestContext, put: PreparedPut, delayMs: number): void {
  ctx.clock.at(ctx.clock.nowMs() + delayMs, () => {
    const problem = amiProblem(ctx, put.version.value);
    const state = ssmState(ctx.store, ctx.account, ctx.region);
    const existing = state.parameters[put.name];
    const operation = existing ? 'Update' : 'Create';
    if (problem) {
      publishChange(ctx, operation, put.name, put.version, AMI_VALIDATION_EXCEPTION);
      return;
    }
    const version = { ...put.version, version: (existing ? latest(existing).version : 0) + 1 };
    let record: ParameterRecord;
    try {
      record = commitPut(state, { ...put, operation, version });
    } catch (e) {
      // A full parameter whose oldest version is labelled: the write is dropped, as a failed validation is.
      publishChange(ctx, operation, put.name, version, e instanceof AwsError ? e.code : String(e));
      return;
    }
    ctx.store.changed();
    publishChange(ctx, operation, put.name, version);
    armParameterPolicies(ctx, ctx.account, ctx.region, record);
  });
}

function parameterOut(ctx: RequestContext, name: string, v: ParameterVersion, selector?: string) {
  return {
    Name: name,
    Type: v.type,
    Value: v.value,
    Version: v.version,
    ...(selector ? { Selector: selector } : {}),
    LastModifiedDate: new Date(v.lastModifiedDate),
    ARN: parameterArn(ctx.region, ctx.account, name),
    DataType: v.dataType,
  };
}

function metadataOut(ctx: RequestContext, p: ParameterRecord) {
  const v = latest(p);
  return {
    Name: p.name,
    ARN: parameterArn(ctx.region, ctx.account, p.name),
    Type: v.type,
    ...(v.keyId !== undefined ? { KeyId: v.keyId } : {}),
    LastModifiedDate: new Date(v.lastModifiedDate),
    LastModifiedUser: v.lastModifiedUser,
    ...(v.description !== undefined ? { Description: v.description } : {}),
    ...(v.allowedPattern !== undefined ? { AllowedPattern: v.allowedPattern } : {}),
    Version: v.version,
    Tier: v.tier,
    Policies: v.policies.map(policyOut),
    DataType: v.dataType,
  };
}

function sortedParameters(state: SsmState): ParameterRecord[] {
  return Object.values(state.parameters).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Moves each label onto `target` (a label lives on one version at a time). */
function moveLabels(p: ParameterRecord, target: ParameterVersion, labels: string[]): void {
  for (const v of p.versions) if (v !== target) v.labels = v.labels.filter((l) => !labels.includes(l));
  for (const l of labels) if (!target.labels.includes(l)) target.labels.push(l);
}

function deleteOne(ctx: RequestContext, state: SsmState, name: string): boolean {
  const p = state.parameters[name];
  if (!p) return false;
  delete state.parameters[name];
  publishChange(ctx, 'Delete', name, latest(p));
  return true;
}

export const ssm: ServiceDefinition = {
  name: 'ssm',
  protocol: 'json',
  targetPrefix: 'AmazonSSM',
  operations: {
    PutParameter(input: PutRequest, ctx) {
      const state = ssmState(ctx.store, ctx.account, ctx.region);
      const put = preparePut(state, input, ctx.clock.nowMs(), ctx.caller.arn);
      const answer = { Version: put.version.version, Tier: put.version.tier };
      if (put.version.dataType === 'aws:ec2:image' && state.imageValidationDelayMs) {
        validateImageLater(ctx, put, state.imageValidationDelayMs);
        return answer;
      }
      if (put.version.dataType === 'aws:ec2:image' && amiProblem(ctx, put.version.value)) {
        // AWS validates aws:ec2:image values asynchronously: the call succeeds with a version number, the
        // parameter is not created or updated, and the change event carries the exception.
        publishChange(ctx, put.operation, put.name, put.version, AMI_VALIDATION_EXCEPTION);
        return answer;
      }
      const record = commitPut(state, put);
      publishChange(ctx, put.operation, put.name, put.version);
      armParameterPolicies(ctx, ctx.account, ctx.region, record);
      return answer;
    },

    GetParameter(input: { Name?: string; WithDecryption?: boolean }, ctx) {
      if (!input.Name) throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
      const state = ssmState(ctx.store, ctx.account, ctx.region);
      const { name, selector } = parseNameSelector(input.Name, state);
      const v = resolveVersion(state, name, selector);
      return { Parameter: parameterOut(ctx, name, v, selector) };
    },

    GetParameters(input: { Names?: string[]; WithDecryption?: boolean }, ctx) {
      const names = input.Names ?? [];
      if (names.length < 1 || names.length > 10) {
        throw validation(`1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1`);
      }
      const state = ssmState(ctx.store, ctx.account, ctx.region);
      const Parameters: ReturnType<typeof parameterOut>[] = [];
      const InvalidParameters: string[] = [];
      for (const raw of new Set(names)) {
        const { name, selector } = parseNameSelector(raw, state);
        try {
          Parameters.push(parameterOut(ctx, name, resolveVersion(state, name, selector), selector));
        } catch (e) {
          if (!(e instanceof AwsError) || !['ParameterNotFound', 'ParameterVersionNotFound'].includes(e.code)) throw e;
          InvalidParameters.push(raw);
        }
      }
      return { Parameters, InvalidParameters };
    },

    GetParameterHistory(input: { Name?: string; WithDecryption?: boolean; MaxResults?: number; NextToken?: string }, ctx) {
      if (!input.Name) throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
      const state = ssmState(ctx.store, ctx.account, ctx.region);
      const { name } = parseNameSelector(input.Name, state);
      const p = state.parameters[name];
      if (!p) throw parameterNotFound(name);
      const { page, nextToken } = pageAfter(p.versions, (v) => String(v.version), maxResults(input.MaxResults, 50, 50), input.NextToken, invalidNextToken);
      return {
        Parameters: page.map((v) => ({
          Name: name,
          Type: v.type,
          ...(v.keyId !== undefined ? { KeyId: v.keyId } : {}),
          LastModifiedDate: new Date(v.lastModifiedDate),
          LastModifiedUser: v.lastModifiedUser,
          ...(v.description !== undefined ? { Description: v.description } : {}),
          Value: v.value,
          ...(v.allowedPattern !== undefined ? { AllowedPattern: v.allowedPattern } : {}),
          Version: v.version,
          Labels: v.labels,
          Tier: v.tier,
          Policies: v.policies.map(policyOut),
          DataType: v.dataType,
        })),
        ...(nextToken ? { NextToken: nextToken } : {}),
      };
    },

    LabelParameterVersion(input: { Name?: string; ParameterVersion?: number; Labels?: string[] }, ctx) {
      if (!input.Name) throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
      const labels = input.Labels ?? [];
      if (labels.length < 1 || labels.length > MAX_LABELS_PER_VERSION) {
        throw validation(`1 validation error detected: Value at 'labels' failed to satisfy constraint: Member must have length less than or equal to ${MAX_LABELS_PER_VERSION} and greater than or equal to 1`);
      }
      const state = ssmState(ctx.store, ctx.account, ctx.region);
      const { name } = parseNameSelector(input.Name, state);
      const p = state.parameters[name];
      if (!p) throw parameterNotFound(name);
      const target = input.ParameterVersion === undefined ? latest(p) : p.versions.find((v) => v.version === input.ParameterVersion);
      if (!target) {
        throw new AwsError('ParameterVersionNotFound', `Systems Manager could not find version ${input.ParameterVersion} of ${name}. Verify the version and try again.`);
      }
      const valid = [...new Set(labels.filter(isValidLabel))];
      const invalid = labels.filter((l) => !isValidLabel(l));
      const after = new Set([...target.labels, ...valid]);
      if (after.size > MAX_LABELS_PER_VERSION) {
        throw new AwsError(
          'ParameterVersionLabelLimitExceeded',
          `A parameter version can have maximum ${MAX_LABELS_PER_VERSION} labels. Move one or more labels to another version and try again.`,
        );
      }
      if (valid.length > 0) {
        moveLabels(p, target, valid);
        publishChange(ctx, 'LabelParameterVersion', name, target);
      }
      return { InvalidLabels: invalid, ParameterVersion: target.version };
    },

    UnlabelParameterVersion(input: { Name?: string; ParameterVersion?: number; Labels?: string[] }, ctx) {
      if (!input.Name) throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
      if (input.ParameterVersion === undefined || input.ParameterVersion === null) {
        throw validation("1 validation error detected: Value null at 'parameterVersion' failed to satisfy constraint: Member must not be null");
      }
      const labels = input.Labels ?? [];
      if (labels.length < 1 || labels.length > MAX_LABELS_PER_VERSION) {
        throw validation(`1 validation error detected: Value at 'labels' failed to satisfy constraint: Member must have length less than or equal to ${MAX_LABELS_PER_VERSION} and greater than or equal to 1`);
      }
      const state = ssmState(ctx.store, ctx.account, ctx.region);
      const name = input.Name.trim();
      const p = state.parameters[name];
      if (!p) throw parameterNotFound(name);
      const target = p.versions.find((v) => v.version === input.ParameterVersion);
      if (!target) {
        throw new AwsError('ParameterVersionNotFound', `Systems Manager could not find version ${input.ParameterVersion} of ${name}. Verify the version and try again.`);
      }
      // "InvalidLabels: the labels that aren't attached to the given parameter version."
      const RemovedLabels = [...new Set(labels.filter((l) => target.labels.includes(l)))];
      const InvalidLabels = labels.filter((l) => !target.labels.includes(l));
      target.labels = target.labels.filter((l) => !RemovedLabels.includes(l));
      return { RemovedLabels, InvalidLabels };
    },

    DescribeParameters(input: { Filters?: { Key?: string; Values?: string[] }[]; ParameterFilters?: StringFilter[]; MaxResults?: number; NextToken?: string }, ctx) {
      if (input.Filters?.length && input.ParameterFilters?.length) throw validation('You can use either Filters or ParameterFilters in a single request.');
      const limit = maxResults(input.MaxResults, 50, 10);
      const matches = parameterFilter(input.ParameterFilters, false);
      const legacy = (input.Filters ?? []).map((f) => {
        if (!['Name', 'Type', 'KeyId'].includes(f.Key ?? '')) {
          throw validation(`1 validation error detected: Value '${f.Key}' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [Name, Type, KeyId]`);
        }
        const values = f.Values ?? [];
        return (p: ParameterRecord) => {
          const v = latest(p);
          if (f.Key === 'Name') return values.some((x) => p.name.startsWith(x));
          if (f.Key === 'Type') return values.includes(v.type);
          return v.keyId !== undefined && values.includes(v.keyId);
        };
      });
      const selected = sortedParameters(ssmState(ctx.store, ctx.account, ctx.region)).filter((p) => matches(p) && legacy.every((m) => m(p)));
      const { page, nextToken } = pageAfter(selected, (p) => p.name, limit, input.NextToken, invalidNextToken);
      return { Parameters: page.map((p) => metadataOut(ctx, p)), ...(nextToken ? { NextToken: nextToken } : {}) };
    },

    GetParametersByPath(
      input: { Path?: string; Recursive?: boolean; ParameterFilters?: StringFilter[]; WithDecryption?: boolean; MaxResults?: number; NextToken?: string },
      ctx,
    ) {
      const path = input.Path;
      if (!path || !path.startsWith('/') || path.includes('//')) {
        throw validation(`The parameter path ${path ?? 'null'} doesn't meet the parameter name requirements. The path must begin with a forward slash "/".`);
      }
      const limit = maxResults(input.MaxResults, 10, 10);
      const matches = parameterFilter(input.ParameterFilters, true);
      const selected = sortedParameters(ssmState(ctx.store, ctx.account, ctx.region)).filter((p) => underPath(p.name, path, input.Recursive === true) && matches(p));
      const { page, nextToken } = pageAfter(selected, (p) => p.name, limit, input.NextToken, invalidNextToken);
      return { Parameters: page.map((p) => parameterOut(ctx, p.name, latest(p))), ...(nextToken ? { NextToken: nextToken } : {}) };
    },

    DeleteParameter(input: { Name?: string }, ctx) {
      if (!input.Name) throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
      const state = ssmState(ctx.store, ctx.account, ctx.region);
      const { name } = parseNameSelector(input.Name, state);
      if (!deleteOne(ctx, state, name)) throw parameterNotFound(name);
      return {};
    },

    DeleteParameters(input: { Names?: string[] }, ctx) {
      const names = input.Names ?? [];
      if (names.length < 1 || names.length > 10) {
        throw validation(`1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1`);
      }
      const state = ssmState(ctx.store, ctx.account, ctx.region);
      const DeletedParameters: string[] = [];
      const InvalidParameters: string[] = [];
      for (const name of new Set(names)) (deleteOne(ctx, state, parseNameSelector(name, state).name) ? DeletedParameters : InvalidParameters).push(name);
      return { DeletedParameters, InvalidParameters };
    },

    ...tagOperations,
    ...opsItemOperations,
    ...activationOperations,
    ...documentOperations,
    ...documentPermissionOperations,
    ...serviceSettingOperations,
    ...managedNodeOperations,
    ...commandOperations,
  },
  start(rt) {
    armAllPolicies(rt);
    armAllCommands(rt);
  },
};

export interface SeedParameter {
  name: string;
  value: string;
  /** Default String. */
  type?: ParameterType;
  description?: string;
  tier?: 'Standard' | 'Advanced' | 'Intelligent-Tiering';
  /** Default text. `aws:ec2:image` values are not checked against EC2 here. */
  dataType?: string;
  allowedPattern?: string;
  keyId?: string;
  /** The Policies JSON array, as text or as objects. */
  policies?: string | unknown[];
  tags?: Record<string, string> | Tag[];
  /** Labels put on the new version. */
  labels?: string[];
  /** ISO-8601; default now (virtual). Lets a seed hold parameters that have not changed for a while. */
  lastModifiedDate?: string;
}

/**
 * Puts parameters straight into the store for the stage's `--seed` (no events). A name given again, or already
 * present, gets a new version. Returns each name with the version written. Their policies act once `ssm.start()`
 * arms them (localcloud's `seed` does; call it after seeding a running emulator directly).
 */
export function seedParameters(store: Store, account: string, region: string, params: SeedParameter[]): { name: string; version: number }[] {
  const state = ssmState(store, account, region);
  const now = Date.now() + store.clockOffsetMs;
  const out = params.map((spec) => {
    const at = spec.lastModifiedDate === undefined ? now : Date.parse(spec.lastModifiedDate);
    if (Number.isNaN(at)) throw new RangeError(`parameter ${spec.name}: lastModifiedDate ${spec.lastModifiedDate} is not an ISO-8601 time`);
    const tags = Array.isArray(spec.tags) ? spec.tags : Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    const exists = state.parameters[spec.name.trim()] !== undefined;
    const put = preparePut(
      state,
      {
        Name: spec.name,
        Value: spec.value,
        Type: spec.type ?? 'String',
        Description: spec.description,
        Tier: spec.tier,
        DataType: spec.dataType,
        AllowedPattern: spec.allowedPattern,
        KeyId: spec.keyId,
        Policies: spec.policies === undefined ? undefined : typeof spec.policies === 'string' ? spec.policies : JSON.stringify(spec.policies),
        Overwrite: exists,
        Tags: exists ? [] : tags,
      },
      at,
      callerArn(account),
    );
    const record = commitPut(state, put);
    if (exists && tags.length > 0) record.tags = upsertTags(record.tags, tags);
    const labels = spec.labels ?? [];
    const invalid = labels.filter((l) => !isValidLabel(l));
    if (invalid.length > 0) throw new RangeError(`parameter ${spec.name}: invalid labels ${invalid.join(', ')}`);
    if (labels.length > 0) moveLabels(record, put.version, labels);
    return { name: put.name, version: put.version.version };
  });
  store.changed();
  return out;
}
