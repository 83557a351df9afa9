/**
 * The request shape EC2's Describe* operations share (DescribeImages, DescribeInstances, DescribeVolumes,
 * DescribeSnapshots): resource ids, `Filter.N.Name`/`Filter.N.Value.M`, `MaxResults`/`NextToken`, with EC2's
 * checks (ids and MaxResults together is an error, MaxResults within bounds, filter names known), and filters
 * compiled once per request so that a page of thousands of candidates does not re-parse them per resource.
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import { hasWildcard, pageAfter, wildcardMatcher, type Tag } from './filters.js';
import { optionalInt, optionalString, stringList, treeList } from './ec2-model.js';

/** The value a resource has for each filter name it supports (`tag:K`, `tag-key`, `tag-value` come from its tags). */
export type FilterFields<T> = Record<string, (resource: T) => string | undefined>;

/** One `Filter.N`: values are ORed (with EC2 wildcards); `exact` lists them when none holds a wildcard. */
export interface CompiledFilter {
  name: string;
  values: string[];
  exact?: string[];
  test: (value: string | undefined) => boolean;
}

export interface DescribeShape<T> {
  /** Wire name of the id list: `VolumeId` for `VolumeId.1=…`. */
  idParam: string;
  /** The name EC2 gives the id list in its InvalidParameterCombination message (`volumeSet`). */
  idSetName: string;
  checkId: (id: string) => void;
  /** MaxResults bounds. `capAtMax`: a larger value is served as `max` (DescribeVolumes, DescribeSnapshots) rather than refused. */
  maxResults: { min: number; max: number; capAtMax?: boolean };
  /** Page size without MaxResults; absent: everything in one answer, as EC2 documents for volumes and snapshots. */
  defaultPageSize?: number;
  fields: FilterFields<T>;
  tagsOf: (resource: T) => Tag[];
}

export interface DescribeRequest<T> {
  /** Requested ids, duplicates dropped, in the order given. */
  ids: string[];
  filters: CompiledFilter[];
  /** Whether a resource passes every filter. */
  matches: (resource: T) => boolean;
  /** Items per page (Infinity: all). */
  pageSize: number;
  nextToken?: string;
}

export const invalidPaginationToken = () => new AwsError('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');

/** Parses and checks a Describe* request against the operation's shape; throws EC2's errors. */
export function parseDescribeRequest<T>(input: QueryTree, shape: DescribeShape<T>): DescribeRequest<T> {
  const ids = [...new Set(stringList(input, shape.idParam))];
  const maxResults = optionalInt(input, 'MaxResults');
  const nextToken = optionalString(input, 'NextToken');
  if (ids.length > 0 && maxResults !== undefined) {
    throw new AwsError('InvalidParameterCombination', `The parameter ${shape.idSetName} cannot be used with the parameter maxResults`);
  }
  const { min, max, capAtMax } = shape.maxResults;
  if (maxResults !== undefined && (maxResults < min || (maxResults > max && !capAtMax))) {
    throw new AwsError('InvalidParameterValue', `Value ( ${maxResults} ) for parameter maxResults is invalid. Parameter must be between ${min} and ${max}.`);
  }
  const filters = compileFilters(input, Object.keys(shape.fields));
  ids.forEach((id) => shape.checkId(id));
  return {
    ids,
    filters,
    matches: resourceMatcher(filters, shape.fields, shape.tagsOf),
    pageSize: maxResults !== undefined ? Math.min(maxResults, max) : (shape.defaultPageSize ?? Infinity),
    ...(nextToken ? { nextToken } : {}),
  };
}

/** `Filter.N` of the request, checked against the names the operation supports (tag filters always are). */
export function compileFilters(input: QueryTree, known: string[]): CompiledFilter[] {
  return treeList(input, 'Filter').map((f) => {
    const name = optionalString(f, 'Name');
    if (!name) throw new AwsError('InvalidParameterValue', 'The filter name must be specified');
    if (!(name.startsWith('tag:') || name === 'tag-key' || name === 'tag-value' || known.includes(name))) {
      throw new AwsError('InvalidParameterValue', `The filter '${name}' is invalid`);
    }
    const values = stringList(f, 'Value');
    return { name, values, ...(values.some(hasWildcard) ? {} : { exact: values }), test: wildcardMatcher(values) };
  });
}

/** Filters are ANDed; a `tag:K` filter matches a tag with key K and a matching value. */
export function resourceMatcher<T>(filters: CompiledFilter[], fields: FilterFields<T>, tagsOf: (resource: T) => Tag[]): (resource: T) => boolean {
  const tests = filters.map((f): ((resource: T) => boolean) => {
    if (f.name.startsWith('tag:')) {
      const key = f.name.slice(4);
      return (r) => tagsOf(r).some((t) => t.Key === key && f.test(t.Value));
    }
    if (f.name === 'tag-key') return (r) => tagsOf(r).some((t) => f.test(t.Key));
    if (f.name === 'tag-value') return (r) => tagsOf(r).some((t) => f.test(t.Value));
    const field = fields[f.name];
    return (r) => f.test(field(r));
  });
  return (resource) => tests.every((test) => test(resource));
}

/**
 * Serves a Describe* request by scanning a region's records (images, instances, snapshots: small sets). Named
 * ids that do not exist fail the whole request with `notFound`; `also` is an extra condition (owners).
 */
export function scanPage<T>(
  records: Record<string, T>,
  request: DescribeRequest<T>,
  keyOf: (resource: T) => string,
  notFound: (ids: string[]) => AwsError,
  also: (resource: T) => boolean = () => true,
): { page: T[]; nextToken?: string } {
  const missing = request.ids.filter((id) => !records[id]);
  if (missing.length > 0) throw notFound(missing);
  const candidates = request.ids.length > 0 ? request.ids.map((id) => records[id]) : Object.values(records);
  const selected = candidates.filter((r) => also(r) && request.matches(r));
  return pageAfter(selected, keyOf, request.pageSize, request.nextToken, invalidPaginationToken);
}
