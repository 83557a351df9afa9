import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type Credentials } from '@aws-sdk/client-sts';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand, GetParameterHistoryCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CreateBucketCommand, HeadBucketCommand, PutBucketEncryptionCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allowRoleActions, iamActionOf, listDenials, listRolePermissions, type Localcloud } from '@opsauto/localcloud';
import { seedEc2 } from '../../packages/localcloud/src/services/ec2.js';
import { INSTANCE_RUNNING_DELAY_MS } from '../../packages/localcloud/src/services/ec2-instance-lifecycle.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/opsauto-runbook-reader`;

/** Client settings that sign with credentials AssumeRole issued. */
function as(cloud: Localcloud, creds: Credentials) {
  return { ...clientConfig(cloud), credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! } };
}

describe('localcloud principals and IAM enforcement', () => {
  let cloud: Localcloud;
  let admin: EC2Client;
  let creds: Credentials;

  beforeEach(async () => {
    cloud = await startTestCloud();
    admin = new EC2Client(clientConfig(cloud));
    const sts = new STSClient(clientConfig(cloud));
    creds = (await sts.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'runbook-1' }))).Credentials!;
    sts.destroy();
  });
  afterEach(async () => {
    admin.destroy();
    await cloud.stop();
  });

  async function runningInstance(): Promise<string> {
    const imageId = seedEc2(cloud.store, ACCOUNT, 'us-east-1', { images: [{ name: 'al2023-base' }] }).imageIds[0];
    const out = await admin.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }));
    await cloud.advance(INSTANCE_RUNNING_DELAY_MS);
    return out.Instances![0].InstanceId!;
  }

  async function stateOf(instanceId: string): Promise<string | undefined> {
    const out = await admin.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
  }

  it('refuses StopInstances with UnauthorizedOperation to a role registered with only ec2:DescribeInstances, and the instance keeps running', async () => {
    // Prepare
    const instanceId = await runningInstance();
    await allowRoleActions(cloud.url, { roleArn: ROLE_ARN, actions: ['ec2:DescribeInstances'] });
    const ec2 = new EC2Client(as(cloud, creds));

    // Act
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const refused = await errorWithStatusOf(ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] })));
    await cloud.advance('10m');
    ec2.destroy();

    // Assess
    expect(described.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(instanceId);
    expect(refused.name).toBe('UnauthorizedOperation');
    expect(refused.status).toBe(403);
    expect(refused.message).toContain(`arn:aws:sts::${ACCOUNT}:assumed-role/opsauto-runbook-reader/runbook-1 is not authorized to perform: ec2:StopInstances`);
    expect(await stateOf(instanceId)).toBe('running');
    const denials = await listDenials(cloud.url);
    expect(denials).toEqual([{ roleArn: ROLE_ARN, principal: `arn:aws:sts::${ACCOUNT}:assumed-role/opsauto-runbook-reader/runbook-1`, action: 'ec2:StopInstances', time: expect.any(String) }]);
    expect(Date.parse(denials[0].time)).toBeLessThanOrEqual(cloud.clock.nowMs());
  });

  it('allows what a wildcard matches, case-insensitively, and nothing else', async () => {
    const instanceId = await runningInstance();
    await allowRoleActions(cloud.url, { roleArn: ROLE_ARN, actions: ['EC2:describe*', 'ssm:Get?arameter'] });
    const ec2 = new EC2Client(as(cloud, creds));
    const ssm = new SSMClient(as(cloud, creds));
    await new SSMClient(clientConfig(cloud)).send(new PutParameterCommand({ Name: '/iam/p', Value: 'v', Type: 'String' }));

    const described = await ec2.send(new DescribeInstancesCommand({}));
    const got = await ssm.send(new GetParameterCommand({ Name: '/iam/p' }));
    const put = await errorWithStatusOf(ssm.send(new PutParameterCommand({ Name: '/iam/q', Value: 'v', Type: 'String' })));
    const stop = await errorWithStatusOf(ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] })));
    ec2.destroy();
    ssm.destroy();

    expect(described.Reservations).toHaveLength(1);
    expect(got.Parameter?.Value).toBe('v');
    expect(put).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect(stop).toMatchObject({ name: 'UnauthorizedOperation', status: 403 });
    expect((await listDenials(cloud.url)).map((d) => d.action)).toEqual(['ssm:PutParameter', 'ec2:StopInstances']);
  });

  it('answers each service’s own access-denied error, and maps S3 operations to their IAM actions', async () => {
    await new S3Client({ ...clientConfig(cloud), forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: 'iam-bucket' }));
    await allowRoleActions(cloud.url, { roleArn: ROLE_ARN, actions: ['s3:ListBucket'] });
    const s3 = new S3Client({ ...as(cloud, creds), forcePathStyle: true });
    const dynamodb = new DynamoDBClient(as(cloud, creds));
    const sns = new SNSClient(as(cloud, creds));

    await s3.send(new HeadBucketCommand({ Bucket: 'iam-bucket' }));
    const encryption = await errorWithStatusOf(
      s3.send(new PutBucketEncryptionCommand({ Bucket: 'iam-bucket', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } })),
    );
    const tables = await errorWithStatusOf(dynamodb.send(new ListTablesCommand({})));
    const publish = await errorWithStatusOf(sns.send(new PublishCommand({ TopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:t`, Message: 'm' })));
    s3.destroy();
    dynamodb.destroy();
    sns.destroy();

    expect(encryption).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(tables).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    // SNS's wire code AuthorizationError is the SDK's AuthorizationErrorException.
    expect(publish).toMatchObject({ name: 'AuthorizationErrorException', status: 403 });
    expect((await listDenials(cloud.url)).map((d) => d.action)).toEqual(['s3:PutEncryptionConfiguration', 'dynamodb:ListTables', 'sns:Publish']);
  });

  it('lets a role that is not registered, and any other key, do anything as before', async () => {
    const instanceId = await runningInstance();
    await allowRoleActions(cloud.url, { roleArn: `arn:aws:iam::${ACCOUNT}:role/someone-else`, actions: [] });
    const ec2 = new EC2Client(as(cloud, creds));

    await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    ec2.destroy();

    expect(await stateOf(instanceId)).toMatch(/stopping|stopped/);
    expect(await listDenials(cloud.url)).toEqual([]);
  });

  it('answers GetCallerIdentity to a registered role whatever its actions, with the assumed-role ARN', async () => {
    await allowRoleActions(cloud.url, { roleArn: ROLE_ARN, actions: [] });
    const sts = new STSClient(as(cloud, creds));

    const id = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();

    expect(id.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/opsauto-runbook-reader/runbook-1`);
  });

  it('records the assumed role as the caller an operation sees (SSM LastModifiedUser)', async () => {
    const ssm = new SSMClient(as(cloud, creds));

    await ssm.send(new PutParameterCommand({ Name: '/who/wrote', Value: 'v', Type: 'String' }));
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/who/wrote' }));
    const history = await new SSMClient(clientConfig(cloud)).send(new GetParameterHistoryCommand({ Name: '/who/wrote' }));
    ssm.destroy();

    expect(Parameter?.Value).toBe('v');
    expect(history.Parameters?.[0]?.LastModifiedUser).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/opsauto-runbook-reader/runbook-1`);
  });

  it.each([
    [{ roleArn: 'not-an-arn', actions: [] }, 'roleArn'],
    [{ roleArn: ROLE_ARN, actions: 'ec2:*' }, 'actions'],
    [{ roleArn: ROLE_ARN, actions: ['ec2:DescribeInstances', 'ec2 StopInstances'] }, 'actions[1]'],
    [{ roleArn: ROLE_ARN, actions: [7] }, 'actions[0]'],
    [null, 'the body must be a JSON object'],
  ])('refuses the registration %j with an error naming %s', async (body, field) => {
    const res = await fetch(`${cloud.url}/_localcloud/iam/roles`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain(field);
    expect(await listRolePermissions(cloud.url)).toEqual([]);
  });

  it('forgets a registered role on DELETE, after which its keys may do anything again', async () => {
    await allowRoleActions(cloud.url, { roleArn: ROLE_ARN, actions: [] });
    const res = await fetch(`${cloud.url}/_localcloud/iam/roles?roleArn=${encodeURIComponent(ROLE_ARN)}`, { method: 'DELETE' });
    const ec2 = new EC2Client(as(cloud, creds));
    await ec2.send(new DescribeInstancesCommand({}));
    ec2.destroy();

    expect(res.status).toBe(200);
    expect(await listRolePermissions(cloud.url)).toEqual([]);
  });

  it.each([
    ['ec2', 'StopInstances', 'ec2:StopInstances'],
    ['events', 'PutEvents', 'events:PutEvents'],
    ['scheduler', 'CreateSchedule', 'scheduler:CreateSchedule'],
    ['dynamodb', 'TransactWriteItems', 'dynamodb:TransactWriteItems'],
    ['s3', 'GetBucketVersioning', 's3:GetBucketVersioning'],
    ['s3', 'PutBucketEncryption', 's3:PutEncryptionConfiguration'],
    ['s3', 'GetBucketEncryption', 's3:GetEncryptionConfiguration'],
    ['s3', 'ListObjectsV2', 's3:ListBucket'],
    ['s3', 'HeadBucket', 's3:ListBucket'],
    ['s3', 'ListBuckets', 's3:ListAllMyBuckets'],
  ])('maps %s:%s to the IAM action %s', (service, operation, action) => {
    expect(iamActionOf(service, operation)).toBe(action);
  });
});
