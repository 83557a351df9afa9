/**
 * AWS CloudFormation (query protocol): DescribeStacks, as much as `sst build` needs to synthesise offline.
 *
 * Before it synthesises, SST v2 (node_modules/sst/bootstrap.js) asks for two stacks: `CDKToolkit` (the CDK
 * bootstrap: a complete status and outputs `BootstrapVersion` >= 14 and `BucketName`) and `SSTBootstrap`
 * (outputs `Version` 7.4 and `BucketName`). When either is missing it deploys it, which cannot work without AWS.
 * So every account and region of localcloud is bootstrapped: those two stacks exist, CREATE_COMPLETE since the
 * first time the region is asked about. Any other stack does not exist (no CreateStack here), which DescribeStacks
 * answers as AWS does: ValidationError "Stack with id X does not exist".
 */
import { AwsError } from '../errors.js';
import type { QueryTree } from '../protocols/query.js';
import type { RequestContext, ServiceDefinition } from './types.js';

/** The bootstrap stacks' versions: CDK bootstrap template of aws-cdk-lib 2.224 (`CdkBootstrapVersion` 28), SST 2's `LATEST_VERSION`. */
export const CDK_BOOTSTRAP_VERSION = '28';
export const SST_BOOTSTRAP_VERSION = '7.4';
const CDK_QUALIFIER = 'hnb659fds';

interface CloudFormationState {
  /** When the region's bootstrap stacks were "created": the first call that looked at them. */
  bootstrappedAt: string;
}

interface StackView {
  StackName: string;
  StackId: string;
  Description: string;
  CreationTime: string;
  StackStatus: string;
  DisableRollback: boolean;
  Capabilities: string[];
  Outputs: { OutputKey: string; OutputValue: string; Description?: string; ExportName?: string }[];
  Tags: { Key: string; Value: string }[];
  EnableTerminationProtection: boolean;
  DriftInformation: { StackDriftStatus: string };
}

function bootstrapStacks(ctx: RequestContext): StackView[] {
  const { bootstrappedAt } = ctx.store.scope<CloudFormationState>('cloudformation', ctx.account, ctx.region, () => {
    // A read that creates state: the server persists only after mutating calls, so ask for it here.
    ctx.store.changed();
    return { bootstrappedAt: ctx.clock.now().toISOString() };
  });
  const stackId = (name: string, id: string) => `arn:aws:cloudformation:${ctx.region}:${ctx.account}:stack/${name}/${id}`;
  const common = {
    CreationTime: bootstrappedAt,
    StackStatus: 'CREATE_COMPLETE',
    DisableRollback: false,
    Capabilities: ['CAPABILITY_NAMED_IAM'],
    Tags: [],
    EnableTerminationProtection: false,
    DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
  };
  const cdkBucket = `cdk-${CDK_QUALIFIER}-assets-${ctx.account}-${ctx.region}`;
  const sstBucket = `sstbootstrap-${ctx.region.replaceAll('-', '')}-${ctx.account}`;
  return [
    {
      ...common,
      StackName: 'CDKToolkit',
      StackId: stackId('CDKToolkit', '00000000-0000-4000-8000-00000000cdk0'),
      Description: 'This stack includes resources needed to deploy AWS CDK apps into this environment',
      Outputs: [
        { OutputKey: 'BucketName', OutputValue: cdkBucket, Description: 'The name of the S3 bucket owned by the CDK toolkit stack' },
        { OutputKey: 'BucketDomainName', OutputValue: `${cdkBucket}.s3.${ctx.region}.amazonaws.com`, Description: 'The domain name of the S3 bucket owned by the CDK toolkit stack' },
        { OutputKey: 'ImageRepositoryName', OutputValue: `cdk-${CDK_QUALIFIER}-container-assets-${ctx.account}-${ctx.region}`, Description: 'The name of the ECR repository which hosts docker image assets' },
        { OutputKey: 'BootstrapVersion', OutputValue: CDK_BOOTSTRAP_VERSION, Description: 'The version of the bootstrap resources that are currently mastered in this stack' },
      ],
    },
    {
      ...common,
      StackName: 'SSTBootstrap',
      StackId: stackId('SSTBootstrap', '00000000-0000-4000-8000-00000000557b'),
      Description: 'This stack includes resources needed to deploy SST apps into this environment',
      Outputs: [
        { OutputKey: 'Version', OutputValue: SST_BOOTSTRAP_VERSION },
        { OutputKey: 'BucketName', OutputValue: sstBucket },
      ],
    },
  ];
}

function describeStacks(input: QueryTree, ctx: RequestContext) {
  const name = typeof input.StackName === 'string' ? input.StackName : undefined;
  const stacks = bootstrapStacks(ctx);
  if (name === undefined) return { Stacks: stacks };
  // A stack is named by its name or its stack id (ARN).
  const stack = stacks.find((s) => s.StackName === name || s.StackId === name);
  if (!stack) throw new AwsError('ValidationError', `Stack with id ${name} does not exist`);
  return { Stacks: [stack] };
}

export const cloudformation: ServiceDefinition = {
  name: 'cloudformation',
  protocol: 'query',
  xmlns: 'http://cloudformation.amazonaws.com/doc/2010-05-15/',
  operations: {
    DescribeStacks: describeStacks,
  },
};
