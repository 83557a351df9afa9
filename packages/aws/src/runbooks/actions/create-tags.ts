import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AddTagsToResourceCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ActionFailure, type ActionContext, type ActionResult } from '@opsauto/core';
import { named } from '../aws-api.js';
import { nothingToPoll, type ActionEnv } from './action-module.js';
import { chunks, stringList, tagList } from './action-inputs.js';

/** EC2 CreateTags takes at most this many resource ids in one call. */
const RESOURCES_PER_CALL = 1000;

/**
 * aws:createTags: EC2 resources through EC2 CreateTags; managed instances, maintenance windows and parameters
 * through SSM AddTagsToResource. Tagging is idempotent, so a resumed attempt tags again.
 */
export async function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const ids = stringList(inputs.ResourceIds, 'ResourceIds');
  const tags = tagList(inputs.Tags);
  const type = inputs.ResourceType ?? 'EC2';
  if (type === 'EC2') {
    const ec2 = (await env.clientsFor(context)).get(EC2Client, context.region);
    for (const chunk of chunks(ids, RESOURCES_PER_CALL)) await named('CreateTags', () => ec2.send(new CreateTagsCommand({ Resources: chunk, Tags: tags })));
    return { kind: 'done' };
  }
  if (type !== 'ManagedInstance' && type !== 'MaintenanceWindow' && type !== 'Parameter') {
    throw new ActionFailure(`ResourceType must be EC2, ManagedInstance, MaintenanceWindow or Parameter, not ${JSON.stringify(type)}`);
  }
  const ssm = (await env.clientsFor(context)).get(SSMClient, context.region);
  for (const id of ids) {
    await named('AddTagsToResource', () => ssm.send(new AddTagsToResourceCommand({ ResourceType: type, ResourceId: id, Tags: tags })));
  }
  return { kind: 'done' };
}

export const poll = nothingToPoll('aws:createTags');
