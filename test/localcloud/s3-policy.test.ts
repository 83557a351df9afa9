import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allowRoleActions, emulatedOperations, type Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const BUCKET = 'opsauto-policy';

/** A policy that refuses every request not made over TLS, as AWS's SSL-only remediation puts it. */
const sslOnly = (bucket = BUCKET) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowSSLRequestsOnly',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  });

const publicRead = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` }],
});

describe('localcloud S3 bucket policies and Block Public Access', () => {
  let cloud: Localcloud;
  let s3: S3Client;

  beforeEach(async () => {
    cloud = await startTestCloud();
    s3 = new S3Client({ forcePathStyle: true, ...clientConfig(cloud) });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  afterEach(async () => {
    s3.destroy();
    await cloud.stop();
  });

  it('lists the new operations as emulated', () => {
    expect(emulatedOperations()).toEqual(
      expect.arrayContaining(['s3:GetPublicAccessBlock', 's3:PutPublicAccessBlock', 's3:DeletePublicAccessBlock', 's3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:GetBucketPolicyStatus']),
    );
  });

  describe('PublicAccessBlock', () => {
    it('answers NoSuchPublicAccessBlockConfiguration until one is put, stores each setting, and deletes it', async () => {
      expect(await errorWithStatusOf(s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })))).toMatchObject({
        name: 'NoSuchPublicAccessBlockConfiguration',
        status: 404,
      });

      await s3.send(
        new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true } }),
      );
      const got = await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }));
      // A setting left out is stored false.
      expect(got.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: false });

      await s3.send(new DeletePublicAccessBlockCommand({ Bucket: BUCKET }));
      expect(await errorWithStatusOf(s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })))).toMatchObject({ name: 'NoSuchPublicAccessBlockConfiguration' });
    });

    it('answers NoSuchBucket for a bucket that does not exist, and AccessDenied when the expected owner differs', async () => {
      const config = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
      expect(await errorWithStatusOf(s3.send(new PutPublicAccessBlockCommand({ Bucket: 'opsauto-none', PublicAccessBlockConfiguration: config })))).toMatchObject({
        name: 'NoSuchBucket',
        status: 404,
      });
      const wrongOwner = await errorWithStatusOf(
        s3.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: config, ExpectedBucketOwner: '111111111111' })),
      );
      expect(wrongOwner).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(await errorWithStatusOf(s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })))).toMatchObject({ name: 'NoSuchPublicAccessBlockConfiguration' });
      await s3.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: config, ExpectedBucketOwner: ACCOUNT }));
      expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }))).PublicAccessBlockConfiguration).toEqual(config);
    });
  });

  describe('bucket policy', () => {
    it('answers NoSuchBucketPolicy until a policy is put, then the policy as put, its status, and none once deleted', async () => {
      expect(await errorWithStatusOf(s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET })))).toMatchObject({ name: 'NoSuchBucketPolicy', status: 404 });
      expect(await errorWithStatusOf(s3.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET })))).toMatchObject({ name: 'NoSuchBucketPolicy' });

      await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: sslOnly() }));
      const got = await s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET }));
      expect(JSON.parse(got.Policy!)).toEqual(JSON.parse(sslOnly()));
      expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET }))).PolicyStatus).toEqual({ IsPublic: false });

      await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: publicRead }));
      expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET }))).PolicyStatus).toEqual({ IsPublic: true });

      await s3.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }));
      expect(await errorWithStatusOf(s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET })))).toMatchObject({ name: 'NoSuchBucketPolicy' });
    });

    it('counts an Allow to everyone pinned to a source account as not public', async () => {
      const pinned = JSON.stringify({
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } } }],
      });
      await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: pinned }));
      expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET }))).PolicyStatus?.IsPublic).toBe(false);
    });

    it('refuses a malformed policy with MalformedPolicy naming what is wrong, and keeps the policy it had', async () => {
      await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: sslOnly() }));
      const statement = { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${BUCKET}/*` };
      const cases: [string, string][] = [
        ['not json', "Policies must be valid JSON and the first byte must be '{'"],
        ['{"Statement": [', 'This policy contains invalid Json'],
        [JSON.stringify({ Version: '2012-10-17' }), 'Missing required field Statement'],
        [JSON.stringify({ Version: '2020-01-01', Statement: [statement] }), 'The policy must contain a valid version string'],
        [JSON.stringify({ Statement: [{ ...statement, Effect: 'Maybe' }] }), 'Invalid effect: Maybe'],
        [JSON.stringify({ Statement: [{ ...statement, Principal: undefined }] }), 'Missing required field Principal'],
        [JSON.stringify({ Statement: [{ ...statement, Principal: { Nobody: 'x' } }] }), 'Invalid principal in policy'],
        [JSON.stringify({ Statement: [{ ...statement, Action: 'ec2:StopInstances' }] }), 'Policy has invalid action'],
        [JSON.stringify({ Statement: [{ ...statement, Resource: 'arn:aws:s3:::another-bucket/*' }] }), 'Policy has invalid resource'],
        [JSON.stringify({ Statement: [{ ...statement, Resource: undefined }] }), 'Missing required field Resource'],
        [JSON.stringify({ Statement: [statement], Pad: 'x'.repeat(21_000) }), 'Policies must be less than 20 KB'],
      ];
      for (const [policy, message] of cases) {
        const err = await errorWithStatusOf(s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy })));
        expect(err, policy.slice(0, 60)).toMatchObject({ name: 'MalformedPolicy', status: 400, message });
      }
      expect(JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET }))).Policy!)).toEqual(JSON.parse(sslOnly()));
    });

    it('refuses a public policy while BlockPublicPolicy is on, and takes a non-public one', async () => {
      await s3.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: { BlockPublicPolicy: true } }));
      expect(await errorWithStatusOf(s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: publicRead })))).toMatchObject({ name: 'AccessDenied', status: 403 });
      await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: sslOnly() }));
      expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET }))).PolicyStatus?.IsPublic).toBe(false);
    });
  });

  describe('PutBucketVersioning with MFADelete Disabled', () => {
    it('takes MFADelete Disabled without an MFA code on a bucket that never had MFA delete, as AWS does', async () => {
      await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Disabled' } }));
      expect(await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).toMatchObject({ Status: 'Enabled', MFADelete: 'Disabled' });
    });

    it('still takes the MFA code to disable MFA delete on a bucket that has it', async () => {
      const MFA = `arn:aws:iam::${ACCOUNT}:mfa/root-account-mfa-device 123456`;
      await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, MFA, VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Enabled' } }));
      const refused = await errorWithStatusOf(s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Disabled' } })));
      expect(refused).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).MFADelete).toBe('Enabled');
    });
  });

  it("refuses PutPublicAccessBlock to a role allowed only s3:GetBucketPublicAccessBlock (IAM's action names), and lets it read", async () => {
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/opsauto-s3-reader`;
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: { BlockPublicAcls: true } }));
    await allowRoleActions(cloud.url, { roleArn, actions: ['s3:GetBucketPublicAccessBlock'] });
    const sts = new STSClient(clientConfig(cloud));
    const creds = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'reader' }))).Credentials!;
    sts.destroy();
    const reader = new S3Client({
      forcePathStyle: true,
      ...clientConfig(cloud),
      credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! },
    });
    try {
      expect((await reader.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }))).PublicAccessBlockConfiguration?.BlockPublicAcls).toBe(true);
      const refused = await errorWithStatusOf(reader.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: { BlockPublicAcls: false } })));
      expect(refused).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(refused.message).toContain('s3:PutBucketPublicAccessBlock');
    } finally {
      reader.destroy();
    }
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }))).PublicAccessBlockConfiguration?.BlockPublicAcls).toBe(true);
  });
});
