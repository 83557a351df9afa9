import { describe, expect, it } from 'vitest';
import {
  interpolate,
  InterpolationError,
  partitionOf,
  resolveVariable,
  type InterpolationContext,
} from '../../../packages/core/src/runbooks/interpolate.js';

// System variables: https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-variables.html

function context(over: Partial<InterpolationContext> = {}): InterpolationContext {
  return {
    parameters: {},
    stepOutputs: {},
    executionId: '1a2b3c-1a2b3c-1a2b3c-1a2b3c1a2b3c1a2b3c',
    accountId: '123456789012',
    region: 'us-east-2',
    now: new Date('2026-03-07T04:05:06.789Z'),
    ...over,
  };
}

function errorOf(fn: () => unknown): InterpolationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InterpolationError) return err;
    throw err;
  }
  throw new Error('expected an InterpolationError');
}

describe('interpolate', () => {
  it('names the image after the instance and the execution as AWS-CreateImage does', () => {
    // Prepare: the createImage step of test/fixtures/runbooks/AWS-CreateImage.json
    const inputs = { InstanceId: '{{ InstanceId }}', ImageName: '{{ InstanceId }}_{{automation:EXECUTION_ID}}', NoReboot: true };
    // Act
    const out = interpolate(inputs, context({ parameters: { InstanceId: 'i-0abc' }, executionId: 'exec-1' }));
    // Assess
    expect(out).toEqual({ InstanceId: 'i-0abc', ImageName: 'i-0abc_exec-1', NoReboot: true });
  });

  it('passes a StringList parameter whole into a list input as AWS-StopEC2Instance does', () => {
    // Prepare: "InstanceIds": "{{ InstanceId }}" with InstanceId of type StringList
    const inputs = { InstanceIds: '{{ InstanceId }}', DesiredState: 'stopped' };
    // Act
    const out = interpolate(inputs, context({ parameters: { InstanceId: ['i-1', 'i-2'] } }));
    // Assess
    expect(out).toEqual({ InstanceIds: ['i-1', 'i-2'], DesiredState: 'stopped' });
  });

  it('keeps the type of a number, boolean or map when the whole value is one reference', () => {
    const parameters = { Count: 3, Force: false, Tags: { Env: 'prod' }, Maps: [{ a: '1' }] };
    const out = interpolate({ MaxCount: '{{Count}}', Force: '{{ Force }}', Tags: '{{  Tags  }}', Maps: '{{ Maps }}' }, context({ parameters }));
    expect(out).toEqual({ MaxCount: 3, Force: false, Tags: { Env: 'prod' }, Maps: [{ a: '1' }] });
  });

  it('stringifies values referenced inside a longer string, lists and maps as JSON', () => {
    const parameters = { Count: 3, Force: true, Ids: ['i-1', 'i-2'], Tags: { Env: 'prod' } };
    const out = interpolate('n={{ Count }} f={{ Force }} ids={{ Ids }} tags={{ Tags }}', context({ parameters }));
    expect(out).toBe('n=3 f=true ids=["i-1","i-2"] tags={"Env":"prod"}');
  });

  it('does not take a value whole when the reference has text around it, even spaces', () => {
    expect(interpolate(' {{ Count }}', context({ parameters: { Count: 3 } }))).toBe(' 3');
  });

  it('splices a list into a list when a list item is exactly one reference to a list', () => {
    // runCommand: ["{{ commands }}"] with a StringList, as on https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-syntax-data-elements-parameters.html
    const out = interpolate({ runCommand: ['{{ commands }}'], Mixed: ['first', '{{ commands }}', 'x {{ commands }}'] }, context({ parameters: { commands: ['ls', 'pwd'] } }));
    expect(out).toEqual({ runCommand: ['ls', 'pwd'], Mixed: ['first', 'ls', 'pwd', 'x ["ls","pwd"]'] });
  });

  it('keeps a String parameter in a one-item list when a list item references it', () => {
    // The GetInstance filter on https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-branchdocs.html
    const out = interpolate({ Filters: [{ Key: 'InstanceIds', Values: ['{{ InstanceId }}'] }] }, context({ parameters: { InstanceId: 'i-1' } }));
    expect(out).toEqual({ Filters: [{ Key: 'InstanceIds', Values: ['i-1'] }] });
  });

  it('resolves a step output as {{ step.Output }}, typed when whole', () => {
    const stepOutputs = { getImageId: { ImageId: 'ami-1' }, describe: { 'Volume.Ids': ['vol-1'] } };
    const out = interpolate({ ImageId: '{{ getImageId.ImageId }}', Vols: '{{describe.Volume.Ids}}' }, context({ stepOutputs }));
    expect(out).toEqual({ ImageId: 'ami-1', Vols: ['vol-1'] });
  });

  it('prefers a parameter over a step output when a name could be either', () => {
    const out = interpolate('{{ a.b }}', context({ parameters: { 'a.b': 'param' }, stepOutputs: { a: { b: 'output' } } }));
    expect(out).toBe('param');
  });

  it('works through nested objects and arrays and leaves other values alone', () => {
    // Prepare: the PutBucketEncryption inputs of AWS-EnableS3BucketKeys
    const inputs = {
      Service: 's3',
      Api: 'PutBucketEncryption',
      Bucket: '{{ BucketName }}',
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: '{{ KmsKeyId }}' }, BucketKeyEnabled: true }],
      },
      Nothing: null,
      Count: 1,
    };
    // Act
    const out = interpolate(inputs, context({ parameters: { BucketName: 'b', KmsKeyId: 'alias/k' } }));
    // Assess
    expect(out).toEqual({
      ...inputs,
      Bucket: 'b',
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/k' }, BucketKeyEnabled: true }],
      },
    });
    expect(inputs.Bucket).toBe('{{ BucketName }}');
  });

  it('hands out copies so that changing the result leaves the parameters alone', () => {
    const parameters = { Ids: ['i-1'] };
    const out = interpolate({ Ids: '{{ Ids }}' }, context({ parameters })) as { Ids: string[] };
    out.Ids.push('i-2');
    expect(parameters.Ids).toEqual(['i-1']);
  });

  it('writes global:DATE as yyyy-MM-dd and global:DATE_TIME as yyyy-MM-dd_HH.mm.ss in UTC', () => {
    const out = interpolate('{{ global:DATE }} {{global:DATE_TIME}}', context({ now: new Date('2026-12-31T23:59:58.999Z') }));
    expect(out).toBe('2026-12-31 2026-12-31_23.59.58');
  });

  it('pads single-digit months, days and times in global:DATE_TIME', () => {
    expect(interpolate('{{ global:DATE_TIME }}', context())).toBe('2026-03-07_04.05.06');
  });

  it('resolves the image description example of the variables page', () => {
    // "ImageDescription": "Test CopyImage Description created on {{global:DATE}}"
    const out = interpolate({ ImageDescription: 'Test CopyImage Description created on {{global:DATE}}' }, context());
    expect(out).toEqual({ ImageDescription: 'Test CopyImage Description created on 2026-03-07' });
  });

  it('resolves the account, region, partition, URL suffix and both execution id variables', () => {
    const out = interpolate(
      ['{{ global:ACCOUNT_ID }}', '{{ global:REGION }}', '{{ global:AWS_PARTITION }}', '{{ global:AWS_URL_SUFFIX }}', '{{ automation:EXECUTION_ID }}', '{{ automation:AUTOMATION_EXECUTION_ID }}'],
      context({ executionId: 'e-9' }),
    );
    expect(out).toEqual(['123456789012', 'us-east-2', 'aws', 'amazonaws.com', 'e-9', 'e-9']);
  });

  it('derives the partition and URL suffix from a China or GovCloud region when none is given', () => {
    expect(interpolate('arn:{{ global:AWS_PARTITION }}:s3:::b {{ global:AWS_URL_SUFFIX }}', context({ region: 'cn-north-1' }))).toBe('arn:aws-cn:s3:::b amazonaws.com.cn');
    expect(interpolate('{{ global:AWS_PARTITION }}', context({ region: 'us-gov-west-1' }))).toBe('aws-us-gov');
    expect(interpolate('{{ global:AWS_PARTITION }}', context({ region: 'us-east-1', partition: 'aws-iso' }))).toBe('aws-iso');
  });

  it('names the variable and its path when a parameter is unknown', () => {
    // Act
    const err = errorOf(() => interpolate({ Filters: [{ Values: ['ok', '{{ Missing }}'] }] }, context(), { path: 'mainSteps[1].inputs' }));
    // Assess
    expect(err.variable).toBe('Missing');
    expect(err.path).toBe('mainSteps[1].inputs.Filters[0].Values[1]');
    expect(err.message).toBe('unknown variable {{ Missing }} at mainSteps[1].inputs.Filters[0].Values[1]');
  });

  it('fails on an unknown step output, an unknown global and an ssm: reference', () => {
    const ctx = context({ stepOutputs: { getImage: { ImageId: 'ami-1' } } });
    expect(errorOf(() => interpolate({ A: 'x {{ getImage.Name }}' }, ctx)).path).toBe('A');
    expect(errorOf(() => interpolate('{{ global:TIME }}', ctx)).variable).toBe('global:TIME');
    expect(errorOf(() => interpolate('{{ ssm:/my/param }}', ctx)).variable).toBe('ssm:/my/param');
    expect(errorOf(() => interpolate('{{ nostep.Output }}', ctx)).variable).toBe('nostep.Output');
  });

  it('leaves text with unbalanced braces as written', () => {
    expect(interpolate('{{ not closed', context())).toBe('{{ not closed');
  });
});

describe('resolveVariable', () => {
  it('returns undefined when a name is unknown instead of throwing', () => {
    expect(resolveVariable('global:REGION', context())).toBe('us-east-2');
    expect(resolveVariable('Nope', context())).toBeUndefined();
  });
});

describe('partitionOf', () => {
  it('maps region prefixes to partitions as the SDK endpoint rules do', () => {
    expect(partitionOf('eu-west-1')).toBe('aws');
    expect(partitionOf('cn-northwest-1')).toBe('aws-cn');
    expect(partitionOf('us-gov-east-1')).toBe('aws-us-gov');
    expect(partitionOf('us-iso-east-1')).toBe('aws-iso');
    expect(partitionOf('us-isob-east-1')).toBe('aws-iso-b');
  });
});
