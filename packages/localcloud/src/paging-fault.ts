/**
 * The `emptyPageRate` fault: a paginated list/describe call with a filter answered, as AWS may, with an empty
 * page and a token. The token wraps the one the call came with, so the call that follows it is served exactly as
 * the first one would have been (and is never emptied again: a caller that follows tokens always gets through).
 */
import { XmlList } from './protocols/xml.js';

/** Paginated operations, per service, with their token's name in the request and in the answer. */
const PAGED: Record<string, { input: string; output: string; operations: string[] }> = {
  ec2: {
    input: 'NextToken',
    output: 'nextToken',
    operations: ['DescribeImages', 'DescribeInstances', 'DescribeInstanceStatus', 'DescribeSecurityGroups', 'DescribeSnapshots', 'DescribeSubnets', 'DescribeVolumes', 'DescribeVpcs'],
  },
  rds: { input: 'Marker', output: 'Marker', operations: ['DescribeDBClusters', 'DescribeDBInstances', 'DescribeDBSnapshots'] },
  ssm: { input: 'NextToken', output: 'NextToken', operations: ['DescribeOpsItems', 'DescribeParameters', 'GetParametersByPath', 'ListDocuments'] },
};

const PREFIX = 'localcloud-empty-page.';

/** Whether the fault may apply to this call: a paginated operation, called with a filter. */
export function pageable(service: string, operation: string, input: unknown): boolean {
  if (!PAGED[service]?.operations.includes(operation) || typeof input !== 'object' || input === null) return false;
  return Object.entries(input).some(([k, v]) => /Filter/.test(k) && v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0));
}

/**
 * A call that follows an empty page's token: its input with the token it wraps restored (or removed, for a first
 * page), and true; any other input unchanged, and false.
 */
export function unwrapToken(service: string, input: unknown): { input: unknown; followed: boolean } {
  const paged = PAGED[service];
  if (!paged || typeof input !== 'object' || input === null) return { input, followed: false };
  const token = (input as Record<string, unknown>)[paged.input];
  if (typeof token !== 'string' || !token.startsWith(PREFIX)) return { input, followed: false };
  const original = Buffer.from(token.slice(PREFIX.length), 'base64url').toString('utf8');
  const rest = Object.fromEntries(Object.entries(input).filter(([k]) => k !== paged.input));
  return { input: original ? { ...rest, [paged.input]: original } : rest, followed: true };
}

/** The answer as an empty page: every list emptied, and a token that leads back to the page `input` asked for. */
export function emptyPage(service: string, out: unknown, input: unknown): unknown {
  const paged = PAGED[service];
  if (!paged || typeof out !== 'object' || out === null) return out;
  const originalToken = (input as Record<string, unknown>)[paged.input];
  const empty: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) {
    if (k === paged.output) continue;
    empty[k] = v instanceof XmlList ? new XmlList(v.itemName, []) : Array.isArray(v) ? [] : v;
  }
  empty[paged.output] = PREFIX + Buffer.from(typeof originalToken === 'string' ? originalToken : '', 'utf8').toString('base64url');
  return empty;
}
