import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateDocumentCommand,
  DeleteDocumentCommand,
  DescribeDocumentCommand,
  GetDocumentCommand,
  ListDocumentsCommand,
  paginateListDocuments,
  SSMClient,
  UpdateDocumentCommand,
  UpdateDocumentDefaultVersionCommand,
  type CreateDocumentCommandInput,
  type ListDocumentsCommandInput,
  type UpdateDocumentCommandInput,
} from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Localcloud } from '@opsauto/localcloud';
import { seedDocuments } from '../../packages/localcloud/src/services/ssm.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const runbooks = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/runbooks');
const STOP_EC2_JSON = readFileSync(join(runbooks, 'AWS-StopEC2Instance.json'), 'utf8');
const STOP_RDS_YAML = readFileSync(join(runbooks, 'AWS-StopRdsInstance.yaml'), 'utf8');

async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<{ name: string; message: string }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected the call to fail');
}

describe('localcloud SSM documents', () => {
  let cloud: Localcloud;
  let ssm: SSMClient;
  const create = (input: Partial<CreateDocumentCommandInput> = {}) =>
    ssm.send(new CreateDocumentCommand({ Name: 'Ops-StopInstances', Content: STOP_EC2_JSON, DocumentType: 'Automation', ...input }));
  const bumped = (text: string) => JSON.stringify({ ...(JSON.parse(text) as object), description: 'Stop EC2 instances (v2)' });

  beforeEach(async () => {
    cloud = await startTestCloud();
    ssm = new SSMClient(clientConfig(cloud));
  });
  afterEach(async () => {
    ssm.destroy();
    await cloud.stop();
  });

  describe('CreateDocument, GetDocument and DescribeDocument', () => {
    it('creates an Automation document from JSON and describes it as AWS does', async () => {
      const { DocumentDescription: d } = await create({ Tags: [{ Key: 'Team', Value: 'ops' }], VersionName: 'first' });
      expect(d).toMatchObject({
        Name: 'Ops-StopInstances',
        Owner: ACCOUNT,
        Status: 'Active',
        DocumentType: 'Automation',
        DocumentFormat: 'JSON',
        SchemaVersion: '0.3',
        DocumentVersion: '1',
        LatestVersion: '1',
        DefaultVersion: '1',
        VersionName: 'first',
        Description: 'Stop EC2 instances(s)',
        HashType: 'Sha256',
        Hash: createHash('sha256').update(STOP_EC2_JSON).digest('hex'),
        Tags: [{ Key: 'Team', Value: 'ops' }],
      });
      expect(d?.Parameters).toEqual([
        { Name: 'InstanceId', Type: 'StringList', Description: '(Required) EC2 Instance(s) to stop' },
        { Name: 'AutomationAssumeRole', Type: 'String', Description: expect.stringContaining('(Optional)'), DefaultValue: '' },
      ]);
      const got = await ssm.send(new GetDocumentCommand({ Name: 'Ops-StopInstances' }));
      expect(got).toMatchObject({ Name: 'Ops-StopInstances', DocumentVersion: '1', Status: 'Active', DocumentType: 'Automation', DocumentFormat: 'JSON', Content: STOP_EC2_JSON });
      const described = await ssm.send(new DescribeDocumentCommand({ Name: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/Ops-StopInstances` }));
      expect(described.Document?.Hash).toBe(d?.Hash);
    });

    it('keeps YAML content as given and converts between YAML and JSON on GetDocument', async () => {
      await create({ Name: 'Ops-StopRds', Content: STOP_RDS_YAML, DocumentFormat: 'YAML' });
      expect((await ssm.send(new GetDocumentCommand({ Name: 'Ops-StopRds' }))).Content).toBe(STOP_RDS_YAML);
      const asJson = await ssm.send(new GetDocumentCommand({ Name: 'Ops-StopRds', DocumentFormat: 'JSON' }));
      expect(asJson.DocumentFormat).toBe('JSON');
      expect(JSON.parse(asJson.Content!)).toEqual(parseYaml(STOP_RDS_YAML));

      await create();
      const asYaml = await ssm.send(new GetDocumentCommand({ Name: 'Ops-StopInstances', DocumentFormat: 'YAML' }));
      expect(parseYaml(asYaml.Content!)).toEqual(JSON.parse(STOP_EC2_JSON));
    });

    it('answers a taken name, bad names, unparseable content, a missing schemaVersion or steps and a wrong schema version with AWS errors', async () => {
      await create();
      expect((await errorOf(create())).name).toBe('DocumentAlreadyExists');
      expect((await errorOf(create({ Name: 'AWS-Mine' }))).name).toBe('ValidationException');
      expect((await errorOf(create({ Name: 'ab' }))).name).toBe('ValidationException');
      expect((await errorOf(create({ Name: 'Ops-Broken', Content: '{"schemaVersion": "0.3",' }))).name).toBe('InvalidDocumentContent');
      expect((await errorOf(create({ Name: 'Ops-Yaml-As-Json', Content: STOP_RDS_YAML }))).name).toBe('InvalidDocumentContent');
      expect((await errorOf(create({ Name: 'Ops-NoSchema', Content: JSON.stringify({ mainSteps: [{ name: 'a', action: 'aws:sleep' }] }) }))).name).toBe('InvalidDocumentContent');
      expect((await errorOf(create({ Name: 'Ops-NoSteps', Content: JSON.stringify({ schemaVersion: '0.3', mainSteps: [] }) }))).name).toBe('InvalidDocumentContent');
      expect((await errorOf(create({ Name: 'Ops-Schema', Content: JSON.stringify({ schemaVersion: '2.2', mainSteps: [{ name: 'a' }] }) }))).name).toBe('InvalidDocumentSchemaVersion');
      const huge = JSON.stringify({ schemaVersion: '0.3', description: 'x'.repeat(65 * 1024), mainSteps: [{ name: 'a', action: 'aws:sleep' }] });
      expect((await errorOf(create({ Name: 'Ops-Huge', Content: huge }))).name).toBe('MaxDocumentSizeExceeded');
      expect((await errorOf(ssm.send(new GetDocumentCommand({ Name: 'Ops-Missing' })))).name).toBe('InvalidDocument');
    });
  });

  describe('versions: UpdateDocument, UpdateDocumentDefaultVersion and DeleteDocument', () => {
    it('adds versions, serves the default one unless asked, and moves the default', async () => {
      await create();
      const { DocumentDescription: v2 } = await ssm.send(new UpdateDocumentCommand({ Name: 'Ops-StopInstances', Content: bumped(STOP_EC2_JSON), DocumentVersion: '$LATEST', VersionName: 'second' }));
      expect(v2).toMatchObject({ DocumentVersion: '2', LatestVersion: '2', DefaultVersion: '1', VersionName: 'second', Description: 'Stop EC2 instances (v2)' });

      const version = async (input: { DocumentVersion?: string; VersionName?: string }) => (await ssm.send(new GetDocumentCommand({ Name: 'Ops-StopInstances', ...input }))).DocumentVersion;
      expect(await version({})).toBe('1');
      expect(await version({ DocumentVersion: '$LATEST' })).toBe('2');
      expect(await version({ DocumentVersion: '$DEFAULT' })).toBe('1');
      expect(await version({ VersionName: 'second' })).toBe('2');
      expect((await errorOf(version({ DocumentVersion: '9' }))).name).toBe('InvalidDocumentVersion');
      expect((await errorOf(version({ DocumentVersion: 'latest' }))).name).toBe('InvalidDocumentVersion');
      expect((await errorOf(version({ DocumentVersion: '1', VersionName: 'second' }))).name).toBe('InvalidDocumentVersion');

      const out = await ssm.send(new UpdateDocumentDefaultVersionCommand({ Name: 'Ops-StopInstances', DocumentVersion: '2' }));
      expect(out.Description).toEqual({ Name: 'Ops-StopInstances', DefaultVersion: '2', DefaultVersionName: 'second' });
      expect(await version({})).toBe('2');
    });

    it('refuses the same content, a used version name, an older version and an unknown document', async () => {
      await create({ VersionName: 'first' });
      const update = (input: Partial<UpdateDocumentCommandInput>) =>
        ssm.send(new UpdateDocumentCommand({ Name: 'Ops-StopInstances', Content: bumped(STOP_EC2_JSON), ...input }));
      expect((await errorOf(update({ Content: STOP_EC2_JSON }))).name).toBe('DuplicateDocumentContent');
      expect((await errorOf(update({ VersionName: 'first' }))).name).toBe('DuplicateDocumentVersionName');
      await update({});
      expect((await errorOf(update({ Content: STOP_EC2_JSON, DocumentVersion: '1' }))).name).toBe('InvalidDocumentVersion');
      expect((await errorOf(update({ Name: 'Ops-Missing' }))).name).toBe('InvalidDocument');
    });

    it('deletes a version that is not the default, then the whole document', async () => {
      await create();
      await ssm.send(new UpdateDocumentCommand({ Name: 'Ops-StopInstances', Content: bumped(STOP_EC2_JSON) }));
      expect((await errorOf(ssm.send(new DeleteDocumentCommand({ Name: 'Ops-StopInstances', DocumentVersion: '1' })))).name).toBe('InvalidDocumentOperation');
      await ssm.send(new DeleteDocumentCommand({ Name: 'Ops-StopInstances', DocumentVersion: '2' }));
      expect((await ssm.send(new DescribeDocumentCommand({ Name: 'Ops-StopInstances' }))).Document?.LatestVersion).toBe('1');
      await ssm.send(new DeleteDocumentCommand({ Name: 'Ops-StopInstances' }));
      expect((await errorOf(ssm.send(new GetDocumentCommand({ Name: 'Ops-StopInstances' })))).name).toBe('InvalidDocument');
      expect((await errorOf(ssm.send(new DeleteDocumentCommand({ Name: 'Ops-StopInstances' })))).name).toBe('InvalidDocument');
    });
  });

  describe('AWS-owned documents and ListDocuments', () => {
    beforeEach(async () => {
      seedDocuments(cloud.store, ACCOUNT, REGION, [
        { name: 'AWS-StopEC2Instance', content: STOP_EC2_JSON },
        { name: 'AWS-StopRdsInstance', content: STOP_RDS_YAML },
      ]);
      await create({ Tags: [{ Key: 'Team', Value: 'ops' }] });
      await create({ Name: 'Ops-Hello', Content: JSON.stringify({ schemaVersion: '2.2', mainSteps: [{ name: 'hi', action: 'aws:runShellScript' }] }), DocumentType: 'Command' });
    });

    const list = async (input: ListDocumentsCommandInput = {}) => ((await ssm.send(new ListDocumentsCommand(input))).DocumentIdentifiers ?? []).map((d) => d.Name);

    it('serves seeded AWS runbooks as Owner Amazon, by name or by ARN, and refuses to change them', async () => {
      const got = await ssm.send(new GetDocumentCommand({ Name: `arn:aws:ssm:${REGION}::document/AWS-StopRdsInstance` }));
      expect(got).toMatchObject({ Name: 'AWS-StopRdsInstance', DocumentFormat: 'YAML', DocumentType: 'Automation', Content: STOP_RDS_YAML });
      expect((await ssm.send(new DescribeDocumentCommand({ Name: 'AWS-StopEC2Instance' }))).Document?.Owner).toBe('Amazon');
      expect((await errorOf(ssm.send(new UpdateDocumentCommand({ Name: 'AWS-StopEC2Instance', Content: bumped(STOP_EC2_JSON) })))).name).toBe('InvalidDocumentOperation');
      expect((await errorOf(ssm.send(new DeleteDocumentCommand({ Name: 'AWS-StopEC2Instance' })))).name).toBe('InvalidDocumentOperation');
    });

    it('seeds the same content once, a new content as a new default version, and rejects invalid content', () => {
      expect(seedDocuments(cloud.store, ACCOUNT, REGION, [{ name: 'AWS-StopEC2Instance', content: STOP_EC2_JSON }])).toEqual([{ name: 'AWS-StopEC2Instance', version: '1' }]);
      expect(seedDocuments(cloud.store, ACCOUNT, REGION, [{ name: 'AWS-StopEC2Instance', content: bumped(STOP_EC2_JSON) }])).toEqual([{ name: 'AWS-StopEC2Instance', version: '2' }]);
      expect(() => seedDocuments(cloud.store, ACCOUNT, REGION, [{ name: 'AWS-Broken', content: '{}' }])).toThrow(/AWS-Broken: .*schemaVersion/);
      expect(() => seedDocuments(cloud.store, ACCOUNT, REGION, [{ name: 'AWS-Mine', content: STOP_EC2_JSON, owner: 'Self' }])).toThrow(RangeError);
    });

    it('filters by owner, type, name prefix and tag, also with the legacy DocumentFilterList', async () => {
      expect(await list()).toEqual(['AWS-StopEC2Instance', 'AWS-StopRdsInstance', 'Ops-Hello', 'Ops-StopInstances']);
      expect(await list({ Filters: [{ Key: 'Owner', Values: ['Self'] }] })).toEqual(['Ops-Hello', 'Ops-StopInstances']);
      expect(await list({ Filters: [{ Key: 'Owner', Values: ['Amazon'] }, { Key: 'Name', Values: ['AWS-StopR'] }] })).toEqual(['AWS-StopRdsInstance']);
      expect(await list({ Filters: [{ Key: 'DocumentType', Values: ['Command'] }] })).toEqual(['Ops-Hello']);
      expect(await list({ Filters: [{ Key: 'tag:Team', Values: ['ops'] }] })).toEqual(['Ops-StopInstances']);
      expect(await list({ DocumentFilterList: [{ key: 'Owner', value: 'Amazon' }] })).toEqual(['AWS-StopEC2Instance', 'AWS-StopRdsInstance']);
      const [identifier] = (await ssm.send(new ListDocumentsCommand({ Filters: [{ Key: 'Name', Values: ['Ops-Stop'] }] }))).DocumentIdentifiers!;
      expect(identifier).toMatchObject({ Name: 'Ops-StopInstances', Owner: ACCOUNT, DocumentVersion: '1', DocumentType: 'Automation', SchemaVersion: '0.3', DocumentFormat: 'JSON', Tags: [{ Key: 'Team', Value: 'ops' }] });
    });

    it('pages with the SDK paginator and answers bad filters and tokens with AWS errors', async () => {
      const sizes: number[] = [];
      for await (const page of paginateListDocuments({ client: ssm, pageSize: 3 }, {})) sizes.push(page.DocumentIdentifiers?.length ?? 0);
      expect(sizes).toEqual([3, 1]);
      expect((await errorOf(list({ Filters: [{ Key: 'Colour', Values: ['x'] }] }))).name).toBe('InvalidFilterKey');
      expect((await errorOf(list({ Filters: [{ Key: 'Owner', Values: ['Self', 'Amazon'] }] }))).name).toBe('ValidationException');
      expect((await errorOf(list({ NextToken: 'garbage' }))).name).toBe('InvalidNextToken');
    });
  });
});
