import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSecurityGroupRulesCommand, DescribeSecurityGroupsCommand, DescribeSnapshotAttributeCommand, DescribeSubnetsCommand, DescribeVolumesCommand, GetEbsEncryptionByDefaultCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, DescribeDBSnapshotAttributesCommand, DescribeDBSnapshotsCommand, type RDSClient } from '@aws-sdk/client-rds';
import { GetBucketEncryptionCommand, GetBucketPolicyCommand, GetBucketVersioningCommand, GetPublicAccessBlockCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand, type SNSClient } from '@aws-sdk/client-sns';
import { DescribeDocumentPermissionCommand, GetServiceSettingCommand, type SSMClient } from '@aws-sdk/client-ssm';

// The corpus documents in scope (every API they call is in a covered service), one row each: the parameters to
// start it with (ids of the resources the corpus test seeds), the effect to check with the SDK once it ended, and
// whether it passes today. `expect: { fail }` rows name the missing feature; the corpus test fails when a row's outcome
// differs from its expectation either way, so this table stays true as features land.

/** What the corpus test seeds and hands to each case (one resource per case, so cases do not interfere). */
export interface Seeded {
  account: string;
  region: string;
  roleArn: string;
  /** Running instances by case key. */
  instance: (key: string) => string;
  /** A seeded AMI by case key. */
  image: (key: string) => string;
  /** A seeded DB instance by case key: identifier, DbiResourceId, ARN. */
  db: (key: string) => { id: string; resourceId: string; arn: string };
  /** A seeded bucket by case key. */
  bucket: (key: string) => string;
  /** A topic by case key. */
  topic: (key: string) => string;
  /** A security group of the default VPC by case key: 'default' (its default group), 'ssh-open' (SSH and RDP open to 0.0.0.0/0). */
  securityGroup: (key: string) => string;
  /** A subnet ARN by case key (`public`: a default subnet that maps public IPs on launch). */
  subnetArn: (key: string) => string;
  /** A shared SSM document by case key. */
  documentArn: (key: string) => string;
  /** An EBS snapshot by case key: 'backup', 'public' (createVolumePermission shared with all). */
  snapshot: (key: string) => string;
  /** A DB snapshot identifier by case key: 'public' (restore shared with all), 'plain' (unencrypted), 'encrypted' (not made: the copy to make). */
  dbSnapshot: (key: string) => string;
  /** An Aurora DB cluster identifier by case key. */
  dbCluster: (key: string) => string;
}

export interface Clients {
  ec2: EC2Client;
  rds: RDSClient;
  s3: S3Client;
  sns: SNSClient;
  ssm: SSMClient;
}

export interface CorpusCase {
  /** Under test/fixtures/runbooks, or `corpus/<file>` in the local corpus (OPSAUTO_RUNBOOK_CORPUS): the row applies when it is present. */
  file: string;
  /** The document name it runs under (AWS-owned ones under their own name, served by localcloud). */
  name: string;
  parameters: (s: Seeded) => Record<string, unknown>;
  /** How long to let it run on the virtual clock. */
  advance?: string;
  /** Throws (an expect failing) when the effect is not there. */
  effect: (c: Clients, s: Seeded) => Promise<void>;
  expect: 'pass' | { fail: string };
  /** The approver (one of its Approvers parameter) who approves once the execution waits at aws:approve. */
  approver?: string;
}

const must = (ok: boolean, message: string) => {
  if (!ok) throw new Error(message);
};

const db = async (c: Clients, id: string) => (await c.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0];
const inst = async (c: Clients, id: string) => (await c.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0];

const APPROVER = `arn:aws:iam::000000000000:user/corpus-approver`;

export const CORPUS_CASES: CorpusCase[] = [
  {
    file: 'AWS-StopEC2Instance.json',
    name: 'AWS-StopEC2Instance',
    parameters: (s) => ({ InstanceId: [s.instance('stop')] }),
    effect: async (c, s) => must((await inst(c, s.instance('stop'))).State?.Name === 'stopped', 'instance not stopped'),
    expect: 'pass',
  },
  {
    file: 'AWS-StartEC2Instance.json',
    name: 'AWS-StartEC2Instance',
    parameters: (s) => ({ InstanceId: [s.instance('start')] }),
    effect: async (c, s) => must((await inst(c, s.instance('start'))).State?.Name === 'running', 'instance not running'),
    expect: 'pass',
  },
  {
    file: 'AWS-RestartEC2Instance.json',
    name: 'AWS-RestartEC2Instance',
    parameters: (s) => ({ InstanceId: [s.instance('restart')] }),
    effect: async (c, s) => must((await inst(c, s.instance('restart'))).State?.Name === 'running', 'instance not running again'),
    expect: 'pass',
  },
  {
    file: 'AWS-TerminateEC2Instance.json',
    name: 'AWS-TerminateEC2Instance',
    parameters: (s) => ({ InstanceId: [s.instance('terminate')] }),
    effect: async (c, s) => must((await inst(c, s.instance('terminate'))).State?.Name === 'terminated', 'instance not terminated'),
    expect: 'pass',
  },
  {
    file: 'AWS-CreateImage.json',
    name: 'AWS-CreateImage',
    parameters: (s) => ({ InstanceId: s.instance('image') }),
    effect: async (c, s) => {
      const images = (await c.ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'source-instance-id', Values: [s.instance('image')] }] }))).Images ?? [];
      const all = images.length > 0 ? images : ((await c.ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).filter((i) => i.Name?.includes(s.instance('image')));
      must(all.some((i) => i.State === 'available'), 'no available image of the instance');
    },
    expect: 'pass',
  },
  {
    file: 'AWS-DeleteImage.json',
    name: 'AWS-DeleteImage',
    parameters: (s) => ({ ImageId: s.image('delete') }),
    effect: async (c, s) => {
      // EC2 answers InvalidAMIID.NotFound for a deregistered image asked for by ID.
      const described = await c.ec2.send(new DescribeImagesCommand({ ImageIds: [s.image('delete')] })).then(
        (out) => out.Images ?? [],
        (e: Error) => (e.name === 'InvalidAMIID.NotFound' ? [] : Promise.reject(e)),
      );
      must(described.length === 0, 'image still described');
    },
    expect: 'pass',
  },
  {
    file: 'AWS-EnableS3BucketKeys.yml',
    name: 'AWS-EnableS3BucketKeys',
    parameters: (s) => ({ BucketName: s.bucket('keys'), AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const rules = (await c.s3.send(new GetBucketEncryptionCommand({ Bucket: s.bucket('keys') }))).ServerSideEncryptionConfiguration?.Rules ?? [];
      must(rules[0]?.BucketKeyEnabled === true, 'BucketKeyEnabled not true');
    },
    expect: 'pass',
  },
  {
    file: 'AWS-StopRdsInstance.yaml',
    name: 'AWS-StopRdsInstance',
    parameters: (s) => ({ InstanceId: s.db('stop').id, AutomationAssumeRole: s.roleArn }),
    advance: '15m',
    effect: async (c, s) => must((await db(c, s.db('stop').id)).DBInstanceStatus === 'stopped', 'DB instance not stopped'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__ConfigureS3BucketVersioning.yaml',
    name: 'Corpus-ConfigureS3BucketVersioning',
    parameters: (s) => ({ BucketName: s.bucket('versioning'), AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => must((await c.s3.send(new GetBucketVersioningCommand({ Bucket: s.bucket('versioning') }))).Status === 'Enabled', 'versioning not Enabled'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableS3BucketVersioning.yaml',
    name: 'Corpus-EnableS3BucketVersioning',
    parameters: (s) => ({ BucketName: s.bucket('versioning2'), AccountId: s.account, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => must((await c.s3.send(new GetBucketVersioningCommand({ Bucket: s.bucket('versioning2') }))).Status === 'Enabled', 'versioning not Enabled'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableDefaultEncryptionS3.yaml',
    name: 'Corpus-EnableDefaultEncryptionS3',
    parameters: (s) => ({ BucketName: s.bucket('encryption'), AccountId: s.account, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const rules = (await c.s3.send(new GetBucketEncryptionCommand({ Bucket: s.bucket('encryption') }))).ServerSideEncryptionConfiguration?.Rules ?? [];
      must(rules[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm === 'AES256', 'default encryption not AES256');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__ConfigureS3BucketPublicAccessBlock.yaml',
    name: 'Corpus-ConfigureS3BucketPublicAccessBlock',
    parameters: (s) => ({ BucketName: s.bucket('pab'), AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => must((await c.s3.send(new GetPublicAccessBlockCommand({ Bucket: s.bucket('pab') }))).PublicAccessBlockConfiguration?.BlockPublicAcls === true, 'public access block not set'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__DisablePublicAccessToRDSInstance.yaml',
    name: 'Corpus-DisablePublicAccessToRDSInstance',
    parameters: (s) => ({ DbiResourceId: s.db('public').resourceId, AutomationAssumeRole: s.roleArn }),
    advance: '30m',
    effect: async (c, s) => must((await db(c, s.db('public').id)).PubliclyAccessible === false, 'still PubliclyAccessible'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableMultiAZOnRDSInstance.yaml',
    name: 'Corpus-EnableMultiAZOnRDSInstance',
    parameters: (s) => ({ RDSInstanceARN: s.db('multiaz').arn, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const d = await db(c, s.db('multiaz').id);
      must(d.MultiAZ === true || d.PendingModifiedValues?.MultiAZ === true, 'MultiAZ not enabled or pending');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableCopyTagsToSnapshotOnRDSDBInstance.yaml',
    name: 'Corpus-EnableCopyTagsToSnapshotOnRDSDBInstance',
    parameters: (s) => ({ DbiResourceId: s.db('copytags').resourceId, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => must((await db(c, s.db('copytags').id)).CopyTagsToSnapshot === true, 'CopyTagsToSnapshot not true'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableRDSInstanceDeletionProtection.yaml',
    name: 'Corpus-EnableRDSInstanceDeletionProtection',
    parameters: (s) => ({ DbInstanceResourceId: s.db('protect').resourceId, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => must((await db(c, s.db('protect').id)).DeletionProtection === true, 'DeletionProtection not true'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableRDSInstanceBackup.yaml',
    name: 'Corpus-EnableRDSInstanceBackup',
    parameters: (s) => ({ DbiResourceId: s.db('backup').resourceId, BackupRetentionPeriod: 7, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const d = await db(c, s.db('backup').id);
      must(d.BackupRetentionPeriod === 7 || d.PendingModifiedValues?.BackupRetentionPeriod === 7, 'BackupRetentionPeriod not 7');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__MakeRDSSnapshotPrivate.yaml',
    name: 'Corpus-MakeRDSSnapshotPrivate',
    parameters: (s) => ({ DBSnapshotId: s.dbSnapshot('public'), DBSnapshotType: 'snapshot', AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const out = await c.rds.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: s.dbSnapshot('public') }));
      const restore = out.DBSnapshotAttributesResult?.DBSnapshotAttributes?.find((a) => a.AttributeName === 'restore');
      must(!(restore?.AttributeValues ?? []).includes('all'), 'snapshot still public');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableEbsEncryptionByDefault.yaml',
    name: 'Corpus-EnableEbsEncryptionByDefault',
    parameters: (s) => ({ AutomationAssumeRole: s.roleArn }),
    effect: async (c) => must((await c.ec2.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault === true, 'EBS encryption by default is off'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnforceEC2InstanceIMDSv2.yaml',
    name: 'Corpus-EnforceEC2InstanceIMDSv2',
    parameters: (s) => ({ InstanceId: s.instance('imds'), AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => must((await inst(c, s.instance('imds'))).MetadataOptions?.HttpTokens === 'required', 'HttpTokens not required'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableIMDSV2OnInstance.yaml',
    name: 'Corpus-EnableIMDSV2OnInstance',
    parameters: (s) => ({ InstanceARN: `arn:aws:ec2:${s.region}:${s.account}:instance/${s.instance('imds2')}`, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => must((await inst(c, s.instance('imds2'))).MetadataOptions?.HttpTokens === 'required', 'HttpTokens not required'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__MakeEBSSnapshotsPrivate.yaml',
    name: 'Corpus-MakeEBSSnapshotsPrivate',
    parameters: (s) => ({ AccountId: s.account, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const out = await c.ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: s.snapshot('public'), Attribute: 'createVolumePermission' }));
      must(!(out.CreateVolumePermissions ?? []).some((p) => p.Group === 'all'), 'snapshot still public');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__DisablePublicIPAutoAssign.yaml',
    name: 'Corpus-DisablePublicIPAutoAssign',
    parameters: (s) => ({ SubnetARN: s.subnetArn('public'), AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const subnet = (await c.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [s.subnetArn('public').split('/')[1]] }))).Subnets?.[0];
      must(subnet?.MapPublicIpOnLaunch === false, 'subnet still maps public IPs on launch');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__BlockSSMDocumentPublicAccess.yaml',
    name: 'Corpus-BlockSSMDocumentPublicAccess',
    parameters: (s) => ({ DocumentArn: s.documentArn('shared'), AutomationAssumeRole: s.roleArn }),
    effect: async (c) => {
      const out = await c.ssm.send(new DescribeDocumentPermissionCommand({ Name: 'Corpus-SharedDocument', PermissionType: 'Share' }));
      must(!(out.AccountIds ?? []).includes('all'), 'document still shared with all');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableEncryptionForSNSTopic.yaml',
    name: 'Corpus-EnableEncryptionForSNSTopic',
    parameters: (s) => ({ SNSTopicArn: s.topic('encrypt'), KmsKeyArn: `arn:aws:kms:${s.region}:${s.account}:key/0f0e0d0c-0b0a-4909-8807-060504030201`, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const attrs = (await c.sns.send(new GetTopicAttributesCommand({ TopicArn: s.topic('encrypt') }))).Attributes ?? {};
      must(attrs.KmsMasterKeyId === `arn:aws:kms:${s.region}:${s.account}:key/0f0e0d0c-0b0a-4909-8807-060504030201`, 'KmsMasterKeyId not set');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/awslabs__aws-StopEC2InstanceWithApproval.json',
    name: 'Corpus-StopEC2InstanceWithApproval',
    parameters: (s) => ({ InstanceId: [s.instance('approve-stop')], Approvers: [APPROVER], SNSTopicArn: s.topic('approval'), AutomationAssumeRole: s.roleArn }),
    approver: APPROVER,
    effect: async (c, s) => must((await inst(c, s.instance('approve-stop'))).State?.Name === 'stopped', 'instance not stopped'),
    expect: 'pass',
  },
  {
    file: 'corpus/awslabs__aws-StartEC2InstanceWithApproval.json',
    name: 'Corpus-StartEC2InstanceWithApproval',
    parameters: (s) => ({ InstanceId: [s.instance('approve-start')], Approvers: [APPROVER], SNSTopicArn: s.topic('approval'), AutomationAssumeRole: s.roleArn }),
    approver: APPROVER,
    effect: async (c, s) => must((await inst(c, s.instance('approve-start'))).State?.Name === 'running', 'instance not running'),
    expect: 'pass',
  },
  {
    file: 'corpus/awslabs__aws-TerminateEC2InstanceWithApproval.json',
    name: 'Corpus-TerminateEC2InstanceWithApproval',
    parameters: (s) => ({ InstanceId: [s.instance('approve-terminate')], Approvers: [APPROVER], SNSTopicArn: s.topic('approval'), AutomationAssumeRole: s.roleArn }),
    approver: APPROVER,
    effect: async (c, s) => must((await inst(c, s.instance('approve-terminate'))).State?.Name === 'terminated', 'instance not terminated'),
    expect: 'pass',
  },
  {
    file: 'corpus/asr__SetSSLBucketPolicy.yaml',
    name: 'Corpus-SetSSLBucketPolicy',
    parameters: (s) => ({ BucketName: s.bucket('ssl'), AccountId: s.account, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const policy = (await c.s3.send(new GetBucketPolicyCommand({ Bucket: s.bucket('ssl') }))).Policy ?? '';
      must(policy.includes('aws:SecureTransport'), 'no SecureTransport statement in the bucket policy');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__RemoveVPCDefaultSecurityGroupRules.yaml',
    name: 'Corpus-RemoveVPCDefaultSecurityGroupRules',
    parameters: (s) => ({ GroupId: s.securityGroup('default'), AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const group = (await c.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [s.securityGroup('default')] }))).SecurityGroups?.[0];
      must((group?.IpPermissions ?? []).length === 0 && (group?.IpPermissionsEgress ?? []).length === 0, 'default security group still has rules');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableSSMDocumentBlockPublicSharing.yaml',
    name: 'Corpus-EnableSSMDocumentBlockPublicSharing',
    parameters: (s) => ({ AccountId: s.account, AutomationAssumeRole: s.roleArn }),
    effect: async (c) => {
      const setting = await c.ssm.send(new GetServiceSettingCommand({ SettingId: '/ssm/documents/console/public-sharing-permission' }));
      must(setting.ServiceSetting?.SettingValue === 'Disable', 'public sharing not blocked');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EncryptRDSSnapshot.yaml',
    name: 'Corpus-EncryptRDSSnapshot',
    parameters: (s) => ({ SourceDBSnapshotIdentifier: s.dbSnapshot('plain'), TargetDBSnapshotIdentifier: s.dbSnapshot('encrypted'), DBSnapshotType: 'snapshot', AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const out = await c.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: s.dbSnapshot('encrypted') }));
      must(out.DBSnapshots?.[0]?.Encrypted === true, 'no encrypted copy');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__DisableUnrestrictedAccessToHighRiskPorts.yaml',
    name: 'Corpus-DisableUnrestrictedAccessToHighRiskPorts',
    parameters: (s) => ({ SecurityGroupId: s.securityGroup('ssh-open'), AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const rules = (await c.ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [s.securityGroup('ssh-open')] }] }))).SecurityGroupRules ?? [];
      must(!rules.some((r) => !r.IsEgress && r.CidrIpv4 === '0.0.0.0/0' && (r.FromPort ?? 0) <= 22 && 22 <= (r.ToPort ?? 0)), 'port 22 still open to 0.0.0.0/0');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/asr__EnableCopyTagsToSnapshotOnRDSCluster.yaml',
    name: 'Corpus-EnableCopyTagsToSnapshotOnRDSCluster',
    parameters: (s) => ({ RDSClusterARN: `arn:aws:rds:${s.region}:${s.account}:cluster:${s.dbCluster('cluster')}`, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const cluster = (await c.rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: s.dbCluster('cluster') }))).DBClusters?.[0];
      must(cluster?.CopyTagsToSnapshot === true, 'CopyTagsToSnapshot not true on the cluster');
    },
    expect: 'pass',
  },
  {
    file: 'corpus/awslabs__RestartInstanceWithApproval__aws-RestartEC2Instance.json',
    name: 'Corpus-RestartEC2InstanceWithApproval',
    parameters: (s) => ({ InstanceId: [s.instance('approve-restart')], Approvers: [APPROVER], SNSTopicArn: s.topic('approval'), AutomationAssumeRole: s.roleArn }),
    approver: APPROVER,
    effect: async (c, s) => must((await inst(c, s.instance('approve-restart'))).State?.Name === 'running', 'instance not running again'),
    expect: 'pass',
  },
  {
    file: 'corpus/digito__EBSRestoreFromBackup_2020-05-26.yml',
    name: 'Corpus-EBSRestoreFromBackup',
    parameters: (s) => ({ EBSSnapshotIdentifier: s.snapshot('backup'), TargetAvailabilityZone: `${s.region}a`, AutomationAssumeRole: s.roleArn }),
    effect: async (c, s) => {
      const volumes = (await c.ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'snapshot-id', Values: [s.snapshot('backup')] }] }))).Volumes ?? [];
      must(volumes.some((v) => v.State === 'available'), 'no available volume restored from the snapshot');
    },
    expect: 'pass',
  },
];
