import { hybridNodeRoleName } from '@opsauto/functions';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * The stage's IAM service role for hybrid nodes (`<app>-<stage>-hybrid-node`), the default role of enrollment
 * tokens: SSM assumes it for the servers that register with an activation (AWS's "IAM service role for a hybrid and
 * multicloud environment"), only for this account's SSM, and it grants what the SSM agent needs
 * (AmazonSSMManagedInstanceCore), nothing else.
 */
export function buildHybridNodeRole(scope: Construct, tableName: string): iam.Role {
  const { account, region, partition } = Stack.of(scope);
  return new iam.Role(scope, 'HybridNodeRole', {
    roleName: hybridNodeRoleName(tableName),
    description: 'SSM hybrid nodes registered through opsauto enrollment tokens',
    assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': account }, ArnEquals: { 'aws:SourceArn': `arn:${partition}:ssm:${region}:${account}:*` } },
    }),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
  });
}
