import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateDocumentCommand,
  DescribeDocumentPermissionCommand,
  GetServiceSettingCommand,
  ModifyDocumentPermissionCommand,
  ResetServiceSettingCommand,
  SSMClient,
  UpdateServiceSettingCommand,
  type DocumentPermissionType,
} from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allowRoleActions, emulatedOperations, type Localcloud } from '@opsauto/localcloud';
import { seedDocuments } from '../../packages/localcloud/src/services/ssm.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const SHARING = '/ssm/documents/console/public-sharing-permission';
const STOP_EC2_JSON = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../fixtures/runbooks/AWS-StopEC2Instance.json'), 'utf8');

describe('localcloud SSM service settings and document sharing', () => {
  let cloud: Localcloud;
  let ssm: SSMClient;

  beforeEach(async () => {
    cloud = await startTestCloud();
    ssm = new SSMClient(clientConfig(cloud));
  });
  afterEach(async () => {
    ssm.destroy();
    await cloud.stop();
  });

  it('lists the operations as emulated', () => {
    expect(emulatedOperations()).toEqual(
      expect.arrayContaining(['ssm:GetServiceSetting', 'ssm:UpdateServiceSetting', 'ssm:ResetServiceSetting', 'ssm:DescribeDocumentPermission', 'ssm:ModifyDocumentPermission']),
    );
  });

  describe('GetServiceSetting, UpdateServiceSetting and ResetServiceSetting', () => {
    it("answers AWS's defaults, by path or ARN", async () => {
      const defaults: [string, string][] = [
        [SHARING, 'Enable'],
        ['/ssm/parameter-store/high-throughput-enabled', 'false'],
        ['/ssm/managed-instance/activation-tier', 'standard'],
      ];
      for (const [path, value] of defaults) {
        const arn = `arn:aws:ssm:${REGION}:${ACCOUNT}:servicesetting${path}`;
        for (const SettingId of [path, arn]) {
          const { ServiceSetting } = await ssm.send(new GetServiceSettingCommand({ SettingId }));
          expect(ServiceSetting, SettingId).toMatchObject({ SettingId: path, SettingValue: value, ARN: arn, Status: 'Default', LastModifiedUser: 'System' });
          expect(ServiceSetting?.LastModifiedDate).toBeInstanceOf(Date);
        }
      }
    });

    it('updates a setting (Customized, with who changed it and when) and resets it to the default', async () => {
      await cloud.advance('1h');
      const before = cloud.clock.nowMs();
      await ssm.send(new UpdateServiceSettingCommand({ SettingId: SHARING, SettingValue: 'Disable' }));
      const after = cloud.clock.nowMs();
      const { ServiceSetting } = await ssm.send(new GetServiceSettingCommand({ SettingId: SHARING }));
      expect(ServiceSetting).toMatchObject({ SettingValue: 'Disable', Status: 'Customized', LastModifiedUser: `arn:aws:iam::${ACCOUNT}:root` });
      const modified = ServiceSetting?.LastModifiedDate?.getTime() ?? 0;
      expect(modified).toBeGreaterThanOrEqual(before);
      expect(modified).toBeLessThanOrEqual(after);

      const reset = await ssm.send(new ResetServiceSettingCommand({ SettingId: `arn:aws:ssm:${REGION}:${ACCOUNT}:servicesetting${SHARING}` }));
      expect(reset.ServiceSetting).toMatchObject({ SettingId: SHARING, SettingValue: 'Enable', Status: 'Default' });
      expect((await ssm.send(new GetServiceSettingCommand({ SettingId: SHARING }))).ServiceSetting?.SettingValue).toBe('Enable');
    });

    it('keeps settings per region', async () => {
      const west = new SSMClient(clientConfig(cloud, 'us-west-2'));
      try {
        await ssm.send(new UpdateServiceSettingCommand({ SettingId: '/ssm/parameter-store/high-throughput-enabled', SettingValue: 'true' }));
        expect((await west.send(new GetServiceSettingCommand({ SettingId: '/ssm/parameter-store/high-throughput-enabled' }))).ServiceSetting?.SettingValue).toBe('false');
      } finally {
        west.destroy();
      }
    });

    it('answers ServiceSettingNotFound for an unknown id or another account, and ValidationException for a value the setting does not take', async () => {
      for (const SettingId of ['/ssm/no/such-setting', `arn:aws:ssm:${REGION}:111111111111:servicesetting${SHARING}`]) {
        expect(await errorWithStatusOf(ssm.send(new GetServiceSettingCommand({ SettingId }))), SettingId).toMatchObject({ name: 'ServiceSettingNotFound', status: 400 });
      }
      const bad = await errorWithStatusOf(ssm.send(new UpdateServiceSettingCommand({ SettingId: SHARING, SettingValue: 'Maybe' })));
      expect(bad).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Valid values: Enable, Disable') });
      expect((await ssm.send(new GetServiceSettingCommand({ SettingId: SHARING }))).ServiceSetting?.Status).toBe('Default');
    });
  });

  describe('DescribeDocumentPermission and ModifyDocumentPermission', () => {
    const NAME = 'Ops-StopInstances';
    const describe_ = async () => ssm.send(new DescribeDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share' }));

    beforeEach(async () => {
      await ssm.send(new CreateDocumentCommand({ Name: NAME, Content: STOP_EC2_JSON, DocumentType: 'Automation' }));
    });

    it('shares with accounts and publicly, and stops sharing (removal wins over addition)', async () => {
      expect(await describe_()).toMatchObject({ AccountIds: [], AccountSharingInfoList: [] });
      await ssm.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share', AccountIdsToAdd: ['111111111111', 'All'], SharedDocumentVersion: '1' }));
      const shared = await describe_();
      expect(shared.AccountIds).toEqual(['111111111111', 'all']);
      expect(shared.AccountSharingInfoList).toEqual([
        { AccountId: '111111111111', SharedDocumentVersion: '1' },
        { AccountId: 'all', SharedDocumentVersion: '1' },
      ]);

      await ssm.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share', AccountIdsToAdd: ['222222222222'], AccountIdsToRemove: ['all', '222222222222'] }));
      expect((await describe_()).AccountIds).toEqual(['111111111111']);
    });

    it('refuses to share publicly while the account blocks public sharing, and allows it again after a reset', async () => {
      await ssm.send(new UpdateServiceSettingCommand({ SettingId: SHARING, SettingValue: 'Disable' }));
      const refused = await errorWithStatusOf(ssm.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share', AccountIdsToAdd: ['all'] })));
      expect(refused).toMatchObject({ name: 'InvalidPermissionType', message: expect.stringContaining('blocked') });
      expect((await describe_()).AccountIds).toEqual([]);
      // Private sharing and stopping public sharing still work.
      await ssm.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share', AccountIdsToAdd: ['111111111111'], AccountIdsToRemove: ['all'] }));
      expect((await describe_()).AccountIds).toEqual(['111111111111']);
      await ssm.send(new ResetServiceSettingCommand({ SettingId: SHARING }));
      await ssm.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share', AccountIdsToAdd: ['all'] }));
      expect((await describe_()).AccountIds).toEqual(['111111111111', 'all']);
    });

    it('answers InvalidPermissionType, InvalidDocument, InvalidDocumentOperation for an Amazon document, and ValidationException for bad ids', async () => {
      seedDocuments(cloud.store, ACCOUNT, REGION, [{ name: 'AWS-StopEC2Instance', content: STOP_EC2_JSON }]);
      const cases: [Promise<unknown>, object][] = [
        [ssm.send(new DescribeDocumentPermissionCommand({ Name: NAME, PermissionType: 'Read' as DocumentPermissionType })), { name: 'InvalidPermissionType' }],
        [ssm.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Read' as DocumentPermissionType, AccountIdsToAdd: ['all'] })), { name: 'InvalidPermissionType' }],
        [ssm.send(new ModifyDocumentPermissionCommand({ Name: 'Ops-Missing', PermissionType: 'Share', AccountIdsToAdd: ['all'] })), { name: 'InvalidDocument' }],
        [ssm.send(new ModifyDocumentPermissionCommand({ Name: 'AWS-StopEC2Instance', PermissionType: 'Share', AccountIdsToAdd: ['all'] })), { name: 'InvalidDocumentOperation' }],
        [ssm.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share', AccountIdsToAdd: ['12345'] })), { name: 'ValidationException', message: expect.stringContaining('accountIdsToAdd') }],
        [ssm.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share' })), { name: 'ValidationException', message: expect.stringContaining('AccountIdsToAdd or AccountIdsToRemove') }],
        [ssm.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share', AccountIdsToAdd: ['all'], SharedDocumentVersion: '9' })), { name: 'InvalidDocumentVersion' }],
      ];
      for (const [call, expected] of cases) expect(await errorWithStatusOf(call)).toMatchObject(expected);
      expect((await describe_()).AccountIds).toEqual([]);
      // An Amazon document is described as shared with no one.
      expect((await ssm.send(new DescribeDocumentPermissionCommand({ Name: 'AWS-StopEC2Instance', PermissionType: 'Share' }))).AccountIds).toEqual([]);
    });

    it('refuses ModifyDocumentPermission to a role allowed only ssm:DescribeDocumentPermission', async () => {
      const roleArn = `arn:aws:iam::${ACCOUNT}:role/opsauto-doc-reader`;
      await allowRoleActions(cloud.url, { roleArn, actions: ['ssm:DescribeDocumentPermission'] });
      const sts = new STSClient(clientConfig(cloud));
      const creds = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'reader' }))).Credentials!;
      sts.destroy();
      const reader = new SSMClient({ ...clientConfig(cloud), credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! } });
      try {
        expect((await reader.send(new DescribeDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share' }))).AccountIds).toEqual([]);
        const refused = await errorWithStatusOf(reader.send(new ModifyDocumentPermissionCommand({ Name: NAME, PermissionType: 'Share', AccountIdsToAdd: ['all'] })));
        expect(refused).toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('ssm:ModifyDocumentPermission') });
      } finally {
        reader.destroy();
      }
      expect((await describe_()).AccountIds).toEqual([]);
    });
  });
});
