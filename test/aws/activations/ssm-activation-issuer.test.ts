import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeActivationsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ActivationServiceError, activationAdapters, AwsClients, SsmActivationIssuer } from '@opsauto/aws';
import { activationRequest, ISSUANCE_TAG, type EnrollmentToken } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { createTestTable } from '../../helpers/table.js';

const token: EnrollmentToken = {
  id: 'tok_aaaaaaaaaaaaaaaa',
  name: 'rack-7',
  secretHash: '00',
  iamRole: 'opsauto-local-hybrid-node',
  namePrefix: 'rack7-',
  tags: { env: 'onprem' },
  maxUses: 10,
  uses: 0,
  createdAt: '2027-01-01T00:00:00.000Z',
  createdBy: 'cli',
  expiresAt: '2027-01-08T00:00:00.000Z',
};

let cloud: Localcloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterEach(() => cloud.faults.set([]));
afterAll(async () => {
  await cloud.stop();
});

/** localcloud's virtual now, which CreateActivation's expiry is checked against. */
const cloudNow = async () => new Date(((await (await fetch(`${cloud.url}/_localcloud/clock`)).json()) as { now: string }).now);

describe('SsmActivationIssuer', () => {
  it('creates an activation with the request as AWS takes it: role, limit 1, expiry, instance name, description, tags', async () => {
    // Prepare
    const issuer = new SsmActivationIssuer(new AwsClients('eu-west-1', clientConfig(cloud, 'eu-west-1')));
    const request = activationRequest(token, 'rack7-db-01', await cloudNow(), 3_600_000);
    // Act
    const created = await issuer.create(request);
    // Assess
    expect(created.activationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(created.activationCode).toMatch(/^[A-Za-z0-9+/=]{20}$/);
    const ssm = new SSMClient(clientConfig(cloud, 'eu-west-1'));
    const { ActivationList } = await ssm.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [created.activationId] }] }));
    expect(ActivationList).toEqual([
      expect.objectContaining({
        ActivationId: created.activationId,
        IamRole: 'opsauto-local-hybrid-node',
        RegistrationLimit: 1,
        RegistrationsCount: 0,
        DefaultInstanceName: 'rack7-db-01',
        Description: `opsauto: rack7-db-01 via token rack-7 (tok_aaaaaaaaaaaaaaaa)`,
        ExpirationDate: new Date(Date.parse(request.expirationDate)),
        Tags: expect.arrayContaining([
          { Key: 'env', Value: 'onprem' },
          { Key: 'opsauto:hostname', Value: 'rack7-db-01' },
          { Key: 'opsauto:token', Value: 'rack-7' },
        ]),
      }),
    ]);
    expect(ActivationList?.[0].Tags).toHaveLength(3);
  });

  it('deletes an activation, and deleting one that is already gone is no failure', async () => {
    // Prepare
    const issuer = new SsmActivationIssuer(new AwsClients('us-east-1', clientConfig(cloud)));
    const { activationId } = await issuer.create(activationRequest(token, 'rack7-db-02', await cloudNow(), 3_600_000));
    // Act
    await issuer.delete(activationId);
    await issuer.delete(activationId);
    // Assess
    const { ActivationList } = await new SSMClient(clientConfig(cloud)).send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [activationId] }] }));
    expect(ActivationList).toEqual([]);
  });

  it('counts the registrations of an activation (DescribeActivations), and 0 once it is gone', async () => {
    // Prepare
    const issuer = new SsmActivationIssuer(new AwsClients('us-east-1', clientConfig(cloud)));
    const { activationId, activationCode } = await issuer.create(activationRequest(token, 'rack7-db-03', await cloudNow(), 3_600_000));
    const before = await issuer.registrations(activationId);
    // Act: the agent registers with it (localcloud's agent endpoint), then it is deleted.
    const registered = await fetch(`${cloud.url}/_localcloud/ssm/register`, { method: 'POST', body: JSON.stringify({ activationId, activationCode, region: 'us-east-1' }) });
    const after = await issuer.registrations(activationId);
    await issuer.delete(activationId);
    // Assess
    expect(registered.status).toBe(200);
    expect([before, after, await issuer.registrations(activationId)]).toEqual([0, 1, 0]);
  });

  it('finds the activations of an instance name that carry an issuance tag, over every page of DescribeActivations', async () => {
    // Prepare: 51 untagged activations of the name (a page holds 50), then two tagged ones, one of them for another
    // key, and one tagged with the key for another name.
    const issuer = new SsmActivationIssuer(new AwsClients('us-east-1', clientConfig(cloud)));
    const now = await cloudNow();
    const request = (hostname: string, ref?: string) => {
      const r = activationRequest(token, hostname, now, 3_600_000);
      if (ref !== undefined) r.tags[ISSUANCE_TAG] = ref;
      return r;
    };
    for (let i = 0; i < 51; i++) await issuer.create(request('rack7-db-05'));
    const wanted = await issuer.create(request('rack7-db-05', 'ref-1'));
    await issuer.create(request('rack7-db-05', 'ref-2'));
    await issuer.create(request('rack7-db-06', 'ref-1'));

    // Act
    const found = await issuer.findIssued('rack7-db-05', 'ref-1');

    // Assess
    expect(found).toEqual([{ activationId: wanted.activationId, expiresAt: new Date(now.getTime() + 3_600_000).toISOString(), createdAt: expect.any(String) as unknown, registrations: 0 }]);
    expect(await issuer.findIssued('rack7-db-07', 'ref-1')).toEqual([]);
  });

  it("throws AWS's refusal as ActivationServiceError with its code and status, not retryable", async () => {
    const issuer = new SsmActivationIssuer(new AwsClients('us-east-1', clientConfig(cloud)));
    const past = activationRequest(token, 'rack7-db-03', new Date(Date.parse((await cloudNow()).toISOString()) - 7_200_000), 3_600_000);
    const error = await issuer.create(past).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActivationServiceError);
    expect(error).toMatchObject({ code: 'ValidationException', httpStatusCode: 400, retryable: false });
    expect((error as Error).message).toMatch(/^CreateActivation failed: ValidationException: ExpirationDate .* is in the past/);
  });

  it('throws a server error, after the SDK retries, as retryable', async () => {
    cloud.faults.set([{ service: 'ssm', operation: 'CreateActivation', errorRate: 1 }]);
    const issuer = new SsmActivationIssuer(new AwsClients('us-east-1', clientConfig(cloud)));
    const error = await issuer.create(activationRequest(token, 'rack7-db-04', await cloudNow(), 3_600_000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActivationServiceError);
    expect(error).toMatchObject({ httpStatusCode: 500, retryable: true });
  });

  it('throws a DeleteActivation failure other than "already gone"', async () => {
    cloud.faults.set([{ service: 'ssm', operation: 'DeleteActivation', throttleRate: 1 }]);
    const issuer = new SsmActivationIssuer(new AwsClients('us-east-1', clientConfig(cloud)));
    await expect(issuer.delete('11111111-1111-4111-8111-111111111111')).rejects.toMatchObject({ name: 'ActivationServiceError', retryable: true });
  });
});

describe('SsmActivationIssuer errors never hold the activation code', () => {
  const CODE = 'Zq8+SECRETcodeXYZ/ab';
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    // A 200 whose body holds a code but cannot be read: the SDK's parse error would quote the body.
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(`{"ActivationId":"11111111-1111-4111-8111-111111111111","ActivationCode":"${CODE}",`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('reports a response it could not read by its kind only, with no cause or raw response attached', async () => {
    // Prepare
    const issuer = new SsmActivationIssuer(new AwsClients('us-east-1', { ...clientConfig(cloud), endpoint }));
    // Act
    const error = await issuer.create(activationRequest(token, 'rack7-db-05', new Date(), 3_600_000)).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ActivationServiceError);
    const e = error as ActivationServiceError;
    expect(e.message).toMatch(/^CreateActivation failed before AWS's answer could be read/);
    const everything = [e.message, e.stack ?? '', JSON.stringify(e), JSON.stringify(Object.getOwnPropertyNames(e).map((k) => (e as unknown as Record<string, unknown>)[k])), String(e.cause)].join('\n');
    expect(everything).not.toContain(CODE);
    expect(everything).not.toContain('SECRETcode');
    // The SDK's own error keeps the raw response (body included) on a hidden $response: none of it is passed on.
    expect(Object.getOwnPropertyNames(e)).not.toContain('$response');
    expect(e.cause).toBeUndefined();
  });
});

describe('activationAdapters', () => {
  it('wires the stores to the table and the issuer to the region', async () => {
    // Prepare
    const clients = new AwsClients('us-east-1', clientConfig(cloud));
    const table = await createTestTable(cloud);
    const { tokens, issuances, issuer } = activationAdapters(clients, table, 'eu-west-1');
    // Act
    await tokens.create(token);
    const use = await tokens.consumeUse(token.id, '2027-01-02T00:00:00.000Z');
    const { activationId } = await issuer.create(activationRequest(token, 'rack7-db-06', await cloudNow(), 3_600_000));
    await issuances.record({ activationId, tokenId: token.id, tokenName: token.name, hostname: 'rack7-db-06', instanceName: 'rack7-db-06', region: 'eu-west-1', expiresAt: '2027-01-02T01:00:00.000Z', issuedAt: '2027-01-02T00:00:00.000Z', sourceIp: '203.0.113.6', userAgent: 'sh' });
    // Assess
    expect(use).toMatchObject({ ok: true, token: { uses: 1 } });
    expect((await issuances.list({ tokenId: token.id })).map((i) => i.activationId)).toEqual([activationId]);
    const { ActivationList } = await new SSMClient(clientConfig(cloud, 'eu-west-1')).send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [activationId] }] }));
    expect(ActivationList).toHaveLength(1);
  });
});
