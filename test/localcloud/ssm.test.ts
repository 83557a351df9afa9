import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  paginateDescribeParameters,
  paginateGetParameterHistory,
  PutParameterCommand,
  SSMClient,
  UnlabelParameterVersionCommand,
  type ParameterStringFilter,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { DeregisterImageCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { IMAGE_AVAILABLE_DELAY_MS, seedEc2 } from '../../packages/localcloud/src/services/ec2.js';
import { seedParameters, setImageValidationDelay } from '../../packages/localcloud/src/services/ssm.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

const changeEvents = (cloud: Localcloud) => cloud.bus.recent.filter((e) => e['detail-type'] === 'Parameter Store Change');

describe('localcloud SSM Parameter Store', () => {
  let cloud: Localcloud;
  let ssm: SSMClient;
  const put = (input: PutParameterCommandInput) => ssm.send(new PutParameterCommand(input));

  beforeEach(async () => {
    cloud = await startTestCloud();
    ssm = new SSMClient(clientConfig(cloud));
  });
  afterEach(async () => {
    ssm.destroy();
    await cloud.stop();
  });

  describe('PutParameter and GetParameter', () => {
    it('creates a parameter at version 1 and emits a Parameter Store Change Create event', async () => {
      const out = await put({ Name: '/app/db/url', Value: 'postgres://db', Type: 'String', Description: 'database url', Tags: [{ Key: 'Team', Value: 'ops' }] });
      expect(out).toMatchObject({ Version: 1, Tier: 'Standard' });

      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/app/db/url' }));
      expect(Parameter).toMatchObject({
        Name: '/app/db/url',
        Type: 'String',
        Value: 'postgres://db',
        Version: 1,
        DataType: 'text',
        ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/app/db/url`,
      });
      expect(Parameter!.LastModifiedDate).toBeInstanceOf(Date);
      expect(Math.abs(Parameter!.LastModifiedDate!.getTime() - cloud.clock.nowMs())).toBeLessThan(2000);

      // The shape of AWS's documented sample (awsdocs-ssm__parameter-store-change_Create.json).
      expect(changeEvents(cloud)).toHaveLength(1);
      expect(changeEvents(cloud)[0]).toMatchObject({
        source: 'aws.ssm',
        account: ACCOUNT,
        region: REGION,
        resources: [`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/app/db/url`],
        detail: { operation: 'Create', name: '/app/db/url', type: 'String', description: 'database url' },
      });
    });

    it('adds a version with Overwrite and emits an Update event, keeping the description', async () => {
      await put({ Name: 'plain-name', Value: 'one', Type: 'String', Description: 'kept' });
      const second = await put({ Name: 'plain-name', Value: 'two', Overwrite: true });
      expect(second.Version).toBe(2);
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: 'plain-name' }));
      expect(Parameter).toMatchObject({ Value: 'two', Version: 2, Type: 'String', ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/plain-name` });
      expect(changeEvents(cloud).map((e) => e.detail)).toEqual([
        { operation: 'Create', name: 'plain-name', type: 'String', description: 'kept' },
        { operation: 'Update', name: 'plain-name', type: 'String', description: 'kept' },
      ]);
    });

    it('answers a second create without Overwrite with ParameterAlreadyExists', async () => {
      await put({ Name: '/dup', Value: 'a', Type: 'String' });
      const err = await errorOf(put({ Name: '/dup', Value: 'b', Type: 'String' }));
      expect(err.name).toBe('ParameterAlreadyExists');
      expect((await ssm.send(new GetParameterCommand({ Name: '/dup' }))).Parameter?.Value).toBe('a');
    });

    it('answers an unknown name with ParameterNotFound and an unknown version with ParameterVersionNotFound', async () => {
      expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/nope' })))).name).toBe('ParameterNotFound');
      await put({ Name: '/versioned', Value: 'a', Type: 'String' });
      const err = await errorOf(ssm.send(new GetParameterCommand({ Name: '/versioned:9' })));
      expect(err.name).toBe('ParameterVersionNotFound');
      expect(err.message).toContain('version 9 of /versioned');
    });

    it('reads an older version or a label through the name selector', async () => {
      await put({ Name: '/sel', Value: 'v1', Type: 'String' });
      await put({ Name: '/sel', Value: 'v2', Overwrite: true });
      await ssm.send(new LabelParameterVersionCommand({ Name: '/sel', ParameterVersion: 1, Labels: ['stable'] }));
      expect((await ssm.send(new GetParameterCommand({ Name: '/sel:1' }))).Parameter).toMatchObject({ Name: '/sel', Value: 'v1', Version: 1, Selector: ':1' });
      expect((await ssm.send(new GetParameterCommand({ Name: '/sel:stable' }))).Parameter).toMatchObject({ Value: 'v1', Selector: ':stable' });
      expect((await ssm.send(new GetParameterCommand({ Name: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/sel` }))).Parameter?.Value).toBe('v2');
      expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/sel:missing' })))).name).toBe('ParameterVersionNotFound');
    });

    it('validates names as AWS does', async () => {
      expect((await errorOf(put({ Name: 'aws-thing', Value: 'x', Type: 'String' }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: '/SSM/thing', Value: 'x', Type: 'String' }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: '/aws/service/thing', Value: 'x', Type: 'String' }))).name).toBe('AccessDeniedException');
      expect((await errorOf(put({ Name: 'a/b', Value: 'x', Type: 'String' }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: '/has space', Value: 'x', Type: 'String' }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: '/bad!char', Value: 'x', Type: 'String' }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: `/${'a'.repeat(1011)}`, Value: 'x', Type: 'String' }))).name).toBe('ValidationException');
      const sixteen = '/' + Array.from({ length: 16 }, (_, i) => `l${i}`).join('/');
      expect((await errorOf(put({ Name: sixteen, Value: 'x', Type: 'String' }))).name).toBe('HierarchyLevelLimitExceededException');
      const fifteen = '/' + Array.from({ length: 15 }, (_, i) => `l${i}`).join('/');
      expect((await put({ Name: fifteen, Value: 'x', Type: 'String' })).Version).toBe(1);
      expect((await put({ Name: `/${'a'.repeat(1010)}`, Value: 'x', Type: 'String' })).Version).toBe(1);
    });

    it('validates type, value, allowed pattern and data type', async () => {
      expect((await errorOf(put({ Name: '/no-type', Value: 'x' }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: '/empty', Value: '', Type: 'String' }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: '/port', Value: 'eighty', Type: 'String', AllowedPattern: '^\\d+$' }))).name).toBe('ParameterPatternMismatchException');
      expect((await put({ Name: '/port', Value: '80', Type: 'String', AllowedPattern: '^\\d+$' })).Version).toBe(1);
      expect((await errorOf(put({ Name: '/port', Value: 'x', Overwrite: true }))).name).toBe('ParameterPatternMismatchException');
      expect((await errorOf(put({ Name: '/dt', Value: 'x', Type: 'String', DataType: 'Text' }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: '/big', Value: 'x'.repeat(4097), Type: 'String', Tier: 'Standard' }))).name).toBe('ValidationException');
      expect((await put({ Name: '/big', Value: 'x'.repeat(4097), Type: 'String', Tier: 'Intelligent-Tiering' })).Tier).toBe('Advanced');
    });

    it('stores SecureString with the default key and StringList values', async () => {
      await put({ Name: '/secret', Value: 's3cr3t', Type: 'SecureString' });
      await put({ Name: '/list', Value: 'a,b,c', Type: 'StringList' });
      expect((await ssm.send(new GetParameterCommand({ Name: '/secret', WithDecryption: true }))).Parameter).toMatchObject({ Type: 'SecureString', Value: 's3cr3t' });
      const { Parameters } = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Type', Values: ['SecureString'] }] }));
      expect(Parameters).toEqual([expect.objectContaining({ Name: '/secret', KeyId: 'alias/aws/ssm' })]);
    });
  });

  describe('tiers and policies', () => {
    const expiration = JSON.stringify([{ Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: '2030-01-01T00:00:00.000Z' } }]);

    it('stores policies on Advanced (and Intelligent-Tiering) parameters and shows them in DescribeParameters', async () => {
      const policies = JSON.stringify([
        { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: '2030-01-01T00:00:00.000Z' } },
        { Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: '30', Unit: 'Days' } },
      ]);
      expect((await put({ Name: '/pol/a', Value: 'x', Type: 'String', Tier: 'Advanced', Policies: policies })).Tier).toBe('Advanced');
      expect((await put({ Name: '/pol/b', Value: 'x', Type: 'String', Tier: 'Intelligent-Tiering', Policies: expiration })).Tier).toBe('Advanced');
      expect((await put({ Name: '/pol/c', Value: 'x', Type: 'String', Tier: 'Intelligent-Tiering' })).Tier).toBe('Standard');
      const { Parameters } = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: ['/pol/a'] }] }));
      expect(Parameters![0].Tier).toBe('Advanced');
      expect(Parameters![0].Policies!.map((p) => [p.PolicyType, p.PolicyStatus, JSON.parse(p.PolicyText!) as unknown])).toEqual([
        ['Expiration', 'Pending', { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: '2030-01-01T00:00:00.000Z' } }],
        ['NoChangeNotification', 'Pending', { Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: '30', Unit: 'Days' } }],
      ]);
    });

    it('rejects policies on the Standard tier, unknown policy types, too many policies and a downgrade', async () => {
      expect((await errorOf(put({ Name: '/p1', Value: 'x', Type: 'String', Tier: 'Standard', Policies: expiration }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: '/p1', Value: 'x', Type: 'String', Policies: expiration }))).name).toBe('ValidationException');
      expect((await errorOf(put({ Name: '/p1', Value: 'x', Type: 'String', Tier: 'Advanced', Policies: JSON.stringify([{ Type: 'Rotate' }]) }))).name).toBe(
        'InvalidPolicyTypeException',
      );
      const eleven = JSON.stringify(Array.from({ length: 11 }, () => ({ Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: '2030-01-01T00:00:00Z' } })));
      expect((await errorOf(put({ Name: '/p1', Value: 'x', Type: 'String', Tier: 'Advanced', Policies: eleven }))).name).toBe('PoliciesLimitExceededException');
      await put({ Name: '/p1', Value: 'x', Type: 'String', Tier: 'Advanced' });
      expect((await errorOf(put({ Name: '/p1', Value: 'y', Tier: 'Standard', Overwrite: true }))).name).toBe('ValidationException');
      expect((await put({ Name: '/p1', Value: 'y', Overwrite: true })).Tier).toBe('Advanced');
    });
  });

  describe('aws:ec2:image data type', () => {
    it('accepts the id of an available AMI of the account and region', async () => {
      const [ami] = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'golden' }] }).imageIds;
      expect((await put({ Name: '/golden/ami', Value: ami, Type: 'String', DataType: 'aws:ec2:image' })).Version).toBe(1);
      expect((await ssm.send(new GetParameterCommand({ Name: '/golden/ami' }))).Parameter).toMatchObject({ Value: ami, DataType: 'aws:ec2:image' });
      expect(changeEvents(cloud)[0].detail).toEqual({ operation: 'Create', name: '/golden/ami', type: 'String', dataType: 'aws:ec2:image' });
    });

    it('answers an unknown AMI with success but does not create the parameter, and reports it in the change event', async () => {
      const out = await put({ Name: '/golden/ami', Value: 'ami-0123456789abcdef0', Type: 'String', DataType: 'aws:ec2:image' });
      expect(out.Version).toBe(1);
      // AWS validates aws:ec2:image asynchronously: the parameter is not created, and the event says why.
      expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/golden/ami' })))).name).toBe('ParameterNotFound');
      expect(changeEvents(cloud).map((e) => e.detail)).toEqual([
        { exception: 'Unable to Describe Resource', operation: 'Create', name: '/golden/ami', type: 'String', dataType: 'aws:ec2:image' },
      ]);
      await put({ Name: '/golden/ami', Value: 'not-an-ami', Type: 'String', DataType: 'aws:ec2:image' });
      expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/golden/ami' })))).name).toBe('ParameterNotFound');
    });

    it('does not update to a pending AMI, but does once the AMI is available', async () => {
      const [available, pending] = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'old' }, { name: 'new', state: 'pending' }] }).imageIds;
      await put({ Name: '/golden/ami', Value: available, Type: 'String', DataType: 'aws:ec2:image' });
      expect((await put({ Name: '/golden/ami', Value: pending, Overwrite: true })).Version).toBe(2);
      expect((await ssm.send(new GetParameterCommand({ Name: '/golden/ami' }))).Parameter).toMatchObject({ Value: available, Version: 1 });
      expect(changeEvents(cloud).at(-1)!.detail).toMatchObject({ exception: 'Unable to Describe Resource', operation: 'Update' });

      const { ec2 } = await import('../../packages/localcloud/src/services/ec2.js');
      ec2.start!({ clock: cloud.clock, store: cloud.store, bus: cloud.bus });
      await cloud.clock.advance(IMAGE_AVAILABLE_DELAY_MS);
      await cloud.settle();
      expect((await put({ Name: '/golden/ami', Value: pending, Overwrite: true })).Version).toBe(2);
      expect((await ssm.send(new GetParameterCommand({ Name: '/golden/ami' }))).Parameter).toMatchObject({ Value: pending, Version: 2 });
    });

    it('shows an aws:ec2:image write only once a slow validation has passed on the virtual clock', async () => {
      // Prepare
      const [first, second] = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'first' }, { name: 'second' }] }).imageIds;
      await put({ Name: '/golden/ami', Value: first, Type: 'String', DataType: 'aws:ec2:image' });
      setImageValidationDelay(cloud.store, ACCOUNT, REGION, 25_000);
      // Act
      const out = await put({ Name: '/golden/ami', Value: second, Overwrite: true });
      const during = (await ssm.send(new GetParameterCommand({ Name: '/golden/ami' }))).Parameter;
      await cloud.clock.advance(24_000);
      const justBefore = (await ssm.send(new GetParameterCommand({ Name: '/golden/ami' }))).Parameter;
      await cloud.clock.advance(1_000);
      const after = (await ssm.send(new GetParameterCommand({ Name: '/golden/ami' }))).Parameter;
      // Assess
      expect(out.Version).toBe(2);
      expect(during).toMatchObject({ Value: first, Version: 1 });
      expect(justBefore).toMatchObject({ Value: first, Version: 1 });
      expect(after).toMatchObject({ Value: second, Version: 2 });
      expect(changeEvents(cloud).at(-1)!.detail).toEqual({ operation: 'Update', name: '/golden/ami', type: 'String', dataType: 'aws:ec2:image' });
    });

    it('drops a slowly validated write whose image was deregistered before the check, and says why in the change event', async () => {
      const [first, second] = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'first' }, { name: 'second' }] }).imageIds;
      await put({ Name: '/golden/ami', Value: first, Type: 'String', DataType: 'aws:ec2:image' });
      setImageValidationDelay(cloud.store, ACCOUNT, REGION, 10_000);
      await put({ Name: '/golden/ami', Value: second, Overwrite: true });
      await new EC2Client(clientConfig(cloud)).send(new DeregisterImageCommand({ ImageId: second }));
      await cloud.clock.advance(10_000);
      expect((await ssm.send(new GetParameterCommand({ Name: '/golden/ami' }))).Parameter).toMatchObject({ Value: first, Version: 1 });
      expect(changeEvents(cloud).at(-1)!.detail).toMatchObject({ exception: 'Unable to Describe Resource', operation: 'Update' });
    });

    it('validates at once again when the delay is set back to 0, and refuses a negative delay', async () => {
      const [ami] = seedEc2(cloud.store, ACCOUNT, REGION, { images: [{ name: 'golden' }] }).imageIds;
      setImageValidationDelay(cloud.store, ACCOUNT, REGION, 5_000);
      setImageValidationDelay(cloud.store, ACCOUNT, REGION, 0);
      await put({ Name: '/golden/ami', Value: ami, Type: 'String', DataType: 'aws:ec2:image' });
      expect((await ssm.send(new GetParameterCommand({ Name: '/golden/ami' }))).Parameter?.Value).toBe(ami);
      expect(() => setImageValidationDelay(cloud.store, ACCOUNT, REGION, -1)).toThrow(/non-negative/);
    });

    it('accepts a public AMI of another account', async () => {
      const [ami] = seedEc2(cloud.store, '111111111111', REGION, { images: [{ name: 'vendor-base', public: true }] }).imageIds;
      await put({ Name: '/vendor/ami', Value: ami, Type: 'String', DataType: 'aws:ec2:image' });
      expect((await ssm.send(new GetParameterCommand({ Name: '/vendor/ami' }))).Parameter?.Value).toBe(ami);
    });

    it('rejects changing a text parameter to aws:ec2:image', async () => {
      await put({ Name: '/ami-text', Value: 'x', Type: 'String' });
      expect((await errorOf(put({ Name: '/ami-text', Value: 'ami-0123456789abcdef0', Overwrite: true, DataType: 'aws:ec2:image' }))).name).toBe('ValidationException');
    });
  });

  describe('GetParameters, GetParameterHistory and LabelParameterVersion', () => {
    it('answers GetParameters with the found parameters and the rest in InvalidParameters', async () => {
      await put({ Name: '/a', Value: '1', Type: 'String' });
      await put({ Name: '/b', Value: '2', Type: 'String' });
      const out = await ssm.send(new GetParametersCommand({ Names: ['/a', '/missing', '/b:1', '/b:7'] }));
      expect(out.Parameters?.map((p) => [p.Name, p.Value, p.Selector])).toEqual([
        ['/a', '1', undefined],
        ['/b', '2', ':1'],
      ]);
      expect(out.InvalidParameters).toEqual(['/missing', '/b:7']);
    });

    it('pages the history of a parameter with its labels per version', async () => {
      await put({ Name: '/h', Value: 'v1', Type: 'String', Description: 'first' });
      for (let i = 2; i <= 5; i++) await put({ Name: '/h', Value: `v${i}`, Overwrite: true });
      await ssm.send(new LabelParameterVersionCommand({ Name: '/h', ParameterVersion: 2, Labels: ['blue'] }));
      await ssm.send(new LabelParameterVersionCommand({ Name: '/h', Labels: ['green', 'live'] }));

      const versions: { version?: number; value?: string; labels?: string[] }[] = [];
      let pages = 0;
      for await (const page of paginateGetParameterHistory({ client: ssm, pageSize: 2 }, { Name: '/h' })) {
        pages++;
        versions.push(...(page.Parameters ?? []).map((p) => ({ version: p.Version, value: p.Value, labels: p.Labels })));
      }
      expect(pages).toBe(3);
      expect(versions).toEqual([
        { version: 1, value: 'v1', labels: [] },
        { version: 2, value: 'v2', labels: ['blue'] },
        { version: 3, value: 'v3', labels: [] },
        { version: 4, value: 'v4', labels: [] },
        { version: 5, value: 'v5', labels: ['green', 'live'] },
      ]);
      const first = (await ssm.send(new GetParameterHistoryCommand({ Name: '/h', MaxResults: 1 }))).Parameters![0];
      expect(first).toMatchObject({ Name: '/h', Type: 'String', Description: 'first', Tier: 'Standard', DataType: 'text', LastModifiedUser: `arn:aws:iam::${ACCOUNT}:root` });
      expect((await errorOf(ssm.send(new GetParameterHistoryCommand({ Name: '/none' })))).name).toBe('ParameterNotFound');
    });

    it('moves a label between versions and returns invalid labels without failing', async () => {
      await put({ Name: '/l', Value: 'v1', Type: 'String' });
      await put({ Name: '/l', Value: 'v2', Overwrite: true });
      expect(await ssm.send(new LabelParameterVersionCommand({ Name: '/l', ParameterVersion: 1, Labels: ['prod'] }))).toMatchObject({ InvalidLabels: [], ParameterVersion: 1 });
      const out = await ssm.send(new LabelParameterVersionCommand({ Name: '/l', Labels: ['prod', '1st', 'awsy', 'SSM-x', 'has space', 'ok.label_1-x'] }));
      expect(out.ParameterVersion).toBe(2);
      expect(out.InvalidLabels).toEqual(['1st', 'awsy', 'SSM-x', 'has space']);
      const history = (await ssm.send(new GetParameterHistoryCommand({ Name: '/l' }))).Parameters!;
      expect(history.map((p) => p.Labels)).toEqual([[], ['prod', 'ok.label_1-x']]);
      expect(changeEvents(cloud).filter((e) => (e.detail as { operation: string }).operation === 'LabelParameterVersion')).toHaveLength(2);
    });

    it('answers an unknown version with ParameterVersionNotFound and an eleventh label with ParameterVersionLabelLimitExceeded', async () => {
      await put({ Name: '/l', Value: 'v1', Type: 'String' });
      expect((await errorOf(ssm.send(new LabelParameterVersionCommand({ Name: '/l', ParameterVersion: 4, Labels: ['x'] })))).name).toBe('ParameterVersionNotFound');
      expect((await errorOf(ssm.send(new LabelParameterVersionCommand({ Name: '/none', Labels: ['x'] })))).name).toBe('ParameterNotFound');
      await ssm.send(new LabelParameterVersionCommand({ Name: '/l', Labels: Array.from({ length: 10 }, (_, i) => `label${i}`) }));
      expect((await errorOf(ssm.send(new LabelParameterVersionCommand({ Name: '/l', Labels: ['one-more'] })))).name).toBe('ParameterVersionLabelLimitExceeded');
    });
  });

  describe('UnlabelParameterVersion', () => {
    it('removes labels from a version and reports the ones it did not carry', async () => {
      await put({ Name: '/u', Value: 'v1', Type: 'String' });
      await put({ Name: '/u', Value: 'v2', Overwrite: true });
      await ssm.send(new LabelParameterVersionCommand({ Name: '/u', ParameterVersion: 1, Labels: ['old', 'keep'] }));
      const out = await ssm.send(new UnlabelParameterVersionCommand({ Name: '/u', ParameterVersion: 1, Labels: ['old', 'never'] }));
      expect(out).toMatchObject({ RemovedLabels: ['old'], InvalidLabels: ['never'] });
      expect((await ssm.send(new GetParameterHistoryCommand({ Name: '/u' }))).Parameters!.map((p) => p.Labels)).toEqual([['keep'], []]);
      expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/u:old' })))).name).toBe('ParameterVersionNotFound');
    });

    it('answers an unknown parameter or version with ParameterNotFound and ParameterVersionNotFound', async () => {
      await put({ Name: '/u', Value: 'v1', Type: 'String' });
      expect((await errorOf(ssm.send(new UnlabelParameterVersionCommand({ Name: '/none', ParameterVersion: 1, Labels: ['x'] })))).name).toBe('ParameterNotFound');
      expect((await errorOf(ssm.send(new UnlabelParameterVersionCommand({ Name: '/u', ParameterVersion: 3, Labels: ['x'] })))).name).toBe('ParameterVersionNotFound');
      expect((await errorOf(ssm.send(new UnlabelParameterVersionCommand({ Name: '/u', ParameterVersion: 1, Labels: [] })))).name).toBe('ValidationException');
    });
  });

  describe('DescribeParameters', () => {
    beforeEach(async () => {
      const specs: [string, PutParameterCommandInput['Type'], Record<string, string>][] = [
        ['/app/a', 'String', { Team: 'web' }],
        ['/app/b', 'StringList', { Team: 'web' }],
        ['/app/deep/c', 'SecureString', { Team: 'db' }],
        ['/app/deep/er/d', 'String', {}],
        ['/other/e', 'String', { Team: 'db' }],
        ['root-f', 'String', {}],
        ['root-g', 'String', {}],
      ];
      for (const [Name, Type, tags] of specs) {
        await put({ Name, Value: 'x', Type, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
      }
    });

    const names = async (ParameterFilters?: ParameterStringFilter[], Filters?: { Key: 'Name' | 'Type' | 'KeyId'; Values: string[] }[]) => {
      const out = await ssm.send(new DescribeParametersCommand({ ParameterFilters, Filters, MaxResults: 50 }));
      return (out.Parameters ?? []).map((p) => p.Name);
    };

    it('filters by path, name, type and tags with their options', async () => {
      expect(await names([{ Key: 'Path', Values: ['/app'] }])).toEqual(['/app/a', '/app/b']);
      expect(await names([{ Key: 'Path', Option: 'OneLevel', Values: ['/app/deep'] }])).toEqual(['/app/deep/c']);
      expect(await names([{ Key: 'Path', Option: 'Recursive', Values: ['/app'] }])).toEqual(['/app/a', '/app/b', '/app/deep/c', '/app/deep/er/d']);
      expect(await names([{ Key: 'Path', Option: 'Recursive', Values: ['/'] }])).toHaveLength(5);
      expect(await names([{ Key: 'Name', Option: 'BeginsWith', Values: ['root-'] }])).toEqual(['root-f', 'root-g']);
      expect(await names([{ Key: 'Name', Values: ['root-f'] }])).toEqual(['root-f']);
      expect(await names([{ Key: 'Name', Option: 'Contains', Values: ['deep'] }])).toEqual(['/app/deep/c', '/app/deep/er/d']);
      expect(await names([{ Key: 'Type', Values: ['StringList', 'SecureString'] }])).toEqual(['/app/b', '/app/deep/c']);
      expect(await names([{ Key: 'tag:Team', Values: ['db'] }])).toEqual(['/app/deep/c', '/other/e']);
      expect(await names([{ Key: 'tag:Team' }])).toEqual(['/app/a', '/app/b', '/app/deep/c', '/other/e']);
      expect(await names([{ Key: 'Tier', Values: ['Standard'] }, { Key: 'DataType', Values: ['text'] }, { Key: 'Path', Values: ['/other'] }])).toEqual(['/other/e']);
      expect(await names(undefined, [{ Key: 'Name', Values: ['/app/d'] }])).toEqual(['/app/deep/c', '/app/deep/er/d']);
      expect(await names(undefined, [{ Key: 'Type', Values: ['SecureString'] }])).toEqual(['/app/deep/c']);
    });

    it('pages with the SDK paginator, ten per page by default', async () => {
      const sizes: number[] = [];
      const seen: string[] = [];
      for await (const page of paginateDescribeParameters({ client: ssm, pageSize: 3 }, {})) {
        sizes.push(page.Parameters?.length ?? 0);
        seen.push(...(page.Parameters ?? []).map((p) => p.Name!));
      }
      expect(sizes).toEqual([3, 3, 1]);
      expect(seen).toEqual(['/app/a', '/app/b', '/app/deep/c', '/app/deep/er/d', '/other/e', 'root-f', 'root-g']);
      expect((await ssm.send(new DescribeParametersCommand({}))).Parameters).toHaveLength(7);
    });

    it('answers invalid filters, MaxResults and tokens with the AWS errors', async () => {
      expect((await errorOf(ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Path', Option: 'BeginsWith', Values: ['/app'] }] })))).name).toBe(
        'InvalidFilterOption',
      );
      expect((await errorOf(ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Type', Values: ['Number'] }] })))).name).toBe('InvalidFilterValue');
      expect((await errorOf(ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Label', Values: ['x'] }] })))).name).toBe('InvalidFilterKey');
      expect((await errorOf(ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Colour', Values: ['x'] }] })))).name).toBe('ValidationException');
      expect((await errorOf(ssm.send(new DescribeParametersCommand({ MaxResults: 51 })))).name).toBe('ValidationException');
      expect((await errorOf(ssm.send(new DescribeParametersCommand({ NextToken: 'garbage' })))).name).toBe('InvalidNextToken');
    });
  });

  describe('GetParametersByPath, DeleteParameter and DeleteParameters', () => {
    it('reads a path one level or recursively', async () => {
      for (const name of ['/svc/a', '/svc/b', '/svc/x/c']) await put({ Name: name, Value: name, Type: 'String' });
      const one = await ssm.send(new GetParametersByPathCommand({ Path: '/svc' }));
      expect(one.Parameters?.map((p) => p.Name)).toEqual(['/svc/a', '/svc/b']);
      const all = await ssm.send(new GetParametersByPathCommand({ Path: '/svc/', Recursive: true }));
      expect(all.Parameters?.map((p) => p.Value)).toEqual(['/svc/a', '/svc/b', '/svc/x/c']);
    });

    it('deletes a parameter with a Delete event and then answers ParameterNotFound', async () => {
      await put({ Name: '/gone', Value: 'x', Type: 'String', Description: 'd' });
      await ssm.send(new DeleteParameterCommand({ Name: '/gone' }));
      expect(changeEvents(cloud).at(-1)!.detail).toEqual({ operation: 'Delete', name: '/gone', type: 'String', description: 'd' });
      expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/gone' })))).name).toBe('ParameterNotFound');
      expect((await errorOf(ssm.send(new DeleteParameterCommand({ Name: '/gone' })))).name).toBe('ParameterNotFound');
      // A new parameter of that name starts again at version 1.
      expect((await put({ Name: '/gone', Value: 'y', Type: 'String' })).Version).toBe(1);
    });

    it('deletes several parameters and reports the unknown ones', async () => {
      await put({ Name: '/d1', Value: 'x', Type: 'String' });
      await put({ Name: '/d2', Value: 'x', Type: 'String' });
      const out = await ssm.send(new DeleteParametersCommand({ Names: ['/d1', '/d2', '/d3'] }));
      expect(out).toMatchObject({ DeletedParameters: ['/d1', '/d2'], InvalidParameters: ['/d3'] });
    });
  });

  it('retries throttled calls (ThrottlingException) to success through the SDK', async () => {
    cloud.faults.set([{ service: 'ssm', throttleRate: 0.5 }]);
    cloud.calls.reset();
    for (let i = 1; i <= 5; i++) await put({ Name: '/throttled', Value: String(i), Type: 'String', Overwrite: i > 1 });
    cloud.faults.set([]);
    expect(cloud.calls.snapshot().ssm?.PutParameter).toBeGreaterThan(5);
    expect((await ssm.send(new GetParameterCommand({ Name: '/throttled' }))).Parameter).toMatchObject({ Value: '5', Version: 5 });
  });

  it('seeds parameters with versions, labels and old modification dates', async () => {
    const out = seedParameters(cloud.store, ACCOUNT, REGION, [
      { name: '/seed/a', value: 'one', description: 'seeded', tags: { Team: 'ops' }, lastModifiedDate: '2026-01-01T00:00:00Z' },
      { name: '/seed/a', value: 'two', labels: ['current'] },
      { name: '/seed/b', value: 'x', tier: 'Advanced', policies: [{ Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: '30', Unit: 'Days' } }] },
    ]);
    expect(out).toEqual([
      { name: '/seed/a', version: 1 },
      { name: '/seed/a', version: 2 },
      { name: '/seed/b', version: 1 },
    ]);
    const history = (await ssm.send(new GetParameterHistoryCommand({ Name: '/seed/a' }))).Parameters!;
    expect(history.map((p) => [p.Value, p.Labels, p.Description])).toEqual([
      ['one', [], 'seeded'],
      ['two', ['current'], 'seeded'],
    ]);
    expect(history[0].LastModifiedDate?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'tag:Team', Values: ['ops'] }] }))).toMatchObject({ Parameters: [{ Name: '/seed/a' }] });
    expect(changeEvents(cloud)).toEqual([]);
  });
});

describe('localcloud SSM state across a restart', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'localcloud-ssm-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  it('keeps parameters, their history and labels', async () => {
    let cloud = await startTestCloud({ dataDir });
    let ssm = new SSMClient(clientConfig(cloud));
    await ssm.send(new PutParameterCommand({ Name: '/kept', Value: 'v1', Type: 'String', Tags: [{ Key: 'Team', Value: 'ops' }] }));
    await ssm.send(new PutParameterCommand({ Name: '/kept', Value: 'v2', Overwrite: true }));
    await ssm.send(new LabelParameterVersionCommand({ Name: '/kept', ParameterVersion: 1, Labels: ['first'] }));
    ssm.destroy();
    await cloud.stop();

    cloud = await startTestCloud({ dataDir });
    ssm = new SSMClient(clientConfig(cloud));
    try {
      expect(cloud.restored).toBe(true);
      expect((await ssm.send(new GetParameterCommand({ Name: '/kept' }))).Parameter).toMatchObject({ Value: 'v2', Version: 2 });
      expect((await ssm.send(new GetParameterCommand({ Name: '/kept:first' }))).Parameter?.Value).toBe('v1');
      expect((await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'tag:Team', Values: ['ops'] }] }))).Parameters?.map((p) => p.Name)).toEqual(['/kept']);
      expect((await ssm.send(new PutParameterCommand({ Name: '/kept', Value: 'v3', Overwrite: true }))).Version).toBe(3);
    } finally {
      ssm.destroy();
      await cloud.stop();
    }
  });
});
