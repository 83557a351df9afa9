import { describe, expect, it } from 'vitest';
import {
  evaluateSelector,
  matchesDesiredValues,
  SelectorError,
  normalizeSelector,
  selectorProblem,
  selectOutput,
  selectOutputs,
  selectProperty,
} from '../../../packages/core/src/runbooks/selector.js';

// The DescribeInstances response and JSONPath examples 1-6 of
// https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-aws-apis-calling.html
const describeInstances = {
  NextToken: 'abcdefg',
  Reservations: [
    {
      OwnerId: '123456789012',
      ReservationId: 'r-abcd12345678910',
      Instances: [
        {
          ImageId: 'ami-12345678',
          BlockDeviceMappings: [{ Ebs: { DeleteOnTermination: true, Status: 'attached', VolumeId: 'vol-000000000000' }, DeviceName: '/dev/xvda' }],
          State: { Code: 16, Name: 'running' },
        },
      ],
      Groups: [],
    },
    {
      OwnerId: '123456789012',
      ReservationId: 'r-12345678910abcd',
      Instances: [
        {
          ImageId: 'ami-12345678',
          BlockDeviceMappings: [{ Ebs: { DeleteOnTermination: true, Status: 'attached', VolumeId: 'vol-111111111111' }, DeviceName: '/dev/xvda' }],
          State: { Code: 80, Name: 'stopped' },
        },
      ],
      Groups: [],
    },
  ],
};

describe('selectOutput', () => {
  it('gets a String (example 1)', () => {
    expect(selectOutput(describeInstances, { Name: 'ImageId', Selector: '$.Reservations[0].Instances[0].ImageId', Type: 'String' })).toBe('ami-12345678');
  });

  it('gets a Boolean (example 2)', () => {
    const selector = '$.Reservations[0].Instances[0].BlockDeviceMappings[0].Ebs.DeleteOnTermination';
    expect(selectOutput(describeInstances, { Selector: selector, Type: 'Boolean' })).toBe(true);
  });

  it('gets an Integer (example 3)', () => {
    expect(selectOutput(describeInstances, { Selector: '$.Reservations[0].Instances[0].State.Code', Type: 'Integer' })).toBe(16);
  });

  it('deep-scans for every VolumeId as a StringList (example 4)', () => {
    const out = selectOutput(describeInstances, { Selector: '$.Reservations..BlockDeviceMappings..VolumeId', Type: 'StringList' });
    expect(out).toEqual(['vol-000000000000', 'vol-111111111111']);
  });

  it('gets a BlockDeviceMappings object as a StringMap (example 5)', () => {
    const out = selectOutput(describeInstances, { Selector: '$.Reservations[0].Instances[0].BlockDeviceMappings[0]', Type: 'StringMap' });
    expect(out).toEqual({ Ebs: { DeleteOnTermination: true, Status: 'attached', VolumeId: 'vol-000000000000' }, DeviceName: '/dev/xvda' });
  });

  it('deep-scans for every State object as a MapList (example 6)', () => {
    const out = selectOutput(describeInstances, { Selector: '$.Reservations..Instances..State', Type: 'MapList' });
    expect(out).toEqual([
      { Code: 16, Name: 'running' },
      { Code: 80, Name: 'stopped' },
    ]);
  });

  it('takes the first match when a String selector matches several values', () => {
    expect(selectOutput(describeInstances, { Selector: '$.Reservations..State.Name', Type: 'String' })).toBe('running');
  });

  it('takes the items of a single matched list for StringList and MapList', () => {
    const response = { ImageIds: ['ami-1', 'ami-2'], Images: [{ ImageId: 'ami-1' }, { ImageId: 'ami-2' }] };
    expect(selectOutput(response, { Selector: '$.ImageIds', Type: 'StringList' })).toEqual(['ami-1', 'ami-2']);
    expect(selectOutput(response, { Selector: '$.Images', Type: 'MapList' })).toEqual(response.Images);
    expect(selectOutput(response, { Selector: '$.Images..ImageId', Type: 'StringList' })).toEqual(['ami-1', 'ami-2']);
  });

  it('selects from a Lambda-style { Payload } response', () => {
    const response = { StatusCode: 200, Payload: { result: 'ok', count: '7' } };
    expect(selectOutput(response, { Selector: '$.Payload', Type: 'StringMap' })).toEqual({ result: 'ok', count: '7' });
    expect(selectOutput(response, { Selector: '$.Payload.count', Type: 'Integer' })).toBe(7);
  });

  it('turns numbers and booleans into text for String and StringList, booleans as True/False', () => {
    expect(selectOutput(describeInstances, { Selector: '$.Reservations[0].Instances[0].State.Code', Type: 'String' })).toBe('16');
    expect(selectOutput(describeInstances, { Selector: '$..DeleteOnTermination', Type: 'StringList' })).toEqual(['True', 'True']);
  });

  it('turns numeric text into an Integer and true/false text into a Boolean', () => {
    const response = { Size: '50', Enabled: 'false' };
    expect(selectOutput(response, { Selector: '$.Size', Type: 'Integer' })).toBe(50);
    expect(selectOutput(response, { Selector: '$.Enabled', Type: 'Boolean' })).toBe(false);
  });

  it('fails naming the output when the selected value does not fit the type', () => {
    const cases = [
      { Name: 'Reservation', Selector: '$.Reservations[0]', Type: 'String' },
      { Name: 'Name', Selector: '$.Reservations[0].Instances[0].State.Name', Type: 'Integer' },
      { Name: 'Code', Selector: '$.Reservations[0].Instances[0].State.Code', Type: 'Boolean' },
      { Name: 'States', Selector: '$.Reservations..State', Type: 'StringList' },
      { Name: 'Names', Selector: '$.Reservations..State.Name', Type: 'MapList' },
      { Name: 'Groups', Selector: '$.Reservations[0].Groups', Type: 'StringMap' },
      { Name: 'Float', Selector: '$.NextToken', Type: 'Float' },
    ];
    for (const output of cases) {
      expect(() => selectOutput(describeInstances, output), output.Name).toThrow(SelectorError);
    }
    expect(() => selectOutput(describeInstances, cases[1])).toThrow('output Name (Integer): selected string "running", not a whole number');
  });

  it('returns undefined for a single value and [] for a list when nothing matches', () => {
    expect(selectOutput(describeInstances, { Selector: '$.Reservations[5].Instances[0].ImageId', Type: 'String' })).toBeUndefined();
    expect(selectOutput(describeInstances, { Selector: '$..Missing', Type: 'StringList' })).toEqual([]);
    expect(selectOutput(undefined, { Selector: '$.ImageId', Type: 'String' })).toBeUndefined();
  });

  it('returns copies so that changing an output leaves the response alone', () => {
    const out = selectOutput(describeInstances, { Selector: '$.Reservations[0].Instances[0].State', Type: 'StringMap' }) as Record<string, unknown>;
    out.Name = 'changed';
    expect(describeInstances.Reservations[0].Instances[0].State.Name).toBe('running');
  });
});

describe('selectOutputs', () => {
  it('collects outputs by name and leaves out those that matched nothing', () => {
    // Prepare: the outputs of the describeInstance step on https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-branchdocs.html
    const outputs = [
      { Name: 'ImageId', Selector: '$.Reservations[0].Instances[0].ImageId', Type: 'String' },
      { Name: 'Platform', Selector: '$.Reservations[0].Instances[0].Platform', Type: 'String' },
    ];
    // Act / Assess
    expect(selectOutputs(describeInstances, outputs)).toEqual({ ImageId: 'ami-12345678' });
  });
});

describe('evaluateSelector', () => {
  it('reads a selector written without $. as AWS does', () => {
    expect(evaluateSelector(describeInstances, 'Reservations[1].ReservationId')).toEqual(['r-12345678910abcd']);
    expect(evaluateSelector({ Attributes: { KmsMasterKeyId: 'alias/aws/sns' } }, 'Attributes.KmsMasterKeyId')).toEqual(['alias/aws/sns']);
    expect(selectOutput({ Payload: { result: 'ok' } }, { Selector: 'Payload.result', Type: 'String' })).toBe('ok');
    expect(normalizeSelector('[0].Id')).toBe('$[0].Id');
  });

  const volumes = {
    Volumes: [
      { VolumeId: 'vol-1', State: 'available', Size: 8, Encrypted: false },
      { VolumeId: 'vol-2', State: 'in-use', Size: 100, Encrypted: true, KmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k' },
      { VolumeId: 'vol-3', State: 'available', Size: '500', Encrypted: true, KmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k' },
    ],
  };

  it('evaluates filter expressions: ==, !=, <, >, &&, ||, ! and existence', () => {
    expect(evaluateSelector(volumes, "$.Volumes[?(@.State=='available')].VolumeId")).toEqual(['vol-1', 'vol-3']);
    expect(evaluateSelector(volumes, "$.Volumes[?(@.State != 'available')].VolumeId")).toEqual(['vol-2']);
    expect(evaluateSelector(volumes, '$.Volumes[?(@.Size > 50)].VolumeId')).toEqual(['vol-2']);
    expect(evaluateSelector(volumes, '$.Volumes[?(@.Size < 50)].VolumeId')).toEqual(['vol-1']);
    expect(evaluateSelector(volumes, "$.Volumes[?(@.State == 'available' && @.Encrypted)].VolumeId")).toEqual(['vol-3']);
    expect(evaluateSelector(volumes, "$.Volumes[?(@.State == 'in-use' || @.Size == 8)].VolumeId")).toEqual(['vol-1', 'vol-2']);
    expect(evaluateSelector(volumes, '$.Volumes[?(@.KmsKeyId)].VolumeId')).toEqual(['vol-2', 'vol-3']);
    expect(evaluateSelector(volumes, '$.Volumes[?(!@.KmsKeyId)].VolumeId')).toEqual(['vol-1']);
    // A number and its text compare equal (AWS gives some numbers as text); order needs two of a kind.
    expect(evaluateSelector(volumes, '$.Volumes[?(@.Size == 500)].VolumeId')).toEqual(['vol-3']);
    expect(selectOutput(volumes, { Selector: "Volumes[?(@.State=='available')].VolumeId", Type: 'StringList' })).toEqual(['vol-1', 'vol-3']);
  });

  it('refuses script expressions and filters that would run code, naming what they use', () => {
    const refused = (selector: string) => {
      try {
        evaluateSelector(volumes, selector);
      } catch (error) {
        expect(error).toBeInstanceOf(SelectorError);
        return (error as Error).message;
      }
      throw new Error(`${selector} was evaluated`);
    };
    expect(refused('$.Volumes[(@.length-1)]')).toContain('script expressions [(…)] are not allowed');
    expect(refused("$.Volumes[?(@.State.constructor('return 1')())]")).toContain('uses a function call, which is not allowed');
    expect(refused('$.Volumes[?(@.VolumeId.repeat(1e9))]')).toContain('uses a function call');
    expect(refused('$.Volumes[?(@.Size + 1 > 2)]')).toContain('uses the operator +');
    expect(refused('$.Volumes[?(process.exit(1))]')).toContain('uses a function call');
    expect(refused('$.Volumes[?(globalThis)]')).toContain('uses the name globalThis');
    expect(refused('$.Volumes[?(@.a = 1)]')).toContain('is not an expression');
    expect(selectorProblem('')).toBe('must be a JSONPath selector (with or without $.)');
  });

  it('reads only the data\'s own fields in a filter, never JavaScript\'s', () => {
    expect(evaluateSelector(volumes, '$.Volumes[?(@.constructor)].VolumeId')).toEqual([]);
    expect(evaluateSelector(volumes, '$.Volumes[?(@.__proto__)].VolumeId')).toEqual([]);
    expect(evaluateSelector({ Items: [{ constructor: 'own' }] }, "$.Items[?(@.constructor == 'own')].constructor")).toEqual(['own']);
  });

  it('supports wildcards, bracket keys and negative slices beyond the documented subset', () => {
    expect(evaluateSelector(describeInstances, '$.Reservations[*].Instances[*].State.Name')).toEqual(['running', 'stopped']);
    expect(evaluateSelector(describeInstances, "$['Reservations'][1].ReservationId")).toEqual(['r-12345678910abcd']);
    expect(evaluateSelector(describeInstances, '$.Reservations[-1:].ReservationId')).toEqual(['r-12345678910abcd']);
  });
});

describe('selectProperty', () => {
  it('returns the status AWS-StopRdsInstance waits on', () => {
    // Prepare: PropertySelector of test/fixtures/runbooks/AWS-StopRdsInstance.yaml
    const response = { DBInstances: [{ DBInstanceIdentifier: 'db-1', DBInstanceStatus: 'stopping' }] };
    // Act
    const values = selectProperty(response, '$.DBInstances[0].DBInstanceStatus');
    // Assess
    expect(values).toEqual(['stopping']);
    expect(matchesDesiredValues(values, ['stopped', 'stopping'])).toBe(true);
    expect(matchesDesiredValues(values, ['stopped'])).toBe(false);
  });

  it('returns every value of a deep scan and the items of a matched list', () => {
    expect(selectProperty(describeInstances, '$.Reservations..Instances..State.Name')).toEqual(['running', 'stopped']);
    expect(selectProperty({ Ids: ['a', 'b'] }, '$.Ids')).toEqual(['a', 'b']);
    expect(selectProperty({}, '$.Missing')).toEqual([]);
  });
});

describe('matchesDesiredValues', () => {
  it('matches when every selected value is desired and fails when one is not', () => {
    const states = selectProperty(describeInstances, '$.Reservations..State.Name');
    expect(matchesDesiredValues(states, ['running', 'stopped'])).toBe(true);
    expect(matchesDesiredValues(states, ['stopped'])).toBe(false);
  });

  it('does not match when the selector found nothing', () => {
    expect(matchesDesiredValues([], ['running'])).toBe(false);
  });

  it('compares a selected boolean with "True" as AWS-EnableS3BucketKeys expects', () => {
    // Prepare: VerifyS3BucketKeysEnabled of test/fixtures/runbooks/AWS-EnableS3BucketKeys.yml
    const response = { ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] } };
    // Act
    const values = selectProperty(response, '$.ServerSideEncryptionConfiguration.Rules[0].BucketKeyEnabled');
    // Assess
    expect(matchesDesiredValues(values, ['True'])).toBe(true);
    expect(matchesDesiredValues(values, [true])).toBe(true);
    expect(matchesDesiredValues(values, ['true'])).toBe(false);
  });

  it('compares numbers as text', () => {
    expect(matchesDesiredValues([16], ['16'])).toBe(true);
    expect(matchesDesiredValues(['16'], [16])).toBe(true);
  });

  it('never matches maps or null', () => {
    expect(matchesDesiredValues([{ Name: 'running' }], ['running'])).toBe(false);
    expect(matchesDesiredValues([null], ['null'])).toBe(false);
  });
});
