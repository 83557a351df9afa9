import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type Credentials } from '@aws-sdk/client-sts';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const OTHER_ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${OTHER_ACCOUNT}:role/opsauto-scanner`;

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message, status: (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

/** Client settings that sign with credentials AssumeRole issued. */
function assumed(cloud: Localcloud, creds: Credentials, region = 'us-east-1') {
  return { ...clientConfig(cloud, region), credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! } };
}

describe('localcloud STS and accounts', () => {
  let cloud: Localcloud;
  let sts: STSClient;

  beforeEach(async () => {
    cloud = await startTestCloud();
    sts = new STSClient(clientConfig(cloud));
  });
  afterEach(async () => {
    sts.destroy();
    await cloud.stop();
  });

  describe('AssumeRole', () => {
    it('issues temporary credentials and the assumed role user of the role account', async () => {
      const before = cloud.clock.nowMs();
      const out = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'scan-1', DurationSeconds: 900 }));

      expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
      expect(out.Credentials?.SecretAccessKey).toBeTruthy();
      expect(out.Credentials?.SessionToken).toBeTruthy();
      // Expiration is on the virtual clock, DurationSeconds after the call (to the second).
      expect(Math.abs(out.Credentials!.Expiration!.getTime() - (before + 900_000))).toBeLessThan(2000);
      expect(out.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/opsauto-scanner/scan-1`);
      expect(out.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{16}:scan-1$/);
    });

    it('names the role without its path in the assumed role ARN', async () => {
      const out = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/service/ops/reader`, RoleSessionName: 's1' }));
      expect(out.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/reader/s1`);
    });

    it('answers GetCallerIdentity with the assumed role for its credentials', async () => {
      const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'who-am-i' }));
      const other = new STSClient(assumed(cloud, Credentials!));

      const id = await other.send(new GetCallerIdentityCommand({}));

      expect(id).toMatchObject({ Account: OTHER_ACCOUNT, Arn: `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/opsauto-scanner/who-am-i` });
      expect(id.UserId).toMatch(/^AROA[A-Z2-7]{16}:who-am-i$/);
      other.destroy();
    });

    it.each([
      [{ RoleArn: 'arn:aws:iam::123:role/short-account', RoleSessionName: 'ok-name' }, 'is invalid'],
      [{ RoleArn: ROLE_ARN, RoleSessionName: 'has space' }, "at 'roleSessionName' failed to satisfy constraint"],
      [{ RoleArn: ROLE_ARN, RoleSessionName: 'x' }, "at 'roleSessionName' failed to satisfy constraint"],
      [{ RoleArn: ROLE_ARN, RoleSessionName: 'ok-name', DurationSeconds: 899 }, 'greater than or equal to 900'],
      [{ RoleArn: ROLE_ARN, RoleSessionName: 'ok-name', DurationSeconds: 43201 }, 'less than or equal to 43200'],
    ])('rejects %j with ValidationError', async (input, message) => {
      const err = await errorOf(sts.send(new AssumeRoleCommand(input)));
      expect(err.name).toBe('ValidationError');
      expect(err.message).toContain(message);
    });

    it('limits role chaining to one hour, as AWS does', async () => {
      const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'first' }));
      const chained = new STSClient(assumed(cloud, Credentials!));

      const err = await errorOf(chained.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::444455556666:role/next`, RoleSessionName: 'second', DurationSeconds: 7200 })));
      const ok = await chained.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::444455556666:role/next`, RoleSessionName: 'second', DurationSeconds: 3600 }));

      expect(err).toMatchObject({ name: 'ValidationError', message: expect.stringContaining('role chaining') });
      expect(ok.AssumedRoleUser?.Arn).toBe('arn:aws:sts::444455556666:assumed-role/next/second');
      chained.destroy();
    });

    it('answers ExpiredToken once the credentials expire on the virtual clock', async () => {
      const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'short', DurationSeconds: 900 }));
      const other = new STSClient(assumed(cloud, Credentials!));
      const ssm = new SSMClient(assumed(cloud, Credentials!));
      await other.send(new GetCallerIdentityCommand({}));

      await cloud.advance('15m');

      expect(await errorOf(other.send(new GetCallerIdentityCommand({})))).toMatchObject({ name: 'ExpiredToken', status: 403 });
      // awsJson services name the same error with their `Exception` suffix.
      expect(await errorOf(ssm.send(new GetParameterCommand({ Name: '/x' })))).toMatchObject({ name: 'ExpiredTokenException', status: 403 });
      other.destroy();
      ssm.destroy();
    });

    it('refuses an issued access key signed with another session token', async () => {
      const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'tok' }));
      const forged = new STSClient(assumed(cloud, { ...Credentials!, SessionToken: 'not-the-token' }));
      const dynamo = new DynamoDBClient(assumed(cloud, { ...Credentials!, SessionToken: 'not-the-token' }));

      expect(await errorOf(forged.send(new GetCallerIdentityCommand({})))).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });
      expect(await errorOf(dynamo.send(new ListTablesCommand({})))).toMatchObject({ name: 'UnrecognizedClientException', status: 403 });
      forged.destroy();
      dynamo.destroy();
    });
  });

  describe('accounts and regions', () => {
    it('keeps the state of an assumed role account apart from the default account, both ways', async () => {
      const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'state' }));
      const inOther = new SSMClient(assumed(cloud, Credentials!));
      const inDefault = new SSMClient(clientConfig(cloud));

      await inOther.send(new PutParameterCommand({ Name: '/only/in/other', Value: 'a', Type: 'String' }));
      await inDefault.send(new PutParameterCommand({ Name: '/only/in/default', Value: 'b', Type: 'String' }));

      expect((await inOther.send(new GetParameterCommand({ Name: '/only/in/other' }))).Parameter?.ARN).toBe(`arn:aws:ssm:us-east-1:${OTHER_ACCOUNT}:parameter/only/in/other`);
      expect((await errorOf(inDefault.send(new GetParameterCommand({ Name: '/only/in/other' })))).name).toBe('ParameterNotFound');
      expect((await errorOf(inOther.send(new GetParameterCommand({ Name: '/only/in/default' })))).name).toBe('ParameterNotFound');
      expect((await inDefault.send(new GetParameterCommand({ Name: '/only/in/default' }))).Parameter?.Value).toBe('b');
      inOther.destroy();
      inDefault.destroy();
    });

    it('keeps regions apart: a parameter put in eu-west-1 is not in us-east-1', async () => {
      const eu = new SSMClient(clientConfig(cloud, 'eu-west-1'));
      const us = new SSMClient(clientConfig(cloud, 'us-east-1'));

      await eu.send(new PutParameterCommand({ Name: '/regional', Value: 'eu', Type: 'String' }));

      expect((await eu.send(new GetParameterCommand({ Name: '/regional' }))).Parameter?.Value).toBe('eu');
      expect((await errorOf(us.send(new GetParameterCommand({ Name: '/regional' })))).name).toBe('ParameterNotFound');
      eu.destroy();
      us.destroy();
    });

    it('answers any other access key as the default account', async () => {
      const someone = new STSClient({ ...clientConfig(cloud), credentials: { accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: 'whatever' } });
      expect(await someone.send(new GetCallerIdentityCommand({}))).toMatchObject({ Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root' });
      someone.destroy();
    });
  });
});

describe('localcloud STS across a restart', () => {
  it('keeps issued credentials in the persisted state, so they still act in the role account', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localcloud-sts-'));
    try {
      const first = await startTestCloud({ dataDir: dir });
      const sts = new STSClient(clientConfig(first));
      const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'persist' }));
      sts.destroy();
      await first.stop();

      const second = await startTestCloud({ dataDir: dir });
      const again = new STSClient(assumed(second, Credentials!));
      const id = await again.send(new GetCallerIdentityCommand({}));

      expect(second.restored).toBe(true);
      expect(id.Account).toBe(OTHER_ACCOUNT);
      again.destroy();
      await second.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  });
});
