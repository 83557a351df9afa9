/**
 * DescribeInstanceStatus: the state and the status checks of instances. By default only running instances are
 * answered (IncludeAllInstances adds the others), as EC2 does. The emulated instances have no faults: a running
 * instance's instance and system checks are `ok` (reachability `passed`) from the moment it runs, and the checks
 * of an instance that is not running are `not-applicable`. Scheduled events are not emulated.
 */
import type { QueryTree } from '../protocols/query.js';
import type { XmlValue } from '../protocols/xml.js';
import { parseDescribeRequest, scanPage, type DescribeShape } from './ec2-describe.js';
import { checkInstanceId, existingEc2State, INSTANCE_STATE_CODES, instancesNotFound, optionalBool, type InstanceRecord } from './ec2-model.js';
import type { RequestContext } from './types.js';

type CheckStatus = 'ok' | 'not-applicable';

const checkOf = (i: InstanceRecord): CheckStatus => (i.state === 'running' ? 'ok' : 'not-applicable');
const reachabilityOf = (i: InstanceRecord): string => (i.state === 'running' ? 'passed' : 'not-applicable');

const STATUS_DESCRIBE: DescribeShape<InstanceRecord> = {
  idParam: 'InstanceId',
  idSetName: 'instancesSet',
  checkId: checkInstanceId,
  maxResults: { min: 5, max: 1000 },
  defaultPageSize: 1000,
  fields: {
    'availability-zone': (i) => i.availabilityZone,
    'instance-state-name': (i) => i.state,
    'instance-state-code': (i) => String(INSTANCE_STATE_CODES[i.state]),
    'instance-status.status': checkOf,
    'instance-status.reachability': reachabilityOf,
    'system-status.status': checkOf,
    'system-status.reachability': reachabilityOf,
  },
  tagsOf: (i) => i.tags,
};

function checkXml(i: InstanceRecord): Record<string, XmlValue> {
  const status = checkOf(i);
  return { status, details: status === 'ok' ? [{ name: 'reachability', status: 'passed' }] : [] };
}

export function describeInstanceStatus(input: QueryTree, ctx: RequestContext): Record<string, XmlValue> {
  const request = parseDescribeRequest(input, STATUS_DESCRIBE);
  const includeAll = optionalBool(input, 'IncludeAllInstances') ?? false;
  const state = existingEc2State(ctx.store, ctx.account, ctx.region);
  const { page, nextToken } = scanPage(state?.instances ?? {}, request, (i) => i.instanceId, instancesNotFound, (i) => includeAll || i.state === 'running');
  return {
    instanceStatusSet: page.map((i) => ({
      instanceId: i.instanceId,
      availabilityZone: i.availabilityZone,
      instanceState: { code: INSTANCE_STATE_CODES[i.state], name: i.state },
      systemStatus: checkXml(i),
      instanceStatus: checkXml(i),
    })),
    ...(nextToken ? { nextToken } : {}),
  };
}
