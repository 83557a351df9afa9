import {
  CreateActivationCommand,
  DeleteActivationCommand,
  DeregisterManagedInstanceCommand,
  DescribeActivationsCommand,
  DescribeInstanceInformationCommand,
  paginateDescribeActivations,
  paginateDescribeInstanceInformation,
  SSMClient,
  type CreateActivationCommandInput,
  type DescribeInstanceInformationCommandInput,
} from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { registerFromControlApi, registerManagedInstance } from '../../packages/localcloud/src/services/ssm.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const DAY = 86_400_000;

async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<{ name: string; message: string }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected the call to fail');
}

describe('localcloud SSM hybrid activations and managed nodes', () => {
  let cloud: Localcloud;
  let ssm: SSMClient;
  const activate = async (input: Partial<CreateActivationCommandInput> = {}) => {
    const out = await ssm.send(new CreateActivationCommand({ IamRole: 'SSMServiceRole', ...input }));
    return { id: out.ActivationId!, code: out.ActivationCode! };
  };
  const register = (id: string, code: string, hostname = 'db-01') => registerManagedInstance(cloud.store, ACCOUNT, REGION, id, code, { hostname, ipAddress: '10.0.0.7' });
  const describeActivation = async (id: string) =>
    (await ssm.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [id] }] }))).ActivationList![0];
  const instances = async (input: DescribeInstanceInformationCommandInput = {}) => ((await ssm.send(new DescribeInstanceInformationCommand(input))).InstanceInformationList ?? []).map((i) => i.InstanceId);

  beforeEach(async () => {
    cloud = await startTestCloud();
    ssm = new SSMClient(clientConfig(cloud));
  });
  afterEach(async () => {
    ssm.destroy();
    await cloud.stop();
  });

  describe('CreateActivation and DescribeActivations', () => {
    it('returns an id and a 20-character code once, and describes the activation without the code', async () => {
      const { id, code } = await activate({ DefaultInstanceName: 'onprem-db', Description: 'db servers', Tags: [{ Key: 'Site', Value: 'lyon' }] });
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(code).toMatch(/^[A-Za-z0-9+/]{20}$/);

      const raw = await ssm.send(new DescribeActivationsCommand({}));
      expect(JSON.stringify(raw)).not.toContain(code);
      const a = raw.ActivationList![0];
      expect(a).toMatchObject({
        ActivationId: id,
        DefaultInstanceName: 'onprem-db',
        Description: 'db servers',
        IamRole: 'SSMServiceRole',
        RegistrationLimit: 1,
        RegistrationsCount: 0,
        Expired: false,
        Tags: [{ Key: 'Site', Value: 'lyon' }],
      });
      // Default expiry: 24 hours after creation.
      expect(a.ExpirationDate!.getTime() - a.CreatedDate!.getTime()).toBe(DAY);
    });

    it('accepts an expiry up to 30 days ahead and refuses later or past ones with ValidationException', async () => {
      const at = (ms: number) => new Date(cloud.clock.nowMs() + ms);
      const { id } = await activate({ ExpirationDate: at(30 * DAY), RegistrationLimit: 1000 });
      expect((await describeActivation(id)).RegistrationLimit).toBe(1000);
      const late = await errorOf(activate({ ExpirationDate: at(30 * DAY + 60_000) }));
      expect(late).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('30 days') });
      expect((await errorOf(activate({ ExpirationDate: at(-60_000) }))).name).toBe('ValidationException');
      expect((await errorOf(activate({ RegistrationLimit: 0 }))).name).toBe('ValidationException');
      expect((await errorOf(activate({ RegistrationLimit: 1001 }))).name).toBe('ValidationException');
      expect((await errorOf(activate({ IamRole: undefined }))).name).toBe('ValidationException');
      expect((await errorOf(activate({ Tags: [{ Key: 'aws:owner', Value: 'x' }] }))).name).toBe('ValidationException');
    });

    it('shows an activation as Expired once its expiry has passed', async () => {
      const { id } = await activate();
      await cloud.advance('25h');
      expect((await describeActivation(id)).Expired).toBe(true);
    });

    it('filters by id, default instance name and IAM role, and pages with the SDK paginator', async () => {
      const a = await activate({ DefaultInstanceName: 'web', IamRole: 'RoleA' });
      await activate({ DefaultInstanceName: 'db', IamRole: 'RoleB' });
      await activate({ DefaultInstanceName: 'db', IamRole: 'RoleA' });
      const ids = async (Filters: { FilterKey: 'ActivationIds' | 'DefaultInstanceName' | 'IamRole'; FilterValues: string[] }[]) =>
        ((await ssm.send(new DescribeActivationsCommand({ Filters }))).ActivationList ?? []).map((x) => x.DefaultInstanceName + '/' + x.IamRole);
      expect(await ids([{ FilterKey: 'ActivationIds', FilterValues: [a.id] }])).toEqual(['web/RoleA']);
      expect(await ids([{ FilterKey: 'DefaultInstanceName', FilterValues: ['db'] }])).toEqual(['db/RoleB', 'db/RoleA']);
      expect(await ids([{ FilterKey: 'IamRole', FilterValues: ['RoleA'] }, { FilterKey: 'DefaultInstanceName', FilterValues: ['db'] }])).toEqual(['db/RoleA']);

      const sizes: number[] = [];
      for await (const page of paginateDescribeActivations({ client: ssm, pageSize: 2 }, {})) sizes.push(page.ActivationList?.length ?? 0);
      expect(sizes).toEqual([2, 1]);
      expect((await errorOf(ssm.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'Region' as 'IamRole', FilterValues: ['x'] }] })))).name).toBe('ValidationException');
      expect((await errorOf(ssm.send(new DescribeActivationsCommand({ NextToken: 'garbage' })))).name).toBe('InvalidNextToken');
    });
  });

  describe('registering machines', () => {
    it('registers a machine with the right code, counts it, and creates an mi- node with the activation role, name and tags', async () => {
      const { id, code } = await activate({ DefaultInstanceName: 'onprem-db', RegistrationLimit: 2, Tags: [{ Key: 'Site', Value: 'lyon' }] });
      const { instanceId } = register(id, code);
      expect(instanceId).toMatch(/^mi-[0-9a-f]{17}$/);
      expect((await describeActivation(id)).RegistrationsCount).toBe(1);

      const [info] = (await ssm.send(new DescribeInstanceInformationCommand({}))).InstanceInformationList!;
      expect(info).toMatchObject({
        InstanceId: instanceId,
        ResourceType: 'ManagedInstance',
        PingStatus: 'Online',
        ActivationId: id,
        IamRole: 'SSMServiceRole',
        Name: 'onprem-db',
        ComputerName: 'db-01',
        IPAddress: '10.0.0.7',
        PlatformType: 'Linux',
        SourceType: 'AWS::SSM::ManagedInstance',
      });
      expect(info.RegistrationDate).toBeInstanceOf(Date);
      expect(await instances({ Filters: [{ Key: 'tag:Site', Values: ['lyon'] }] })).toEqual([instanceId]);
    });

    it('refuses a wrong code, an unknown activation, an exhausted or expired activation', async () => {
      const { id, code } = await activate();
      expect((await errorOf(() => register(id, 'x'.repeat(20)))).name).toBe('InvalidActivation');
      expect((await errorOf(() => register('0b5a0c9e-0000-4000-8000-000000000000', code))).name).toBe('InvalidActivationId');
      register(id, code);
      expect(await errorOf(() => register(id, code))).toMatchObject({ name: 'InvalidActivation', message: expect.stringContaining('RegistrationLimit') });

      const later = await activate();
      await cloud.advance('2d');
      expect(await errorOf(() => register(later.id, later.code))).toMatchObject({ name: 'InvalidActivation', message: expect.stringContaining('expired') });
    });

    it('registers through the agent call AmazonSSM.RegisterManagedInstance and through the control-API helper', async () => {
      const { id, code } = await activate({ RegistrationLimit: 2 });
      const res = await fetch(cloud.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'AmazonSSM.RegisterManagedInstance',
          authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${REGION}/ssm/aws4_request, SignedHeaders=host, Signature=x`,
        },
        body: JSON.stringify({ ActivationId: id, ActivationCode: code, PublicKey: 'key', PublicKeyType: 'Rsa', Fingerprint: 'fp' }),
      });
      expect(res.status).toBe(200);
      const { InstanceId } = (await res.json()) as { InstanceId: string };
      expect(InstanceId).toMatch(/^mi-[0-9a-f]{17}$/);

      const viaControl = registerFromControlApi(cloud.store, ACCOUNT, REGION, { activationId: id, activationCode: code, hostname: 'web-02', platformType: 'Windows' });
      expect(viaControl.region).toBe(REGION);
      expect(await instances({ Filters: [{ Key: 'PlatformTypes', Values: ['Windows'] }] })).toEqual([viaControl.instanceId]);
      expect((await errorOf(() => registerFromControlApi(cloud.store, ACCOUNT, REGION, { activationId: id }))).name).toBe('ValidationException');
    });
  });

  describe('DescribeInstanceInformation and DeregisterManagedInstance', () => {
    it('filters managed nodes by id, activation, ping status and resource type, and pages with the SDK paginator', async () => {
      const a = await activate({ RegistrationLimit: 10 });
      const b = await activate();
      const fromA = Array.from({ length: 6 }, (_, i) => register(a.id, a.code, `host-${i}`).instanceId);
      const fromB = register(b.id, b.code).instanceId;

      expect(await instances({ Filters: [{ Key: 'ActivationIds', Values: [b.id] }] })).toEqual([fromB]);
      expect(await instances({ InstanceInformationFilterList: [{ key: 'InstanceIds', valueSet: [fromA[2], fromB] }] })).toEqual([fromA[2], fromB]);
      expect(await instances({ Filters: [{ Key: 'ResourceType', Values: ['EC2Instance'] }] })).toEqual([]);
      expect(await instances({ Filters: [{ Key: 'PingStatus', Values: ['ConnectionLost'] }] })).toEqual([]);
      expect(await instances({ Filters: [{ Key: 'PingStatus', Values: ['Online'] }, { Key: 'ResourceType', Values: ['ManagedInstance'] }] })).toHaveLength(7);

      const sizes: number[] = [];
      for await (const page of paginateDescribeInstanceInformation({ client: ssm, pageSize: 5 }, {})) sizes.push(page.InstanceInformationList?.length ?? 0);
      expect(sizes).toEqual([5, 2]);
    });

    it('answers invalid filter keys and values and MaxResults below 5 with AWS errors', async () => {
      const errorName = async (input: DescribeInstanceInformationCommandInput) => (await errorOf(ssm.send(new DescribeInstanceInformationCommand(input)))).name;
      expect(await errorName({ Filters: [{ Key: 'Colour', Values: ['x'] }] })).toBe('InvalidFilterKey');
      expect(await errorName({ Filters: [{ Key: 'PingStatus', Values: ['Asleep'] }] })).toBe('InvalidInstanceInformationFilterValue');
      expect(await errorName({ InstanceInformationFilterList: [{ key: 'ResourceType', valueSet: ['Document'] }] })).toBe('InvalidInstanceInformationFilterValue');
      expect(await errorName({ MaxResults: 4 })).toBe('ValidationException');
    });

    it('deregisters a node, then answers InvalidInstanceId for it and for ids that are not managed nodes', async () => {
      const { id, code } = await activate({ RegistrationLimit: 2 });
      const first = register(id, code).instanceId;
      const second = register(id, code).instanceId;
      await ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: first }));
      expect(await instances()).toEqual([second]);
      expect((await errorOf(ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: first })))).name).toBe('InvalidInstanceId');
      expect((await errorOf(ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: 'i-0123456789abcdef0' })))).name).toBe('InvalidInstanceId');
    });

    it('deletes an activation without deregistering its nodes, and answers InvalidActivationId after', async () => {
      const { id, code } = await activate({ RegistrationLimit: 2 });
      const node = register(id, code).instanceId;
      await ssm.send(new DeleteActivationCommand({ ActivationId: id }));
      expect((await ssm.send(new DescribeActivationsCommand({}))).ActivationList).toEqual([]);
      expect(await instances()).toEqual([node]);
      expect((await errorOf(ssm.send(new DeleteActivationCommand({ ActivationId: id })))).name).toBe('InvalidActivationId');
      expect((await errorOf(() => register(id, code))).name).toBe('InvalidActivationId');
    });
  });
});
