import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateActivationCommand,
  CreateDocumentCommand,
  CreateOpsItemCommand,
  DescribeActivationsCommand,
  DescribeInstanceInformationCommand,
  GetDocumentCommand,
  GetOpsItemCommand,
  ListDocumentsCommand,
  PutParameterCommand,
  SSMClient,
  UpdateOpsItemCommand,
} from '@aws-sdk/client-ssm';
import { afterAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { registerManagedInstance, seedDocuments } from '../../packages/localcloud/src/services/ssm.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const RUNBOOK = JSON.stringify({ schemaVersion: '0.3', mainSteps: [{ name: 'wait', action: 'aws:sleep', inputs: { Duration: 'PT1M' } }] });

describe('localcloud SSM state across a restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-ssm-more-'));
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  async function session<T>(work: (cloud: Localcloud, ssm: SSMClient) => Promise<T>): Promise<T> {
    const cloud = await startTestCloud({ dataDir });
    const ssm = new SSMClient(clientConfig(cloud));
    try {
      return await work(cloud, ssm);
    } finally {
      ssm.destroy();
      await cloud.stop();
    }
  }

  it('keeps OpsItems, activations, managed nodes, documents and armed parameter policies', async () => {
    // Prepare: one of everything, then stop.
    const before = await session(async (cloud, ssm) => {
      const { OpsItemId } = await ssm.send(
        new CreateOpsItemCommand({ Title: 't', Description: 'd', Source: 'EBS', OperationalData: { '/aws/dedup': { Value: '{"dedupString":"kept"}', Type: 'SearchableString' } } }),
      );
      await ssm.send(new UpdateOpsItemCommand({ OpsItemId, Status: 'InProgress' }));
      const activation = await ssm.send(new CreateActivationCommand({ IamRole: 'SSMServiceRole', RegistrationLimit: 2 }));
      const { instanceId } = registerManagedInstance(cloud.store, ACCOUNT, REGION, activation.ActivationId!, activation.ActivationCode!, { hostname: 'kept-01' });
      await ssm.send(new CreateDocumentCommand({ Name: 'Ops-Wait', Content: RUNBOOK, DocumentType: 'Automation' }));
      seedDocuments(cloud.store, ACCOUNT, REGION, [{ name: 'AWS-Wait', content: RUNBOOK }]);
      await ssm.send(
        new PutParameterCommand({ Name: '/kept/secret', Value: 'x', Type: 'SecureString', Tier: 'Advanced', Policies: JSON.stringify([{ Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: '2', Unit: 'Days' } }]) }),
      );
      return { OpsItemId: OpsItemId!, activationId: activation.ActivationId!, code: activation.ActivationCode!, instanceId };
    });

    // Act + Assess: a new process reads it all back, and the policy still fires on the clock.
    await session(async (cloud, ssm) => {
      expect(cloud.restored).toBe(true);
      expect((await ssm.send(new GetOpsItemCommand({ OpsItemId: before.OpsItemId }))).OpsItem).toMatchObject({ Status: 'InProgress', Version: '2' });
      const duplicate = ssm.send(new CreateOpsItemCommand({ Title: 't', Description: 'd', Source: 'EBS', OperationalData: { '/aws/dedup': { Value: '{"dedupString":"KEPT"}', Type: 'SearchableString' } } }));
      await expect(duplicate).rejects.toMatchObject({ name: 'OpsItemAlreadyExistsException' });

      expect((await ssm.send(new DescribeActivationsCommand({}))).ActivationList).toEqual([expect.objectContaining({ ActivationId: before.activationId, RegistrationsCount: 1 })]);
      expect((await ssm.send(new DescribeInstanceInformationCommand({}))).InstanceInformationList).toEqual([expect.objectContaining({ InstanceId: before.instanceId, ComputerName: 'kept-01' })]);
      // The code still works (its hash was kept) for the second registration the limit allows.
      expect(registerManagedInstance(cloud.store, ACCOUNT, REGION, before.activationId, before.code).instanceId).toMatch(/^mi-/);

      expect((await ssm.send(new GetDocumentCommand({ Name: 'Ops-Wait' }))).Content).toBe(RUNBOOK);
      expect(((await ssm.send(new ListDocumentsCommand({ Filters: [{ Key: 'Owner', Values: ['Amazon'] }] }))).DocumentIdentifiers ?? []).map((d) => d.Name)).toEqual(['AWS-Wait']);

      await cloud.advance('3d');
      expect(cloud.bus.recent.filter((e) => e['detail-type'] === 'Parameter Store Policy Action').map((e) => (e.detail as Record<string, string>)['parameter-name'])).toEqual(['/kept/secret']);
    });
  });
});
