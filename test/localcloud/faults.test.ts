import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, paginateGetParametersByPath, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { paginateDescribeDBInstances, RDSClient } from '@aws-sdk/client-rds';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { parseFaultRules } from '../../packages/localcloud/src/faults.js';
import { seedEc2 } from '../../packages/localcloud/src/services/ec2.js';
import { seedDbInstances } from '../../packages/localcloud/src/services/rds.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await promise;
  } catch (e) {
    return { name: (e as Error).name, status: (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

/** A client that gives up on the first failure, to see the fault itself. */
const noRetry = (cloud: Localcloud, region?: string) => ({ ...clientConfig(cloud, region), maxAttempts: 1, retryStrategy: undefined });

describe('localcloud faults', () => {
  let cloud: Localcloud;
  beforeEach(async () => {
    cloud = await startTestCloud();
  });
  afterEach(async () => {
    await cloud.stop();
  });

  const attempts = (service: string, operation: string) => cloud.calls.snapshot()[service]?.[operation] ?? 0;

  describe('what the SDK sees', () => {
    it('answers a filtered listing with an empty page and a token that leads to the page it stood for (EC2, RDS, SSM)', async () => {
      const ec2 = new EC2Client(clientConfig(cloud));
      const rds = new RDSClient(clientConfig(cloud));
      const ssm = new SSMClient(clientConfig(cloud));
      seedEc2(cloud.store, '000000000000', 'us-east-1', { images: [{ name: 'one' }, { name: 'two' }] });
      seedDbInstances(cloud.store, '000000000000', 'us-east-1', cloud.clock.nowMs(), [{ identifier: 'db1' }]);
      for (const n of [1, 2, 3]) await ssm.send(new PutParameterCommand({ Name: `/paged/p${n}`, Value: 'v', Type: 'String' }));
      cloud.faults.set([{ emptyPageRate: 1 }]);

      const first = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['one', 'two'] }] }));
      expect(first.Images).toEqual([]);
      expect(first.NextToken).toBeDefined();
      const next = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['one', 'two'] }], NextToken: first.NextToken }));
      expect(next.Images?.map((i) => i.Name).sort()).toEqual(['one', 'two']);
      // Unfiltered listings and id lookups are answered whole.
      expect((await ec2.send(new DescribeImagesCommand({}))).Images).toHaveLength(2);

      const dbPages = [];
      for await (const page of paginateDescribeDBInstances({ client: rds }, { Filters: [{ Name: 'engine', Values: ['postgres'] }] })) dbPages.push(page.DBInstances!.map((d) => d.DBInstanceIdentifier));
      expect(dbPages).toEqual([[], ['db1']]);
      const paramPages = [];
      for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 2 }, { Path: '/paged', ParameterFilters: [{ Key: 'Type', Values: ['String'] }] })) paramPages.push(page.Parameters!.length);
      expect(paramPages).toEqual([0, 2, 0, 1]);
      ec2.destroy();
      rds.destroy();
      ssm.destroy();
    });

    it('throttles with each service own throttling error', async () => {
      cloud.faults.set([{ throttleRate: 1 }]);
      const ssm = new SSMClient(noRetry(cloud));
      const ec2 = new EC2Client(noRetry(cloud));
      const sts = new STSClient(noRetry(cloud));
      const dynamo = new DynamoDBClient(noRetry(cloud));

      expect(await errorOf(ssm.send(new GetParameterCommand({ Name: '/x' })))).toEqual({ name: 'ThrottlingException', status: 400 });
      expect(await errorOf(ec2.send(new DescribeImagesCommand({})))).toEqual({ name: 'RequestLimitExceeded', status: 503 });
      expect(await errorOf(sts.send(new GetCallerIdentityCommand({})))).toEqual({ name: 'Throttling', status: 400 });
      expect(await errorOf(dynamo.send(new ListTablesCommand({})))).toEqual({ name: 'ProvisionedThroughputExceededException', status: 400 });
      [ssm, ec2, sts, dynamo].forEach((c) => c.destroy());
    });

    it('answers a 5xx with the service own internal error', async () => {
      cloud.faults.set([{ errorRate: 1 }]);
      const ec2 = new EC2Client(noRetry(cloud));
      const ssm = new SSMClient(noRetry(cloud));

      expect(await errorOf(ec2.send(new DescribeImagesCommand({})))).toEqual({ name: 'InternalError', status: 500 });
      expect(await errorOf(ssm.send(new GetParameterCommand({ Name: '/x' })))).toEqual({ name: 'InternalServerError', status: 500 });
      ec2.destroy();
      ssm.destroy();
    });

    it('times out a call: the SDK request timeout fires while localcloud holds the request', async () => {
      cloud.faults.set([{ service: 'ssm', timeoutRate: 1, timeoutMs: 5000 }]);
      const ssm = new SSMClient({ ...noRetry(cloud), requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true } });

      const err = await errorOf(ssm.send(new GetParameterCommand({ Name: '/x' })));

      // The SDK's own timeout, not localcloud dropping the connection after 5 s (that is a socket error, not TimeoutError).
      expect(err.name).toBe('TimeoutError');
      ssm.destroy();
    });

    it('drops the connection of a timed-out call after timeoutMs when the client waits longer', async () => {
      cloud.faults.set([{ service: 'sts', timeoutRate: 1, timeoutMs: 150 }]);
      const sts = new STSClient(noRetry(cloud));

      const started = Date.now();
      const err = await errorOf(sts.send(new GetCallerIdentityCommand({})));

      // A connection closed without an answer: Node's "socket hang up" (ECONNRESET), a network error to the SDK.
      expect(err.name).toMatch(/Error$/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      sts.destroy();
    });
  });

  describe('the SDK retries to success', () => {
    it('retries throttling', async () => {
      cloud.faults.set([{ service: 'ssm', throttleRate: 0.5 }]);
      const ssm = new SSMClient(clientConfig(cloud));

      for (let i = 0; i < 6; i++) await ssm.send(new PutParameterCommand({ Name: `/p${i}`, Value: 'v', Type: 'String' }));

      expect(attempts('ssm', 'PutParameter')).toBeGreaterThan(6);
      ssm.destroy();
    });

    it('retries 5xx errors', async () => {
      cloud.faults.set([{ service: 'ec2', errorRate: 0.5 }]);
      const ec2 = new EC2Client(clientConfig(cloud));

      for (let i = 0; i < 6; i++) await ec2.send(new DescribeImagesCommand({}));

      expect(attempts('ec2', 'DescribeImages')).toBeGreaterThan(6);
      ec2.destroy();
    });

    it('retries timeouts, with the client request timeout', async () => {
      cloud.faults.set([{ service: 'ssm', operation: 'GetParameter', timeoutRate: 0.5, timeoutMs: 5000 }]);
      const ssm = new SSMClient({ ...clientConfig(cloud), requestHandler: { requestTimeout: 150, throwOnRequestTimeout: true } });
      await ssm.send(new PutParameterCommand({ Name: '/t', Value: 'v', Type: 'String' }));

      for (let i = 0; i < 4; i++) expect((await ssm.send(new GetParameterCommand({ Name: '/t' }))).Parameter?.Value).toBe('v');

      expect(attempts('ssm', 'GetParameter')).toBeGreaterThan(4);
      // The rule names GetParameter only: PutParameter went through at once.
      expect(attempts('ssm', 'PutParameter')).toBe(1);
      ssm.destroy();
    });

    it('retries timeouts on DynamoDB, whose calls localcloud passes to dynalite', async () => {
      cloud.faults.set([{ service: 'dynamodb', timeoutRate: 0.5, timeoutMs: 100 }]);
      const dynamo = new DynamoDBClient({ ...clientConfig(cloud), retryStrategy: new ConfiguredRetryStrategy(8, () => 5) });

      for (let i = 0; i < 4; i++) expect((await dynamo.send(new ListTablesCommand({}))).TableNames).toEqual([]);

      expect(attempts('dynamodb', 'ListTables')).toBeGreaterThan(4);
      dynamo.destroy();
    });
  });

  describe('fault rules', () => {
    it('accepts timeoutRate and timeoutMs through the control API', async () => {
      const res = await fetch(`${cloud.url}/_localcloud/faults`, { method: 'POST', body: JSON.stringify({ service: 'ec2', timeoutRate: 0.1, timeoutMs: 3000 }) });
      expect(res.status).toBe(200);
      expect(cloud.faults.list()).toEqual([{ service: 'ec2', timeoutRate: 0.1, timeoutMs: 3000 }]);
    });

    it.each([
      [{ timeoutRate: 1.5 }, 'timeoutRate must be a number from 0 to 1'],
      [{ timeoutMs: 0 }, 'timeoutMs must be a number from 1 to 60000'],
      [{ timeoutMs: 120_000 }, 'timeoutMs must be a number from 1 to 60000'],
      [{ timeout: 1 }, 'unknown field timeout'],
    ])('refuses %j', (rule, message) => {
      expect(() => parseFaultRules(rule)).toThrow(message);
    });
  });
});
