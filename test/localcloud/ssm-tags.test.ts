import {
  AddTagsToResourceCommand,
  CreateActivationCommand,
  CreateDocumentCommand,
  CreateOpsItemCommand,
  DescribeParametersCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  RemoveTagsFromResourceCommand,
  SSMClient,
  type ResourceTypeForTagging,
} from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { registerManagedInstance, seedDocuments } from '../../packages/localcloud/src/services/ssm.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const RUNBOOK = JSON.stringify({ schemaVersion: '0.3', mainSteps: [{ name: 'wait', action: 'aws:sleep', inputs: { Duration: 'PT1M' } }] });

describe('localcloud SSM resource tags', () => {
  let cloud: Localcloud;
  let ssm: SSMClient;
  const tagsOf = async (ResourceType: ResourceTypeForTagging, ResourceId: string) =>
    Object.fromEntries(((await ssm.send(new ListTagsForResourceCommand({ ResourceType, ResourceId }))).TagList ?? []).map((t) => [t.Key, t.Value]));
  const add = (ResourceType: ResourceTypeForTagging, ResourceId: string, tags: Record<string, string>) =>
    ssm.send(new AddTagsToResourceCommand({ ResourceType, ResourceId, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));

  beforeEach(async () => {
    cloud = await startTestCloud();
    ssm = new SSMClient(clientConfig(cloud));
  });
  afterEach(async () => {
    ssm.destroy();
    await cloud.stop();
  });

  it('adds, overwrites, lists and removes the tags of a parameter, which DescribeParameters then filters on', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/app/db', Value: 'x', Type: 'String', Tags: [{ Key: 'Team', Value: 'web' }] }));
    await add('Parameter', '/app/db', { Team: 'db', Owner: 'alice', Empty: '' });
    expect(await tagsOf('Parameter', '/app/db')).toEqual({ Team: 'db', Owner: 'alice', Empty: '' });

    await ssm.send(new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId: '/app/db', TagKeys: ['Owner', 'NotThere'] }));
    expect(await tagsOf('Parameter', '/app/db')).toEqual({ Team: 'db', Empty: '' });
    const { Parameters } = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'tag:Team', Values: ['db'] }] }));
    expect(Parameters?.map((p) => p.Name)).toEqual(['/app/db']);
  });

  it('tags OpsItems, managed nodes and the account own documents', async () => {
    const { OpsItemId } = await ssm.send(new CreateOpsItemCommand({ Title: 't', Description: 'd', Source: 'EBS', Tags: [{ Key: 'Team', Value: 'ops' }] }));
    await add('OpsItem', OpsItemId!, { Severity: 'low' });
    expect(await tagsOf('OpsItem', OpsItemId!)).toEqual({ Team: 'ops', Severity: 'low' });

    const activation = await ssm.send(new CreateActivationCommand({ IamRole: 'SSMServiceRole', Tags: [{ Key: 'Site', Value: 'lyon' }] }));
    const { instanceId } = registerManagedInstance(cloud.store, ACCOUNT, REGION, activation.ActivationId!, activation.ActivationCode!);
    await add('ManagedInstance', instanceId, { Rack: 'b12' });
    expect(await tagsOf('ManagedInstance', instanceId)).toEqual({ Site: 'lyon', Rack: 'b12' });

    await ssm.send(new CreateDocumentCommand({ Name: 'Ops-Wait', Content: RUNBOOK, DocumentType: 'Automation' }));
    await add('Document', 'Ops-Wait', { Team: 'ops' });
    expect(await tagsOf('Document', 'Ops-Wait')).toEqual({ Team: 'ops' });
  });

  it('answers unknown resources with InvalidResourceId and types it does not keep with InvalidResourceType', async () => {
    seedDocuments(cloud.store, ACCOUNT, REGION, [{ name: 'AWS-Wait', content: RUNBOOK }]);
    expect((await errorOf(add('Parameter', '/missing', { a: 'b' }))).name).toBe('InvalidResourceId');
    expect((await errorOf(add('OpsItem', 'oi-000000000000', { a: 'b' }))).name).toBe('InvalidResourceId');
    expect((await errorOf(add('ManagedInstance', 'mi-0123456789abcdef0', { a: 'b' }))).name).toBe('InvalidResourceId');
    expect((await errorOf(add('ManagedInstance', 'i-0123456789abcdef0', { a: 'b' }))).name).toBe('InvalidResourceType');
    expect((await errorOf(add('Document', 'AWS-Wait', { a: 'b' }))).name).toBe('InvalidResourceId');
    expect((await errorOf(add('MaintenanceWindow', 'mw-0123456789abcdef0', { a: 'b' }))).name).toBe('InvalidResourceType');
    expect((await errorOf(ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/missing' })))).name).toBe('InvalidResourceId');
    expect((await errorOf(ssm.send(new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId: '/missing', TagKeys: ['a'] })))).name).toBe('InvalidResourceId');
  });

  it('refuses a 51st tag with TooManyTagsError and invalid keys or values with ValidationException', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/many', Value: 'x', Type: 'String' }));
    await add('Parameter', '/many', Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])));
    expect((await errorOf(add('Parameter', '/many', { k51: 'v' }))).name).toBe('TooManyTagsError');
    // Overwriting an existing key does not add a tag.
    await add('Parameter', '/many', { k0: 'changed' });
    expect((await tagsOf('Parameter', '/many')).k0).toBe('changed');

    expect((await errorOf(add('Parameter', '/many', { 'aws:owner': 'x' }))).name).toBe('ValidationException');
    expect((await errorOf(add('Parameter', '/many', { ['k'.repeat(129)]: 'x' }))).name).toBe('ValidationException');
    expect((await errorOf(add('Parameter', '/many', { long: 'v'.repeat(257) }))).name).toBe('ValidationException');
    expect((await errorOf(add('Parameter', '/many', { 'semi;colon': 'x' }))).name).toBe('ValidationException');
    expect((await errorOf(ssm.send(new PutParameterCommand({ Name: '/tagged', Value: 'x', Type: 'String', Tags: [{ Key: 'aws:x', Value: 'y' }] })))).name).toBe('ValidationException');
  });
});
