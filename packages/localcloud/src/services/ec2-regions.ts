/**
 * DescribeRegions: the commercial AWS Regions. An account has the Regions that need no opt-in enabled; the
 * opt-in Regions are listed (as `not-opted-in`) only with AllRegions or when named, as the API reference says:
 * "You can specify any Regions, whether they are enabled and disabled for your account."
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import { compileFilters, resourceMatcher } from './ec2-describe.js';
import { optionalBool, stringList } from './ec2-model.js';
import type { RequestContext } from './types.js';

/** Enabled in every account ("opt-in-not-required"). */
const DEFAULT_REGIONS = [
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ca-central-1',
  'eu-central-1',
  'eu-north-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
];

/** Launched since March 2019: disabled until the account opts in. */
const OPT_IN_REGIONS = [
  'af-south-1',
  'ap-east-1',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
];

interface RegionInfo {
  regionName: string;
  regionEndpoint: string;
  optInStatus: 'opt-in-not-required' | 'not-opted-in';
}

const REGIONS: RegionInfo[] = [
  ...DEFAULT_REGIONS.map((name) => ({ regionName: name, regionEndpoint: `ec2.${name}.amazonaws.com`, optInStatus: 'opt-in-not-required' as const })),
  ...OPT_IN_REGIONS.map((name) => ({ regionName: name, regionEndpoint: `ec2.${name}.amazonaws.com`, optInStatus: 'not-opted-in' as const })),
].sort((a, b) => a.regionName.localeCompare(b.regionName));

const REGION_FIELDS = {
  endpoint: (r: RegionInfo) => r.regionEndpoint,
  'opt-in-status': (r: RegionInfo) => r.optInStatus,
  'region-name': (r: RegionInfo) => r.regionName,
};

/** The names of the commercial Regions localcloud knows (for checks elsewhere, e.g. a fleet file). */
export const REGION_NAMES: readonly string[] = REGIONS.map((r) => r.regionName);

export function describeRegions(input: QueryTree, _ctx: RequestContext): Record<string, XmlValue> {
  const names = stringList(input, 'RegionName');
  const unknown = names.filter((n) => !REGION_NAMES.includes(n));
  if (unknown.length > 0) throw new AwsError('InvalidParameterValue', `Invalid region names: ${unknown.join(', ')}`);
  const matches = resourceMatcher(compileFilters(input, Object.keys(REGION_FIELDS)), REGION_FIELDS, () => []);
  const all = optionalBool(input, 'AllRegions') ?? false;
  const selected = REGIONS.filter(
    (r) => (names.length > 0 ? names.includes(r.regionName) : all || r.optInStatus === 'opt-in-not-required') && matches(r),
  );
  return { regionInfo: selected.map((r) => ({ regionName: r.regionName, regionEndpoint: r.regionEndpoint, optInStatus: r.optInStatus })) };
}
