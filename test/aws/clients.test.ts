import { DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SNSClient, ListTopicsCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AccountClients, AwsClients, isThrottlingError } from '@opsauto/aws';
import { assumedRoleClients } from '@opsauto/aws/runbooks/role-clients.js';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

let cloud: Localcloud;
let seen: [string, string][];
let clients: AwsClients;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});
beforeEach(() => {
  cloud.faults.set([]);
  seen = [];
  const { endpoint, credentials, retryStrategy } = clientConfig(cloud);
  clients = new AwsClients('us-east-1', { endpoint, credentials, retryStrategy }, { throttled: (service, errorName) => seen.push([service, errorName]) });
});

describe('AwsClients throttling observer', () => {
  it('is told of every throttled attempt, the retried ones and the last one, with the service and the error code', async () => {
    // Prepare: every DescribeVolumes throttled; the test retry strategy makes 5 attempts.
    cloud.faults.set([{ service: 'ec2', operation: 'DescribeVolumes', throttleRate: 1 }]);
    // Act
    const call = clients.get(EC2Client).send(new DescribeVolumesCommand({}));
    // Assess
    await expect(call).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
    expect(seen).toEqual(Array.from({ length: 5 }, () => ['EC2', 'RequestLimitExceeded']));
  });

  it('is not told of calls that succeed, nor of errors that are not throttling', async () => {
    // Prepare: SNS answers an internal error, which the SDK retries as well.
    cloud.faults.set([{ service: 'sns', errorRate: 1 }]);
    // Act
    await clients.get(EC2Client).send(new DescribeVolumesCommand({}));
    const failed = clients.get(SNSClient).send(new ListTopicsCommand({}));
    // Assess
    await expect(failed).rejects.toBeDefined();
    expect(seen).toEqual([]);
  });

  it('counts a throttled call once per attempt even when a retry then succeeds', async () => {
    // Prepare: half the calls throttled, drawn at random; enough calls that some are retried and all succeed.
    cloud.faults.set([{ service: 'ec2', operation: 'DescribeVolumes', throttleRate: 0.5 }]);
    const ec2 = clients.get(EC2Client);
    // Act: a call that succeeds after n attempts met n - 1 throttles; one that failed met all 5.
    let expected = 0;
    for (let i = 0; i < 8; i++) {
      try {
        expected += ((await ec2.send(new DescribeVolumesCommand({}))).$metadata.attempts ?? 1) - 1;
      } catch {
        expected += 5;
      }
    }
    // Assess
    expect(seen.length).toBe(expected);
    expect(seen.every(([service, code]) => service === 'EC2' && code === 'RequestLimitExceeded')).toBe(true);
  });

  it('is kept by the clients of an assumed role and of another account', () => {
    // Act
    const role = assumedRoleClients(clients, 'arn:aws:iam::000000000000:role/r', 'test', {});
    const other = new AccountClients(clients, { ownAccount: '000000000000', roles: [{ accountId: '111122223333', roleArn: 'arn:aws:iam::111122223333:role/r' }] }).for('111122223333');
    // Assess
    expect(role.observer).toBe(clients.observer);
    expect(other.observer).toBe(clients.observer);
  });
});

describe('isThrottlingError', () => {
  it('knows the SDK throttling codes, a 429 and $retryable.throttling, and nothing else', () => {
    expect(isThrottlingError({ name: 'ThrottlingException' })).toBe(true);
    expect(isThrottlingError({ name: 'TooManyUpdates' })).toBe(true);
    expect(isThrottlingError({ name: 'X', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottlingError({ name: 'X', $retryable: { throttling: true } })).toBe(true);
    expect(isThrottlingError({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).toBe(false);
    expect(isThrottlingError(undefined)).toBe(false);
  });
});
