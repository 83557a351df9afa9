import { describe, expect, it } from 'vitest';
import { emulatedOperations } from '@opsauto/localcloud';
import { ec2 } from '../../packages/localcloud/src/services/ec2.js';

describe('emulatedOperations', () => {
  it("lists every operation of the services' operation maps as service:Operation", () => {
    // Act
    const ops = emulatedOperations();
    // Assess
    expect(ops).toEqual(expect.arrayContaining(['ec2:DescribeInstances', 'ssm:GetDocument', 'rds:StopDBInstance', 's3:PutBucketEncryption', 'sns:Publish', 'sts:AssumeRole']));
    for (const op of Object.keys(ec2.operations)) expect(ops).toContain(`ec2:${op}`);
    expect(new Set(ops).size).toBe(ops.length);
  });
});
