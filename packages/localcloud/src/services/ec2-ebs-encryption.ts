/**
 * EBS encryption by default, per account and region (GetEbsEncryptionByDefault, Enable/DisableEbsEncryptionByDefault,
 * GetEbsDefaultKmsKeyId, ModifyEbsDefaultKmsKeyId, ResetEbsDefaultKmsKeyId), and the KMS key ARNs volumes and
 * snapshots report. There is no KMS in localcloud: a key given by id, alias or ARN is reported as a key ARN, an
 * alias standing for a key id derived from it (the same alias, the same key), as AWS resolves aliases to keys.
 */
import { createHash } from 'node:crypto';
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import { ec2State, existingEc2State, requiredString, type Ec2State } from './ec2-model.js';
import type { RequestContext } from './types.js';

/** The AWS managed key for EBS, what GetEbsDefaultKmsKeyId answers until a customer managed key is set. */
export const AWS_EBS_KEY_ALIAS = 'alias/aws/ebs';

const KEY_ID = /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/.+|alias\/.+)$/;
const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;

/**
 * The key ARN a volume or snapshot reports for a KMS key given as key id, key ARN, alias name or alias ARN;
 * throws InvalidParameterValue (naming the parameter) for anything else.
 *
 * @example kmsKeyArn('123456789012', 'us-east-1', '1234abcd-12ab-34cd-56ef-1234567890ab', 'KmsKeyId') // 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-…'
 */
export function kmsKeyArn(account: string, region: string, given: string, parameter: string): string {
  const aliasArn = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(alias\/.+)$/.exec(given);
  if (aliasArn) return keyForAlias(aliasArn[2], aliasArn[1], aliasArn[3]);
  if (KEY_ARN.test(given)) return given;
  if (KEY_ID.test(given)) return `arn:aws:kms:${region}:${account}:key/${given}`;
  if (ALIAS.test(given)) return keyForAlias(account, region, given);
  throw new AwsError('InvalidParameterValue', `Value (${given}) for parameter ${parameter} is invalid. Expected a KMS key id, key ARN, alias name or alias ARN.`);
}

/** The key an alias stands for: a key id derived from the account, region and alias, so it is stable. */
function keyForAlias(account: string, region: string, alias: string): string {
  const h = createHash('sha256').update(`${account}/${region}/${alias}`).digest('hex');
  return `arn:aws:kms:${region}:${account}:key/${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The key new encrypted volumes get when the request names none: the account's default key in the region. */
export function defaultKmsKeyArn(state: Ec2State | undefined, account: string, region: string): string {
  return kmsKeyArn(account, region, state?.ebsDefaultKmsKeyId ?? AWS_EBS_KEY_ALIAS, 'KmsKeyId');
}

/**
 * Encryption of a new volume (CreateVolume, a root volume, CopySnapshot's copy): encrypted when asked, when its
 * source is encrypted, or when encryption by default is on; its key is the one asked for, else the source's, else the
 * default key. KmsKeyId without Encrypted is EC2's InvalidParameterDependency.
 */
export function encryptionOf(
  ctx: Pick<RequestContext, 'account' | 'region'>,
  state: Ec2State,
  request: { encrypted?: boolean; kmsKeyId?: string },
  source?: { encrypted: boolean; kmsKeyId?: string },
): { encrypted: boolean; kmsKeyId?: string } {
  if (request.kmsKeyId !== undefined && request.encrypted !== true) {
    throw new AwsError('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.');
  }
  const encrypted = request.encrypted === true || source?.encrypted === true || state.ebsEncryptionByDefault === true;
  if (!encrypted) return { encrypted: false };
  const kmsKeyId = request.kmsKeyId !== undefined ? kmsKeyArn(ctx.account, ctx.region, request.kmsKeyId, 'KmsKeyId') : (source?.kmsKeyId ?? defaultKmsKeyArn(state, ctx.account, ctx.region));
  return { encrypted: true, kmsKeyId };
}

type Ec2Operation = (input: QueryTree, ctx: RequestContext) => Record<string, XmlValue>;

export const getEbsEncryptionByDefault: Ec2Operation = (_input, ctx) => ({
  ebsEncryptionByDefault: existingEc2State(ctx.store, ctx.account, ctx.region)?.ebsEncryptionByDefault === true,
  sseType: 'sse-ebs',
});

export const enableEbsEncryptionByDefault: Ec2Operation = (_input, ctx) => {
  ec2State(ctx.store, ctx.account, ctx.region).ebsEncryptionByDefault = true;
  return { ebsEncryptionByDefault: true };
};

export const disableEbsEncryptionByDefault: Ec2Operation = (_input, ctx) => {
  ec2State(ctx.store, ctx.account, ctx.region).ebsEncryptionByDefault = false;
  return { ebsEncryptionByDefault: false };
};

export const getEbsDefaultKmsKeyId: Ec2Operation = (_input, ctx) => ({
  kmsKeyId: existingEc2State(ctx.store, ctx.account, ctx.region)?.ebsDefaultKmsKeyId ?? AWS_EBS_KEY_ALIAS,
});

export const modifyEbsDefaultKmsKeyId: Ec2Operation = (input, ctx) => {
  const given = requiredString(input, 'KmsKeyId');
  const arn = kmsKeyArn(ctx.account, ctx.region, given, 'KmsKeyId');
  ec2State(ctx.store, ctx.account, ctx.region).ebsDefaultKmsKeyId = arn;
  return { kmsKeyId: arn };
};

export const resetEbsDefaultKmsKeyId: Ec2Operation = (_input, ctx) => {
  delete ec2State(ctx.store, ctx.account, ctx.region).ebsDefaultKmsKeyId;
  return { kmsKeyId: AWS_EBS_KEY_ALIAS };
};

/** `use1-az1` for `us-east-1a`: the zone id EC2 reports beside the zone name (ids are per account in AWS; fixed here). */
export function availabilityZoneId(zone: string): string {
  const m = /^([a-z]{2})-([a-z]+)-(\d+)([a-z])$/.exec(zone);
  if (!m) return zone;
  const direction = m[2].replace(/north/g, 'n').replace(/south/g, 's').replace(/east/g, 'e').replace(/west/g, 'w').replace(/central/g, 'c');
  return `${m[1]}${direction}${m[3]}-az${m[4].charCodeAt(0) - 96}`;
}

