import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRunbook, runbookIamActions } from '@opsauto/core';
import { actionScope, scopedStatements } from '../../stacks/runbook-roles.js';

// The resources a runbook role is granted Run Command on (no synth: the scope table alone).

const context = { partition: 'aws', account: '123456789012', regions: ['us-east-1', 'eu-west-1'] };

describe('runbook role scope for Run Command', () => {
  it('grants ssm:SendCommand on documents (AWS\'s and the account\'s) and on instances and managed nodes of the configured regions', () => {
    // Act
    const scope = actionScope('ssm:SendCommand', context);
    // Assess
    expect(scope.resources).toEqual([
      'arn:aws:ssm:us-east-1::document/*',
      'arn:aws:ssm:us-east-1:123456789012:document/*',
      'arn:aws:ec2:us-east-1:123456789012:instance/*',
      'arn:aws:ssm:us-east-1:123456789012:managed-instance/*',
      'arn:aws:ssm:eu-west-1::document/*',
      'arn:aws:ssm:eu-west-1:123456789012:document/*',
      'arn:aws:ec2:eu-west-1:123456789012:instance/*',
      'arn:aws:ssm:eu-west-1:123456789012:managed-instance/*',
    ]);
  });

  it('grants the reads of commands and invocations on *, which they support only', () => {
    // Assess
    expect(actionScope('ssm:ListCommands', context).resources).toEqual(['*']);
    expect(actionScope('ssm:ListCommandInvocations', context).resources).toEqual(['*']);
  });
});

describe('runbook role scope for RDS', () => {
  it('grants Aurora cluster actions on cluster ARNs and DB instance actions on db ARNs of the configured regions and account', () => {
    // Act
    const cluster = ['rds:DescribeDBClusters', 'rds:StartDBCluster', 'rds:StopDBCluster'].map((a) => actionScope(a, context).resources);
    const instance = actionScope('rds:StartDBInstance', context).resources;
    // Assess
    for (const resources of cluster) expect(resources).toEqual(['arn:aws:rds:us-east-1:123456789012:cluster:*', 'arn:aws:rds:eu-west-1:123456789012:cluster:*']);
    expect(instance).toEqual(['arn:aws:rds:us-east-1:123456789012:db:*', 'arn:aws:rds:eu-west-1:123456789012:db:*']);
  });
});

describe('runbook roles of the office-hours AWS documents', () => {
  const documents = fileURLToPath(new URL('../../packages/localcloud/aws-documents/', import.meta.url));
  const actionsOf = (name: string) => runbookIamActions(parseRunbook(readFileSync(`${documents}${name}.yaml`, 'utf8'), { name }));

  it('derives the actions of AWS-StartRdsInstance and AWS-StartStopAuroraCluster from their steps and scopes each to db or cluster ARNs', () => {
    // Act
    const startRds = actionsOf('AWS-StartRdsInstance');
    const aurora = actionsOf('AWS-StartStopAuroraCluster');
    const statements = scopedStatements([...startRds, ...aurora], context).map((s) => s.toStatementJson() as { Action: string | string[]; Resource: string | string[] });
    // Assess
    expect(startRds).toEqual(['rds:DescribeDBInstances', 'rds:StartDBInstance']);
    expect(aurora).toEqual(['rds:DescribeDBClusters', 'rds:StartDBCluster', 'rds:StopDBCluster']);
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['rds:DescribeDBInstances', 'rds:StartDBInstance'], Resource: ['arn:aws:rds:us-east-1:123456789012:db:*', 'arn:aws:rds:eu-west-1:123456789012:db:*'] },
      { Effect: 'Allow', Action: ['rds:DescribeDBClusters', 'rds:StartDBCluster', 'rds:StopDBCluster'], Resource: ['arn:aws:rds:us-east-1:123456789012:cluster:*', 'arn:aws:rds:eu-west-1:123456789012:cluster:*'] },
    ]);
  });
});
