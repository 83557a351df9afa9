/**
 * Instance metadata service options: RunInstances `MetadataOptions` and ModifyInstanceMetadataOptions, with the
 * values and errors of the EC2 API reference (HttpTokens optional|required, HttpPutResponseHopLimit 1-64,
 * HttpEndpoint, HttpProtocolIpv6 and InstanceMetadataTags enabled|disabled).
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import { checkInstanceId, existingEc2State, instancesNotFound, optionalInt, optionalString, requiredString, type MetadataOptions } from './ec2-model.js';
import type { RequestContext } from './types.js';

/** What an instance launched without MetadataOptions gets (IMDSv1 and v2 both allowed, one hop). */
export const DEFAULT_METADATA_OPTIONS: MetadataOptions = {
  httpTokens: 'optional',
  httpPutResponseHopLimit: 1,
  httpEndpoint: 'enabled',
  httpProtocolIpv6: 'disabled',
  instanceMetadataTags: 'disabled',
};

function oneOf<T extends string>(tree: QueryTree, name: string, allowed: readonly T[]): T | undefined {
  const v = optionalString(tree, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new AwsError('InvalidParameterValue', `Value (${v}) for parameter ${name} is invalid. Valid values: ${allowed.join(', ')}`);
  return v as T;
}

/** `base` with the options a request sets (a `MetadataOptions` tree, or ModifyInstanceMetadataOptions' top level). */
export function metadataOptionsOf(tree: QueryTree | undefined, base: MetadataOptions): MetadataOptions {
  if (!tree) return { ...base };
  const hops = optionalInt(tree, 'HttpPutResponseHopLimit');
  if (hops !== undefined && (hops < 1 || hops > 64)) throw new AwsError('InvalidParameterValue', `Value (${hops}) for parameter HttpPutResponseHopLimit is invalid. Valid values: 1 to 64`);
  const endpoint = oneOf(tree, 'HttpEndpoint', ['enabled', 'disabled'] as const);
  return {
    httpTokens: oneOf(tree, 'HttpTokens', ['optional', 'required'] as const) ?? base.httpTokens,
    httpPutResponseHopLimit: hops ?? base.httpPutResponseHopLimit,
    httpEndpoint: endpoint ?? base.httpEndpoint,
    httpProtocolIpv6: oneOf(tree, 'HttpProtocolIpv6', ['enabled', 'disabled'] as const) ?? base.httpProtocolIpv6,
    instanceMetadataTags: oneOf(tree, 'InstanceMetadataTags', ['enabled', 'disabled'] as const) ?? base.instanceMetadataTags,
  };
}

/** ModifyInstanceMetadataOptions: answers the options as `pending`; DescribeInstances reports them `applied`. */
export function modifyInstanceMetadataOptions(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const instanceId = requiredString(input, 'InstanceId');
  checkInstanceId(instanceId);
  const instance = existingEc2State(ctx.store, ctx.account, ctx.region)?.instances[instanceId];
  if (!instance) throw instancesNotFound([instanceId]);
  if (instance.state === 'terminated' || instance.state === 'shutting-down') {
    throw new AwsError('IncorrectInstanceState', `The instance '${instanceId}' is not in a state from which its metadata options can be modified.`);
  }
  if (!['HttpTokens', 'HttpPutResponseHopLimit', 'HttpEndpoint', 'HttpProtocolIpv6', 'InstanceMetadataTags'].some((k) => input[k] !== undefined)) {
    throw new AwsError('InvalidParameterCombination', 'At least one of the following parameters must be specified: HttpTokens, HttpPutResponseHopLimit, HttpEndpoint, HttpProtocolIpv6, InstanceMetadataTags.');
  }
  instance.metadataOptions = metadataOptionsOf(input, instance.metadataOptions ?? DEFAULT_METADATA_OPTIONS);
  return { instanceId, instanceMetadataOptions: { state: 'pending', ...instance.metadataOptions } };
}
