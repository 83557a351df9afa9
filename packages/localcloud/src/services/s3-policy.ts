/**
 * S3 bucket policies and Block Public Access at bucket level: the checks S3 makes of a policy when it is put
 * (MalformedPolicy naming what is wrong), whether a policy makes the bucket public (S3 User Guide, "Blocking
 * public access to your Amazon S3 storage", section "The meaning of public"), and the PublicAccessBlock document.
 */
import { AwsError } from '../errors.js';
import type { PublicAccessBlock } from './s3-buckets.js';
import { childText, malformedXml, type XmlElement } from './s3-xml.js';

/** S3's limit on a bucket policy's size. */
export const MAX_POLICY_BYTES = 20 * 1024;

const VERSIONS = ['2012-10-17', '2008-10-17'];

/**
 * Condition keys that tie an `Allow` for everyone to fixed values, which S3 does not count as public
 * (aws:SourceIp counts only when it is not the whole internet).
 */
const NON_PUBLIC_KEYS = ['aws:sourcearn', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourceaccount', 'aws:sourceowner', 'aws:principalaccount', 'aws:principalorgid', 'aws:principalarn', 'aws:userid', 'aws:sourceip', 's3:dataaccesspointaccount', 's3:dataaccesspointarn'];

export const malformedPolicy = (message: string) => new AwsError('MalformedPolicy', message);

type Statement = Record<string, unknown>;

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The statements of a parsed policy document, or MalformedPolicy. */
function statementsOf(doc: Record<string, unknown>): Statement[] {
  if (!('Statement' in doc)) throw malformedPolicy('Missing required field Statement');
  const list = asList(doc.Statement);
  if (list.length === 0) throw malformedPolicy('Could not parse the policy: Statement is empty!');
  return list.map((s) => {
    if (!isObject(s)) throw malformedPolicy('Statement is not well-formatted.');
    return s;
  });
}

function checkPrincipal(principal: unknown): void {
  if (principal === '*') return;
  if (!isObject(principal) || Object.keys(principal).length === 0) throw malformedPolicy('Invalid principal in policy');
  for (const [kind, values] of Object.entries(principal)) {
    if (!['AWS', 'Service', 'CanonicalUser', 'Federated'].includes(kind)) throw malformedPolicy('Invalid principal in policy');
    for (const v of asList(values)) if (typeof v !== 'string' || v === '') throw malformedPolicy('Invalid principal in policy');
  }
}

/** Whether `resource` names this bucket or objects in it (S3 refuses a policy about anything else). */
function inBucket(resource: unknown, bucket: string): boolean {
  if (typeof resource !== 'string') return false;
  const m = /^arn:aws[a-z-]*:s3:::([^/]+)(\/.*)?$/.exec(resource);
  if (!m) return false;
  const name = m[1];
  if (!name.includes('*') && !name.includes('?')) return name === bucket;
  const pattern = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return pattern.test(bucket);
}

/**
 * Checks a bucket policy as S3 does when it is put; answers its statements. S3's messages name the element at
 * fault: `Missing required field Principal`, `Policy has invalid resource`, `Invalid effect: Maybe` …
 *
 * @example
 * checkBucketPolicy('{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}', 'b');
 */
export function checkBucketPolicy(text: string, bucket: string): Statement[] {
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) throw malformedPolicy('Policies must be less than 20 KB');
  if (!text.trimStart().startsWith('{')) throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformedPolicy('This policy contains invalid Json');
  }
  if (!isObject(doc)) throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  if ('Version' in doc && !VERSIONS.includes(doc.Version as string)) throw malformedPolicy('The policy must contain a valid version string');
  const statements = statementsOf(doc);
  for (const s of statements) {
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformedPolicy(`Invalid effect: ${typeof s.Effect === 'string' ? s.Effect : ''}`.trimEnd());
    if (!('Principal' in s) && !('NotPrincipal' in s)) throw malformedPolicy('Missing required field Principal');
    checkPrincipal(s.Principal ?? s.NotPrincipal);
    if (!('Action' in s) && !('NotAction' in s)) throw malformedPolicy('Missing required field Action');
    for (const a of asList(s.Action ?? s.NotAction)) {
      if (typeof a !== 'string' || (a !== '*' && !/^s3(-object-lambda)?:[A-Za-z*?]+$/.test(a))) throw malformedPolicy('Policy has invalid action');
    }
    if (!('Resource' in s) && !('NotResource' in s)) throw malformedPolicy('Missing required field Resource');
    for (const r of asList(s.Resource ?? s.NotResource)) if (!inBucket(r, bucket)) throw malformedPolicy('Policy has invalid resource');
    if ('Condition' in s && !isObject(s.Condition)) throw malformedPolicy('Invalid Condition in policy');
  }
  return statements;
}

function grantsEveryone(principal: unknown): boolean {
  if (principal === '*') return true;
  if (!isObject(principal)) return false;
  return asList(principal.AWS).includes('*');
}

/** A condition that fixes the caller to known values (or a source IP range short of the whole internet). */
function restricts(condition: unknown): boolean {
  if (!isObject(condition)) return false;
  return Object.entries(condition).some(
    ([op, block]) =>
      !/IfExists$/.test(op) &&
      isObject(block) &&
      Object.entries(block).some(([key, values]) => {
        const k = key.toLowerCase();
        if (!NON_PUBLIC_KEYS.includes(k)) return false;
        if (k === 'aws:sourceip') return !asList(values).some((v) => v === '0.0.0.0/0' || v === '::/0');
        return !asList(values).some((v) => typeof v === 'string' && v.includes('*'));
      }),
  );
}

/** Whether a (checked) policy is public: an `Allow` to everyone without a condition that pins who calls. */
export function isPublicPolicy(text: string): boolean {
  const doc = JSON.parse(text) as Record<string, unknown>;
  return asList(doc.Statement).some((s) => isObject(s) && s.Effect === 'Allow' && grantsEveryone(s.Principal) && !restricts(s.Condition));
}

const SETTINGS: (keyof PublicAccessBlock)[] = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'];

/** Reads a PublicAccessBlockConfiguration document; a setting left out is false, as S3 stores it. */
export function readPublicAccessBlock(config: XmlElement): PublicAccessBlock {
  if (config.name !== 'PublicAccessBlockConfiguration') throw malformedXml();
  const known = new Set<string>(SETTINGS);
  if (config.children.some((c) => !known.has(c.name))) throw malformedXml();
  const read = (name: keyof PublicAccessBlock): boolean => {
    const text = childText(config, name);
    if (text !== undefined && text !== 'true' && text !== 'false') throw malformedXml();
    return text === 'true';
  };
  return { BlockPublicAcls: read('BlockPublicAcls'), IgnorePublicAcls: read('IgnorePublicAcls'), BlockPublicPolicy: read('BlockPublicPolicy'), RestrictPublicBuckets: read('RestrictPublicBuckets') };
}
