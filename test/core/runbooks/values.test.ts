import { describe, expect, it } from 'vitest';
import { ValidationError } from '@opsauto/core';
import {
  baseTypeOf,
  coerceParameterValue,
  parseParameterAssignments,
  ParameterValueError,
  resolveParameters,
  type ParameterSpec,
} from '../../../packages/core/src/runbooks/values.js';

// Parameter types and fields: https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-syntax-data-elements-parameters.html

function errorOf(fn: () => unknown): ParameterValueError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParameterValueError) return err;
    throw err;
  }
  throw new Error('expected a ParameterValueError');
}

describe('baseTypeOf', () => {
  it('maps AWS:: typed names to String and List<AWS::…> to StringList when the document uses them', () => {
    expect(baseTypeOf('AWS::IAM::Role::Arn')).toBe('String');
    expect(baseTypeOf('AWS::S3::Bucket::Name')).toBe('String');
    expect(baseTypeOf('List<AWS::EC2::Instance::Id>')).toBe('StringList');
    expect(baseTypeOf('MapList')).toBe('MapList');
  });

  it('returns undefined when the type is not one Automation knows', () => {
    expect(baseTypeOf('string')).toBeUndefined();
    expect(baseTypeOf('List<String>')).toBeUndefined();
    expect(baseTypeOf('AWS::')).toBeUndefined();
  });
});

describe('resolveParameters', () => {
  it('resolves the parameters of AWS-EnableS3BucketKeys when only the required bucket is given', () => {
    // Prepare: the declarations of test/fixtures/runbooks/AWS-EnableS3BucketKeys.yml
    const declared: Record<string, ParameterSpec> = {
      AutomationAssumeRole: { type: 'AWS::IAM::Role::Arn', default: '' },
      BucketName: { type: 'AWS::S3::Bucket::Name' },
      KmsKeyId: {
        type: 'String',
        default: '',
        allowedPattern:
          '^$|^[a-z0-9-]{1,2048}$|^mrk-[a-z0-9]{1,2044}$|^alias\\/.{1,250}$|^arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:\\d{12}:key\\/[a-z0-9-]{1,1992}$|^arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:\\d{12}:key\\/mrk-[a-z0-9]{1,1988}$|^arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:\\d{12}:alias\\/.{1,1990}$',
      },
    };
    // Act
    const values = resolveParameters(declared, { BucketName: 'my-bucket' });
    // Assess
    expect(values).toEqual({ AutomationAssumeRole: '', BucketName: 'my-bucket', KmsKeyId: '' });
  });

  it('checks a given value against an allowedPattern written with Java identity escapes', () => {
    const declared = { KmsKeyId: { type: 'String', allowedPattern: '^$|^alias\\/.{1,250}$' } };
    expect(resolveParameters(declared, { KmsKeyId: 'alias/my-key' })).toEqual({ KmsKeyId: 'alias/my-key' });
    expect(errorOf(() => resolveParameters(declared, { KmsKeyId: 'not an alias' })).message).toContain('does not match the allowed pattern');
  });

  it('names the parameter when a required one (no default) is not given', () => {
    // Act
    const err = errorOf(() => resolveParameters({ InstanceId: { type: 'String' } }, {}));
    // Assess
    expect(err.fields).toEqual(['InstanceId']);
    expect(err.field).toBe('InstanceId');
    expect(err.message).toBe('parameter InstanceId is required (it has no default) but was not given');
    expect(err).toBeInstanceOf(ValidationError);
  });

  it('reports every problem at once when several parameters are wrong', () => {
    const declared = { A: { type: 'String' }, B: { type: 'Integer' }, C: { type: 'Boolean' } };
    const err = errorOf(() => resolveParameters(declared, { B: 'x', C: 'maybe', D: '1' }));
    expect(err.fields.sort()).toEqual(['A', 'B', 'C', 'D']);
    expect(err.problems).toHaveLength(4);
  });

  it('rejects a parameter the document does not declare', () => {
    const err = errorOf(() => resolveParameters({}, { Stray: 'x' }));
    expect(err.problems).toEqual([{ field: 'Stray', message: 'parameter Stray is not declared by the document' }]);
  });

  it('rejects a declaration whose type Automation does not know', () => {
    const err = errorOf(() => resolveParameters({ P: { type: 'Float', default: 1.5 } }, {}));
    expect(err.message).toContain('unsupported type "Float"');
  });

  it('uses the default when the value is not given and the given value when it is', () => {
    const declared = { Count: { type: 'Integer', default: 2 } };
    expect(resolveParameters(declared, {})).toEqual({ Count: 2 });
    expect(resolveParameters(declared, { Count: 5 })).toEqual({ Count: 5 });
    expect(resolveParameters(declared, { Count: undefined })).toEqual({ Count: 2 });
  });

  it('splits a StringList given on the command line at commas and trims the items', () => {
    const values = resolveParameters({ InstanceId: { type: 'StringList' } }, { InstanceId: 'i-1, i-2,i-3' });
    expect(values.InstanceId).toEqual(['i-1', 'i-2', 'i-3']);
  });

  it('parses a StringList given as a JSON array so that items may hold commas', () => {
    const values = resolveParameters({ commands: { type: 'StringList' } }, { commands: '["echo a,b", "pwd"]' });
    expect(values.commands).toEqual(['echo a,b', 'pwd']);
  });

  it('takes a StringList given as a JSON list of strings, and an empty string as an empty list', () => {
    const declared = { Ids: { type: 'List<AWS::EC2::Instance::Id>' } };
    expect(resolveParameters(declared, { Ids: ['i-1', 'i-2'] }).Ids).toEqual(['i-1', 'i-2']);
    expect(resolveParameters(declared, { Ids: '' }).Ids).toEqual([]);
    expect(errorOf(() => resolveParameters(declared, { Ids: ['i-1', 2] })).message).toContain('must be a list of strings, found number 2');
  });

  it('coerces Integer text from the command line and rejects decimals and words', () => {
    const declared = { Count: { type: 'Integer' } };
    expect(resolveParameters(declared, { Count: '42' }).Count).toBe(42);
    expect(resolveParameters(declared, { Count: '-3' }).Count).toBe(-3);
    expect(errorOf(() => resolveParameters(declared, { Count: '3.14159' })).message).toContain('must be a whole number');
    expect(errorOf(() => resolveParameters(declared, { Count: 3.5 })).message).toContain('must be a whole number');
    expect(errorOf(() => resolveParameters(declared, { Count: 'ten' })).message).toContain('must be a whole number');
  });

  it('coerces Boolean text from the command line and rejects 0 and other words', () => {
    const declared = { Force: { type: 'Boolean' } };
    expect(resolveParameters(declared, { Force: 'true' }).Force).toBe(true);
    expect(resolveParameters(declared, { Force: 'False' }).Force).toBe(false);
    expect(resolveParameters(declared, { Force: false }).Force).toBe(false);
    expect(errorOf(() => resolveParameters(declared, { Force: 0 })).message).toContain('must be true or false');
    expect(errorOf(() => resolveParameters(declared, { Force: 'yes' })).message).toContain('must be true or false');
  });

  it('rejects a number for a String parameter rather than guessing its text', () => {
    expect(errorOf(() => resolveParameters({ Name: { type: 'String' } }, { Name: 5 })).message).toBe(
      'parameter Name (String) value must be a string, got number 5',
    );
  });

  it('parses StringMap and MapList given as JSON text', () => {
    const declared = { Tags: { type: 'StringMap' }, Mappings: { type: 'MapList' } };
    const values = resolveParameters(declared, { Tags: '{"Env":"Prod"}', Mappings: '[{"DeviceName":"/dev/sda1","Ebs":{"VolumeSize":"50"}}]' });
    expect(values).toEqual({ Tags: { Env: 'Prod' }, Mappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: '50' } }] });
  });

  it('takes the MapList default of the AWS documentation example and copies it', () => {
    // Prepare: the blockDeviceMappings example of the parameter types page
    const defaults = [
      { DeviceName: '/dev/sda1', Ebs: { VolumeSize: '50' } },
      { DeviceName: '/dev/sdm', Ebs: { VolumeSize: '100' } },
    ];
    // Act
    const values = resolveParameters({ blockDeviceMappings: { type: 'MapList', default: defaults, maxItems: 2 } }, {});
    // Assess
    expect(values.blockDeviceMappings).toEqual(defaults);
    expect(values.blockDeviceMappings).not.toBe(defaults);
  });

  it('rejects a StringMap that is not a JSON object and a MapList item that is not a map', () => {
    const declared = { Tags: { type: 'StringMap' }, Mappings: { type: 'MapList' } };
    const err = errorOf(() => resolveParameters(declared, { Tags: '["a"]', Mappings: [{ a: 1 }, 'b'] }));
    expect(err.problems.map((p) => p.field)).toEqual(['Tags', 'Mappings']);
  });

  it('accepts StartAutomationExecution-style one-element string lists for single values', () => {
    const declared = { Id: { type: 'String' }, Count: { type: 'Integer' }, Tags: { type: 'StringMap' }, Maps: { type: 'MapList' } };
    const values = resolveParameters(declared, { Id: ['i-1'], Count: ['3'], Tags: ['{"a":"b"}'], Maps: ['{"a":"1"}', '{"b":"2"}'] });
    expect(values).toEqual({ Id: 'i-1', Count: 3, Tags: { a: 'b' }, Maps: [{ a: '1' }, { b: '2' }] });
    expect(resolveParameters({ Maps: { type: 'MapList' } }, { Maps: ['[{"a":"1"}]'] }).Maps).toEqual([{ a: '1' }]);
  });

  it('rejects a value that is not one of allowedValues, for each StringList item too', () => {
    // Prepare: the DirectoryType example of the parameter types page
    const declared = { DirectoryType: { type: 'String', default: 'AwsMad', allowedValues: ['AdConnector', 'AwsMad', 'SimpleAd'] } };
    // Act / Assess
    expect(resolveParameters(declared, { DirectoryType: 'SimpleAd' }).DirectoryType).toBe('SimpleAd');
    expect(errorOf(() => resolveParameters(declared, { DirectoryType: 'Other' })).message).toContain('is not one of the allowed values');
    const list = { States: { type: 'StringList', allowedValues: ['running', 'stopped'] } };
    expect(errorOf(() => resolveParameters(list, { States: 'running,pending' })).message).toContain('"pending" is not one of the allowed values');
  });

  it('compares Integer and Boolean values with allowedValues by value', () => {
    const declared = { Size: { type: 'Integer', allowedValues: [8, 16] }, On: { type: 'Boolean', allowedValues: [true] } };
    expect(resolveParameters(declared, { Size: '16', On: 'true' })).toEqual({ Size: 16, On: true });
    expect(errorOf(() => resolveParameters(declared, { Size: '10', On: true })).fields).toEqual(['Size']);
  });

  it('checks allowedPattern against every StringList item', () => {
    const declared = { InstanceId: { type: 'StringList', allowedPattern: '^i-[a-z0-9]{8,17}$' } };
    expect(resolveParameters(declared, { InstanceId: 'i-12345678,i-1234567890abcdef0' }).InstanceId).toHaveLength(2);
    expect(errorOf(() => resolveParameters(declared, { InstanceId: 'i-12345678,vol-1' })).message).toContain('"vol-1" does not match');
  });

  it('honours a leading (?i) in allowedPattern as Java does', () => {
    const declared = { Env: { type: 'String', allowedPattern: '(?i)^prod$' } };
    expect(resolveParameters(declared, { Env: 'PROD' }).Env).toBe('PROD');
  });

  it('reports an allowedPattern that is not a regular expression', () => {
    const err = errorOf(() => resolveParameters({ P: { type: 'String', allowedPattern: '([a-z' } }, { P: 'x' }));
    expect(err.message).toContain('has an allowedPattern this engine cannot evaluate (a character class [ without its ] at position 1)');
  });

  it('enforces minItems and maxItems on lists', () => {
    const declared = { commands: { type: 'StringList', minItems: 1, maxItems: 2 } };
    expect(errorOf(() => resolveParameters(declared, { commands: [] })).message).toContain('fewer than minItems 1');
    expect(errorOf(() => resolveParameters(declared, { commands: 'a,b,c' })).message).toContain('more than maxItems 2');
    expect(resolveParameters(declared, { commands: 'a,b' }).commands).toEqual(['a', 'b']);
  });

  it('enforces minChars and maxChars on strings', () => {
    const declared = { Name: { type: 'String', minChars: 2, maxChars: 3 } };
    expect(errorOf(() => resolveParameters(declared, { Name: 'a' })).message).toContain('shorter than minChars 2');
    expect(errorOf(() => resolveParameters(declared, { Name: 'abcd' })).message).toContain('longer than maxChars 3');
  });

  it('does not check a default against allowedPattern when the value is not given', () => {
    const declared = { Role: { type: 'String', default: '', allowedPattern: '^arn:' } };
    expect(resolveParameters(declared, {})).toEqual({ Role: '' });
  });

  it('reports a default that does not fit its type, naming it as the default', () => {
    const err = errorOf(() => resolveParameters({ Count: { type: 'Integer', default: 'many' } }, {}));
    expect(err.message).toBe('parameter Count (Integer) default must be a whole number, got string "many"');
  });
});

describe('parseParameterAssignments', () => {
  it('splits each --param at the first = and collects a repeated name into a list', () => {
    // Act
    const raw = parseParameterAssignments(['InstanceId=i-1', 'InstanceId=i-2', 'Note=a=b', 'Empty=']);
    // Assess
    expect(raw).toEqual({ InstanceId: ['i-1', 'i-2'], Note: 'a=b', Empty: '' });
    expect(resolveParameters({ InstanceId: { type: 'StringList' }, Note: { type: 'String' }, Empty: { type: 'String' } }, raw).InstanceId).toEqual([
      'i-1',
      'i-2',
    ]);
  });

  it('rejects an assignment without a name', () => {
    expect(errorOf(() => parseParameterAssignments(['=x', 'novalue'])).problems).toHaveLength(2);
  });

  it('rejects a repeated name for a single-valued parameter', () => {
    const raw = parseParameterAssignments(['Id=a', 'Id=b']);
    expect(errorOf(() => resolveParameters({ Id: { type: 'String' } }, raw)).message).toContain('must be a string, got a list');
  });
});

describe('coerceParameterValue', () => {
  it('coerces one value without constraint checks', () => {
    expect(coerceParameterValue('Ids', { type: 'StringList', minItems: 5 }, 'a,b')).toEqual(['a', 'b']);
    expect(() => coerceParameterValue('N', { type: 'Integer' }, 'x')).toThrow(ParameterValueError);
  });
});
