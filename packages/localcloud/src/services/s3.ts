/**
 * S3 (restXml, path-style addressing: `/bucket`, `/bucket?versioning`): buckets with their versioning, default
 * encryption, bucket policy and bucket-level Block Public Access configuration. Objects are not emulated; a request on `/bucket/key` or on another
 * subresource answers NotImplemented from the server.
 *
 * Bucket names are global while each bucket lives in one region: a bucket request signed for another region is
 * answered 301 PermanentRedirect with `x-amz-bucket-region`, as S3's regional endpoints do, so a job that forgets
 * to use the bucket's region fails here as it would on AWS.
 */
import { AwsError } from '../errors.js';
import { escapeXml, XmlList } from '../protocols/xml.js';
import { pageAfter } from './filters.js';
import {
  accountBuckets,
  canonicalUserId,
  DEFAULT_ENCRYPTION,
  findBucket,
  isValidBucketName,
  noSuchBucket,
  s3State,
  type BucketEncryption,
  type LocatedBucket,
  type SseAlgorithm,
} from './s3-buckets.js';
import { checkBucketPolicy, isPublicPolicy, readPublicAccessBlock } from './s3-policy.js';
import { childrenNamed, childText, malformedXml, parseXml, s3Document } from './s3-xml.js';
import type { RequestContext, RestRequest, RestResponse, ServiceDefinition } from './types.js';

export { seedBuckets, type BucketSeed } from './s3-buckets.js';

type S3Operation = (request: RestRequest, ctx: RequestContext) => RestResponse;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** The bucket of a path-style request (`/bucket` or `/bucket/`), or undefined for the service root or a key. */
function bucketOf(path: string): string | undefined {
  const m = /^\/([^/]+)\/?$/.exec(path);
  return m?.[1];
}

/** Names the operation of a request from its method, path and subresource. */
function restOperation(request: RestRequest): string | undefined {
  const { method, path, query } = request;
  if (path === '/' || path === '') return method === 'GET' ? 'ListBuckets' : undefined;
  if (bucketOf(path) === undefined) return undefined;
  const sub = ['versioning', 'encryption', 'location', 'publicAccessBlock', 'policyStatus', 'policy'].find((s) => query.has(s));
  // Any other subresource (?tagging, ?policy, ?list-type=2 …) is not emulated.
  const others = [...query.keys()].filter((k) => k !== sub && k !== 'x-id');
  if (others.length > 0) return undefined;
  switch (`${method} ${sub ?? ''}`) {
    case 'PUT ':
      return 'CreateBucket';
    case 'HEAD ':
      return 'HeadBucket';
    case 'DELETE ':
      return 'DeleteBucket';
    case 'GET versioning':
      return 'GetBucketVersioning';
    case 'PUT versioning':
      return 'PutBucketVersioning';
    case 'GET encryption':
      return 'GetBucketEncryption';
    case 'PUT encryption':
      return 'PutBucketEncryption';
    case 'DELETE encryption':
      return 'DeleteBucketEncryption';
    case 'GET location':
      return 'GetBucketLocation';
    case 'GET publicAccessBlock':
      return 'GetPublicAccessBlock';
    case 'PUT publicAccessBlock':
      return 'PutPublicAccessBlock';
    case 'DELETE publicAccessBlock':
      return 'DeletePublicAccessBlock';
    case 'GET policy':
      return 'GetBucketPolicy';
    case 'PUT policy':
      return 'PutBucketPolicy';
    case 'DELETE policy':
      return 'DeleteBucketPolicy';
    case 'GET policyStatus':
      return 'GetBucketPolicyStatus';
    default:
      return undefined;
  }
}

/** S3's error document, for the answers that need a header beside it (the server's error writer has none). */
function errorResponse(ctx: RequestContext, status: number, code: string, message: string, headers: Record<string, string> = {}): RestResponse {
  return {
    status,
    headers: { 'content-type': 'application/xml', ...headers },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><RequestId>${ctx.requestId}</RequestId></Error>`,
  };
}

/**
 * The bucket a request names, when this account owns it and the request was signed for its region. Otherwise
 * the answer S3 gives instead: NoSuchBucket (thrown), AccessDenied for another account's bucket, or a redirect.
 */
function ownBucket(request: RestRequest, ctx: RequestContext, anyRegion = false): LocatedBucket | RestResponse {
  const name = bucketOf(request.path)!;
  const located = findBucket(ctx.store, name);
  if (!located) throw noSuchBucket();
  if (located.account !== ctx.account) throw new AwsError('AccessDenied', 'Access Denied', 403);
  // `ExpectedBucketOwner`: a bucket of another owner than the caller expects is refused.
  const expected = request.headers['x-amz-expected-bucket-owner'];
  if (expected !== undefined && expected !== located.account) throw new AwsError('AccessDenied', 'Access Denied', 403);
  if (!anyRegion && located.region !== ctx.region) {
    const headers = { 'x-amz-bucket-region': located.region };
    if (request.method === 'HEAD') return { status: 301, headers };
    return errorResponse(
      ctx,
      301,
      'PermanentRedirect',
      'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
      headers,
    );
  }
  return located;
}

function isResponse(value: LocatedBucket | RestResponse): value is RestResponse {
  return !('bucket' in value);
}

/** Runs `op` on the request's own bucket, or answers what S3 answers instead. */
function onBucket(op: (located: LocatedBucket, request: RestRequest, ctx: RequestContext) => RestResponse, anyRegion = false): S3Operation {
  return (request, ctx) => {
    const found = ownBucket(request, ctx, anyRegion);
    return isResponse(found) ? found : op(found, request, ctx);
  };
}

const createBucket: S3Operation = (request, ctx) => {
  const name = bucketOf(request.path)!;
  if (!isValidBucketName(name)) throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.');
  let constraint: string | undefined;
  if (request.body.trim() !== '') {
    const config = parseXml(request.body);
    if (config.name !== 'CreateBucketConfiguration') throw malformedXml();
    constraint = childText(config, 'LocationConstraint') || undefined;
  }
  // `EU` is the legacy name of eu-west-1; us-east-1 is only ever the absence of a constraint.
  const location = constraint === 'EU' ? 'eu-west-1' : (constraint ?? 'us-east-1');
  if (constraint === 'us-east-1' || !REGION.test(location)) throw new AwsError('InvalidLocationConstraint', 'The specified location-constraint is not valid');
  // The us-east-1 endpoint creates buckets in any region; a regional endpoint only in its own.
  if (ctx.region !== 'us-east-1' && location !== ctx.region) {
    throw new AwsError(
      'IllegalLocationConstraintException',
      `The ${constraint ?? 'unspecified'} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    );
  }
  const existing = findBucket(ctx.store, name);
  if (existing && existing.account !== ctx.account) {
    throw new AwsError(
      'BucketAlreadyExists',
      'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
      409,
    );
  }
  if (existing) {
    // S3 keeps a legacy 200 for re-creating one's own bucket in North Virginia; everywhere else it is an error.
    if (existing.region === 'us-east-1' && ctx.region === 'us-east-1' && location === 'us-east-1') return { headers: { location: `/${name}` } };
    throw new AwsError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409);
  }
  s3State(ctx.store, ctx.account, location).buckets[name] = { name, creationDate: ctx.clock.now().toISOString() };
  return { headers: { location: location === 'us-east-1' ? `/${name}` : `http://${name}.s3.amazonaws.com/` } };
};

const listBuckets: S3Operation = (request, ctx) => {
  const prefix = request.query.get('prefix') ?? undefined;
  const bucketRegion = request.query.get('bucket-region') ?? undefined;
  const maxParam = request.query.get('max-buckets');
  const maxBuckets = maxParam === null ? undefined : Number(maxParam);
  if (maxBuckets !== undefined && (!Number.isInteger(maxBuckets) || maxBuckets < 1 || maxBuckets > 10_000)) {
    throw new AwsError('InvalidArgument', 'Argument max-buckets must be an integer between 1 and 10000.');
  }
  const selected = accountBuckets(ctx.store, ctx.account)
    .filter((b) => (prefix === undefined || b.bucket.name.startsWith(prefix)) && (bucketRegion === undefined || b.region === bucketRegion))
    .sort((a, b) => (a.bucket.name < b.bucket.name ? -1 : 1));
  // Without max-buckets S3 answers every bucket at once.
  const { page, nextToken } = pageAfter(selected, (b) => b.bucket.name, maxBuckets ?? selected.length + 1, request.query.get('continuation-token') ?? undefined, () =>
    new AwsError('InvalidArgument', 'The continuation token provided is incorrect'),
  );
  return {
    body: s3Document('ListAllMyBucketsResult', {
      Buckets: new XmlList(
        'Bucket',
        page.map(({ bucket, region }) => ({ Name: bucket.name, CreationDate: bucket.creationDate, BucketRegion: region })),
      ),
      Owner: { ID: canonicalUserId(ctx.account) },
      ...(nextToken ? { ContinuationToken: nextToken } : {}),
      ...(prefix !== undefined ? { Prefix: prefix } : {}),
    }),
  };
};

const headBucket = onBucket(({ region }) => ({ headers: { 'x-amz-bucket-region': region, 'x-amz-access-point-alias': 'false' } }));

const deleteBucket = onBucket(({ bucket, region }, _request, ctx) => {
  // No objects are kept, so a bucket is always empty (S3's BucketNotEmpty cannot arise).
  delete s3State(ctx.store, ctx.account, region).buckets[bucket.name];
  return { status: 204 };
});

const getBucketLocation = onBucket(({ region }) => {
  // us-east-1 is answered as an empty constraint, as buckets there were created without one.
  return { body: s3Document('LocationConstraint', region === 'us-east-1' ? '' : region) };
}, true);

const getBucketVersioning = onBucket(({ bucket }) => ({
  body: s3Document('VersioningConfiguration', {
    ...(bucket.versioning ? { Status: bucket.versioning } : {}),
    ...(bucket.mfaDelete ? { MfaDelete: bucket.mfaDelete } : {}),
  }),
}));

/** `x-amz-mfa: <device serial> <code>`, which S3 requires to change or keep MFA delete. */
function hasMfa(request: RestRequest): boolean {
  return /^\S+ \d{6}$/.test(request.headers['x-amz-mfa'] ?? '');
}

const putBucketVersioning = onBucket(({ bucket }, request) => {
  const config = parseXml(request.body);
  if (config.name !== 'VersioningConfiguration') throw malformedXml();
  const status = childText(config, 'Status');
  const mfaDelete = childText(config, 'MfaDelete');
  if (status !== undefined && status !== 'Enabled' && status !== 'Suspended') {
    throw new AwsError('IllegalVersioningConfigurationException', 'The versioning configuration specified in the request is invalid.');
  }
  if (mfaDelete !== undefined && mfaDelete !== 'Enabled' && mfaDelete !== 'Disabled') throw malformedXml();
  // Enabling MFA delete, or changing the versioning of a bucket that has it, takes the MFA device's code.
  // `MfaDelete: Disabled` on a bucket without MFA delete changes nothing, and S3 takes it without a code.
  if ((mfaDelete === 'Enabled' || bucket.mfaDelete === 'Enabled') && !hasMfa(request)) {
    throw new AwsError('AccessDenied', 'Mfa Authentication must be used for this request', 403);
  }
  if (status) bucket.versioning = status;
  if (mfaDelete) bucket.mfaDelete = mfaDelete;
  return {};
});

const getBucketEncryption = onBucket(({ bucket }) => {
  const e = bucket.encryption ?? DEFAULT_ENCRYPTION;
  return {
    body: s3Document('ServerSideEncryptionConfiguration', {
      Rule: {
        ApplyServerSideEncryptionByDefault: { SSEAlgorithm: e.sseAlgorithm, ...(e.kmsMasterKeyId ? { KMSMasterKeyID: e.kmsMasterKeyId } : {}) },
        BucketKeyEnabled: e.bucketKeyEnabled,
      },
    }),
  };
});

const SSE_ALGORITHMS: SseAlgorithm[] = ['AES256', 'aws:kms', 'aws:kms:dsse'];

const putBucketEncryption = onBucket(({ bucket }, request) => {
  const config = parseXml(request.body);
  if (config.name !== 'ServerSideEncryptionConfiguration') throw malformedXml();
  const rules = childrenNamed(config, 'Rule');
  if (rules.length !== 1) throw malformedXml();
  const rule = rules[0];
  const byDefault = childrenNamed(rule, 'ApplyServerSideEncryptionByDefault');
  if (byDefault.length !== 1) throw malformedXml();
  const algorithm = childText(byDefault[0], 'SSEAlgorithm') as SseAlgorithm | undefined;
  if (!algorithm || !SSE_ALGORITHMS.includes(algorithm)) throw malformedXml();
  const kmsMasterKeyId = childText(byDefault[0], 'KMSMasterKeyID');
  if (kmsMasterKeyId && algorithm === 'AES256') {
    throw new AwsError('InvalidArgument', 'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse');
  }
  const bucketKey = childText(rule, 'BucketKeyEnabled');
  if (bucketKey !== undefined && bucketKey !== 'true' && bucketKey !== 'false') throw malformedXml();
  const encryption: BucketEncryption = { sseAlgorithm: algorithm, ...(kmsMasterKeyId ? { kmsMasterKeyId } : {}), bucketKeyEnabled: bucketKey === 'true' };
  bucket.encryption = encryption;
  return {};
});

const deleteBucketEncryption = onBucket(({ bucket }) => {
  // Since 2023 this returns a bucket to the default SSE-S3 rather than to no encryption.
  delete bucket.encryption;
  return { status: 204 };
});

const getPublicAccessBlock = onBucket(({ bucket }) => {
  if (!bucket.publicAccessBlock) {
    throw new AwsError('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found', 404);
  }
  return { body: s3Document('PublicAccessBlockConfiguration', { ...bucket.publicAccessBlock }) };
});

const putPublicAccessBlock = onBucket(({ bucket }, request) => {
  bucket.publicAccessBlock = readPublicAccessBlock(parseXml(request.body));
  return {};
});

const deletePublicAccessBlock = onBucket(({ bucket }) => {
  delete bucket.publicAccessBlock;
  return { status: 204 };
});

const noSuchBucketPolicy = () => new AwsError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404);

const getBucketPolicy = onBucket(({ bucket }) => {
  if (bucket.policy === undefined) throw noSuchBucketPolicy();
  return { headers: { 'content-type': 'application/json' }, body: bucket.policy };
});

const putBucketPolicy = onBucket(({ bucket }, request) => {
  checkBucketPolicy(request.body, bucket.name);
  // Block Public Access refuses a policy that would make the bucket public.
  if (bucket.publicAccessBlock?.BlockPublicPolicy && isPublicPolicy(request.body)) throw new AwsError('AccessDenied', 'Access Denied', 403);
  bucket.policy = request.body;
  return { status: 204 };
});

const deleteBucketPolicy = onBucket(({ bucket }) => {
  delete bucket.policy;
  return { status: 204 };
});

const getBucketPolicyStatus = onBucket(({ bucket }) => {
  if (bucket.policy === undefined) throw noSuchBucketPolicy();
  return { body: s3Document('PolicyStatus', { IsPublic: isPublicPolicy(bucket.policy) }) };
});

export const s3: ServiceDefinition = {
  name: 's3',
  protocol: 'rest-xml',
  xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/',
  restOperation,
  operations: {
    CreateBucket: createBucket,
    ListBuckets: listBuckets,
    HeadBucket: headBucket,
    DeleteBucket: deleteBucket,
    GetBucketLocation: getBucketLocation,
    GetBucketVersioning: getBucketVersioning,
    PutBucketVersioning: putBucketVersioning,
    GetBucketEncryption: getBucketEncryption,
    PutBucketEncryption: putBucketEncryption,
    DeleteBucketEncryption: deleteBucketEncryption,
    GetPublicAccessBlock: getPublicAccessBlock,
    PutPublicAccessBlock: putPublicAccessBlock,
    DeletePublicAccessBlock: deletePublicAccessBlock,
    GetBucketPolicy: getBucketPolicy,
    PutBucketPolicy: putBucketPolicy,
    DeleteBucketPolicy: deleteBucketPolicy,
    GetBucketPolicyStatus: getBucketPolicyStatus,
  },
};
