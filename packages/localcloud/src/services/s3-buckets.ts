/**
 * S3 buckets: persisted per account and the bucket's region, found by name across all of them (bucket names are
 * global), with the naming rules for general purpose buckets.
 */
import { createHash } from 'node:crypto';
import { AwsError } from '../errors.js';
import type { Store } from '../store.js';

export const S3_SERVICE = 's3';

export type SseAlgorithm = 'AES256' | 'aws:kms' | 'aws:kms:dsse';

export interface BucketEncryption {
  sseAlgorithm: SseAlgorithm;
  kmsMasterKeyId?: string;
  bucketKeyEnabled: boolean;
}

export interface BucketRecord {
  name: string;
  /** ISO-8601. */
  creationDate: string;
  /** Absent until versioning is first configured: S3 then answers an empty VersioningConfiguration. */
  versioning?: 'Enabled' | 'Suspended';
  mfaDelete?: 'Enabled' | 'Disabled';
  /** Absent means S3's default since January 2023: SSE-S3 (AES256) without a bucket key. */
  encryption?: BucketEncryption;
  /** Absent until PutPublicAccessBlock: S3 then answers NoSuchPublicAccessBlockConfiguration. */
  publicAccessBlock?: PublicAccessBlock;
  /** The bucket policy's JSON text as put (S3 answers it as stored); absent when none. */
  policy?: string;
}

/** A bucket's PublicAccessBlock configuration: each setting false unless put true. */
export interface PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

/** Plain JSON, persisted by the store: the buckets whose region this is. */
export interface S3State {
  buckets: Record<string, BucketRecord>;
}

export const DEFAULT_ENCRYPTION: BucketEncryption = { sseAlgorithm: 'AES256', bucketKeyEnabled: false };

export function s3State(store: Store, account: string, region: string): S3State {
  return store.scope<S3State>(S3_SERVICE, account, region, () => ({ buckets: {} }));
}

export interface LocatedBucket {
  account: string;
  region: string;
  bucket: BucketRecord;
}

/** A bucket by name, in whichever account and region holds it. */
export function findBucket(store: Store, name: string): LocatedBucket | undefined {
  for (const { account, region, state } of store.all<S3State>(S3_SERVICE)) {
    const bucket = state.buckets?.[name];
    if (bucket) return { account, region, bucket };
  }
  return undefined;
}

/** Every bucket of an account, across regions. */
export function accountBuckets(store: Store, account: string): LocatedBucket[] {
  return store
    .all<S3State>(S3_SERVICE)
    .filter((s) => s.account === account)
    .flatMap(({ region, state }) => Object.values(state.buckets ?? {}).map((bucket) => ({ account, region, bucket })));
}

/** The canonical user id S3 shows as a bucket's owner: 64 hex digits, stable per account. */
export function canonicalUserId(account: string): string {
  return createHash('sha256').update(`localcloud-canonical-user:${account}`).digest('hex');
}

export const noSuchBucket = () => new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404);

const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/**
 * General purpose bucket naming rules (S3 User Guide, "Bucket naming rules"): 3-63 characters of lowercase
 * letters, digits, dots and hyphens; a letter or digit at both ends; no two dots in a row; not an IP address;
 * none of the reserved prefixes and suffixes.
 */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !RESERVED_PREFIXES.some((p) => name.startsWith(p)) &&
    !RESERVED_SUFFIXES.some((s) => name.endsWith(s))
  );
}

export interface BucketSeed {
  name: string;
  versioning?: 'Enabled' | 'Suspended';
  mfaDelete?: 'Enabled' | 'Disabled';
  /** Default: SSE-S3 without a bucket key, as every bucket has by default. */
  encryption?: { algorithm: SseAlgorithm; kmsMasterKeyId?: string; bucketKeyEnabled?: boolean };
  /** ISO-8601; default now (virtual). */
  creationDate?: string;
}

/** Puts buckets straight into the store, in `region`, for the stage's `--seed`. Returns their names. */
export function seedBuckets(store: Store, account: string, region: string, specs: BucketSeed[]): string[] {
  const state = s3State(store, account, region);
  const names = specs.map((spec) => {
    if (!isValidBucketName(spec.name)) throw new RangeError(`bucket ${spec.name}: not a valid bucket name`);
    const existing = findBucket(store, spec.name);
    if (existing) throw new RangeError(`bucket ${spec.name} already exists (account ${existing.account}, ${existing.region})`);
    const creationDate = spec.creationDate ?? new Date(Date.now() + store.clockOffsetMs).toISOString();
    if (Number.isNaN(Date.parse(creationDate))) throw new RangeError(`bucket ${spec.name}: creationDate is not an ISO-8601 time`);
    state.buckets[spec.name] = {
      name: spec.name,
      creationDate: new Date(creationDate).toISOString(),
      ...(spec.versioning ? { versioning: spec.versioning } : {}),
      ...(spec.mfaDelete ? { mfaDelete: spec.mfaDelete } : {}),
      ...(spec.encryption
        ? {
            encryption: {
              sseAlgorithm: spec.encryption.algorithm,
              ...(spec.encryption.kmsMasterKeyId ? { kmsMasterKeyId: spec.encryption.kmsMasterKeyId } : {}),
              bucketKeyEnabled: spec.encryption.bucketKeyEnabled ?? false,
            },
          }
        : {}),
    };
    return spec.name;
  });
  store.changed();
  return names;
}
