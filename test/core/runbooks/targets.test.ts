import { describe, expect, it } from 'vitest';
import { validationErrorOf } from '../../helpers/errors.js';
import {
  ec2InstanceFilters,
  parseTargets,
  parseTargetsOption,
  targetQuery,
  targetsFromOption,
} from '../../../packages/core/src/runbooks/targets.js';

// Target keys: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Target.html
// Automation targets: https://docs.aws.amazon.com/systems-manager/latest/userguide/running-automations-map-targets.html


const fifty = (prefix: string, n = 50) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('targetQuery', () => {
  it('reads tag:<key> as the tag values to match when given AWS example Key=tag:Department', () => {
    // Act
    const query = targetQuery([{ Key: 'tag:Department', Values: ['HumanResources'] }]);
    // Assess
    expect(query).toEqual({ kind: 'tags', tags: { Department: ['HumanResources'] }, tagKeys: [] });
  });

  it('reads tag-key as tag keys when given alone', () => {
    // Act
    const query = targetQuery([{ Key: 'tag-key', Values: ['Name', 'CostCenter'] }]);
    // Assess
    expect(query).toEqual({ kind: 'tags', tags: {}, tagKeys: ['Name', 'CostCenter'] });
  });

  it('combines several tag and tag-key entries into one query when all are tags', () => {
    // Act
    const query = targetQuery([
      { Key: 'tag:Env', Values: ['prod', 'staging'] },
      { Key: 'tag:Team', Values: ['ops'] },
      { Key: 'tag-key', Values: ['Backup'] },
    ]);
    // Assess
    expect(query).toEqual({ kind: 'tags', tags: { Env: ['prod', 'staging'], Team: ['ops'] }, tagKeys: ['Backup'] });
  });

  it('reads ParameterValues as literal values when given AWS example instance IDs', () => {
    // Act
    const query = targetQuery([{ Key: 'ParameterValues', Values: ['i-02573cafcfEXAMPLE', 'i-0471e04240EXAMPLE'] }]);
    // Assess
    expect(query).toEqual({ kind: 'values', values: ['i-02573cafcfEXAMPLE', 'i-0471e04240EXAMPLE'] });
  });

  it('reads InstanceIds as instances when given instance IDs of both lengths', () => {
    // Act
    const query = targetQuery([{ Key: 'InstanceIds', Values: ['i-1234abcd', 'i-0123456789abcdef0'] }]);
    // Assess
    expect(query).toEqual({ kind: 'instances', instanceIds: ['i-1234abcd', 'i-0123456789abcdef0'] });
  });

  it('reads InstanceIds * as every instance when * stands alone', () => {
    // Act
    const query = targetQuery([{ Key: 'InstanceIds', Values: ['*'] }]);
    // Assess
    expect(query).toEqual({ kind: 'allInstances' });
  });

  it('accepts 50 values when a key reaches the limit', () => {
    // Act
    const query = targetQuery([{ Key: 'ParameterValues', Values: fifty('v') }]);
    // Assess
    expect(query.kind === 'values' && query.values).toHaveLength(50);
  });

  it('does not let a __proto__ tag key touch the prototype when it is a tag key', () => {
    // Act
    const query = targetQuery([{ Key: 'tag:__proto__', Values: ['x'] }]);
    // Assess
    expect(query.kind === 'tags' && Object.keys(query.tags)).toEqual(['__proto__']);
  });

  it.each([
    ['ResourceGroup', 'ResourceGroup targets are not supported here'],
    ['AWS::EC2::Instance', 'AWS::EC2::Instance targets are not supported here'],
    ['resource-groups:Name', 'resource-groups:Name targets are not supported here'],
    ['InstanceId', 'unknown target key "InstanceId"'],
    ['parametervalues', 'did you mean ParameterValues?'],
    ['Tag:Env', 'did you mean tag:Env?'],
  ])('rejects key %s with a message listing the supported keys when the key is not supported', (key, expected) => {
    // Act
    const error = validationErrorOf(() => targetQuery([{ Key: key, Values: ['x'] }]));
    // Assess
    expect(error.field).toBe('Targets[0].Key');
    expect(error.message).toContain(expected);
    expect(error.message).toContain('tag:<key>, tag-key, ParameterValues, InstanceIds');
  });

  it.each([
    ['an empty list', [], 'Targets', 'needs at least one target'],
    ['six targets', fifty('tag:K', 6).map((Key) => ({ Key, Values: ['v'] })), 'Targets', 'at most 5'],
    ['51 values', [{ Key: 'ParameterValues', Values: fifty('v', 51) }], 'Targets[0].Values', 'at most 50'],
    ['no values', [{ Key: 'tag-key', Values: [] }], 'Targets[0].Values', 'needs at least one value'],
    ['a tag without values', [{ Key: 'tag:Env', Values: [] }], 'Targets[0].Values', 'use tag-key with "Env"'],
    ['an empty tag key', [{ Key: 'tag:', Values: ['x'] }], 'Targets[0].Key', 'needs a tag key'],
    ['a tag key over 128 characters', [{ Key: `tag:${'k'.repeat(129)}`, Values: ['x'] }], 'Targets[0].Key', 'longer than 128'],
    ['a tag value over 256 characters', [{ Key: 'tag:Env', Values: ['v'.repeat(257)] }], 'Targets[0].Values', 'longer than 256'],
    ['an empty value', [{ Key: 'ParameterValues', Values: ['a', ''] }], 'Targets[0].Values', 'empty value'],
    ['a repeated value', [{ Key: 'ParameterValues', Values: ['a', 'a'] }], 'Targets[0].Values', '"a" twice'],
    ['a repeated key', [{ Key: 'tag:Env', Values: ['a'] }, { Key: 'tag:Env', Values: ['b'] }], 'Targets[1].Key', 'appears twice'],
    ['ParameterValues with a tag', [{ Key: 'tag:Env', Values: ['a'] }, { Key: 'ParameterValues', Values: ['b'] }], 'Targets[1].Key', 'cannot be combined'],
    ['InstanceIds with a tag', [{ Key: 'InstanceIds', Values: ['i-1234abcd'] }, { Key: 'tag:Env', Values: ['b'] }], 'Targets[0].Key', 'cannot be combined'],
    ['a malformed instance ID', [{ Key: 'InstanceIds', Values: ['i-1234abcd', 'web-1'] }], 'Targets[0].Values', '"web-1" is not an EC2 instance ID'],
    ['* with instance IDs', [{ Key: 'InstanceIds', Values: ['*', 'i-1234abcd'] }], 'Targets[0].Values', '"*" is not an EC2 instance ID'],
    ['a hybrid node ID', [{ Key: 'InstanceIds', Values: ['mi-0123456789abcdef0'] }], 'Targets[0].Values', 'not an EC2 instance ID'],
    ['Values that are not strings', [{ Key: 'ParameterValues', Values: [1] }], 'Targets[0].Values[0]', 'expected string'],
    ['an entry without Key', [{ Values: ['x'] }], 'Targets[0].Key', 'expected string'],
    ['a mapping instead of a list', { Key: 'tag:Env', Values: ['x'] }, 'Targets', 'expected array'],
  ])('rejects %s naming the offending field when the list breaks a rule', (_what, targets, field, expected) => {
    // Act
    const error = validationErrorOf(() => targetQuery(targets));
    // Assess
    expect(error.field).toBe(field);
    expect(error.message).toContain(expected);
  });
});

describe('parseTargets', () => {
  it('returns the target parameter and the query when both are given', () => {
    // Act
    const targeting = parseTargets(
      { Targets: [{ Key: 'tag:Env', Values: ['prod'] }], TargetParameterName: 'InstanceId' },
      { parameterNames: ['InstanceId', 'AutomationAssumeRole'] },
    );
    // Assess
    expect(targeting).toEqual({ targetParameterName: 'InstanceId', query: { kind: 'tags', tags: { Env: ['prod'] }, tagKeys: [] } });
  });

  it('returns undefined when neither Targets nor TargetParameterName is given', () => {
    // Act / Assess
    expect(parseTargets({})).toBeUndefined();
  });

  it.each([
    ['Targets without TargetParameterName', { Targets: [{ Key: 'tag:Env', Values: ['prod'] }] }, 'TargetParameterName', 'is required with Targets'],
    ['TargetParameterName without Targets', { TargetParameterName: 'InstanceId' }, 'Targets', 'is required with TargetParameterName'],
    ['an empty TargetParameterName', { Targets: [], TargetParameterName: '' }, 'TargetParameterName', 'non-empty'],
    ['a 51-character TargetParameterName', { Targets: [], TargetParameterName: 'P'.repeat(51) }, 'TargetParameterName', 'at most 50'],
    ['AutomationAssumeRole as target', { Targets: [{ Key: 'ParameterValues', Values: ['x'] }], TargetParameterName: 'AutomationAssumeRole' }, 'TargetParameterName', 'AutomationAssumeRole cannot'],
    ['a parameter in the wrong case', { Targets: [{ Key: 'ParameterValues', Values: ['x'] }], TargetParameterName: 'instanceId' }, 'TargetParameterName', 'case sensitive: InstanceId?'],
    ['a parameter the runbook lacks', { Targets: [{ Key: 'ParameterValues', Values: ['x'] }], TargetParameterName: 'VolumeId' }, 'TargetParameterName', 'parameters: InstanceId, AutomationAssumeRole'],
  ])('rejects %s when the pair is incomplete or wrong', (_what, input, field, expected) => {
    // Act
    const error = validationErrorOf(() => parseTargets(input, { parameterNames: ['InstanceId', 'AutomationAssumeRole'] }));
    // Assess
    expect(error.field).toBe(field);
    expect(error.message).toContain(expected);
  });
});

describe('parseTargetsOption', () => {
  it('reads two tags when given tag:Env=prod,tag:Team=ops', () => {
    // Act / Assess
    expect(parseTargetsOption('tag:Env=prod,tag:Team=ops')).toEqual({ kind: 'tags', tags: { Env: ['prod'], Team: ['ops'] }, tagKeys: [] });
  });

  it('adds values without a key to the key before them when given tag:Env=prod,staging', () => {
    // Act / Assess
    expect(parseTargetsOption('tag:Env=prod,staging')).toEqual({ kind: 'tags', tags: { Env: ['prod', 'staging'] }, tagKeys: [] });
  });

  it('reads ParameterValues when given ParameterValues=i-1,i-2', () => {
    // Act / Assess
    expect(parseTargetsOption('ParameterValues=i-1,i-2')).toEqual({ kind: 'values', values: ['i-1', 'i-2'] });
  });

  it('reads InstanceIds when given InstanceIds=i-1234abcd,i-5678efab', () => {
    // Act / Assess
    expect(parseTargetsOption('InstanceIds=i-1234abcd,i-5678efab')).toEqual({ kind: 'instances', instanceIds: ['i-1234abcd', 'i-5678efab'] });
  });

  it('reads tag-key when given tag-key=Backup,Owner', () => {
    // Act / Assess
    expect(parseTargetsOption('tag-key=Backup,Owner')).toEqual({ kind: 'tags', tags: {}, tagKeys: ['Backup', 'Owner'] });
  });

  it('keeps = inside a tag value when the value contains one', () => {
    // Act / Assess
    expect(parseTargetsOption('tag:Expr=a=b')).toEqual({ kind: 'tags', tags: { Expr: ['a=b'] }, tagKeys: [] });
  });

  it('trims spaces around items when given tag:Env=prod, tag:Team=ops', () => {
    // Act / Assess
    expect(targetsFromOption(' tag:Env=prod, tag:Team=ops ')).toEqual([
      { Key: 'tag:Env', Values: ['prod'] },
      { Key: 'tag:Team', Values: ['ops'] },
    ]);
  });

  it('reads AWS CLI shorthand when given Key=tag:Env,Values=prod,staging Key=tag:Team,Values=ops', () => {
    // Act / Assess
    expect(parseTargetsOption('Key=tag:Env,Values=prod,staging Key=tag:Team,Values=ops')).toEqual({
      kind: 'tags',
      tags: { Env: ['prod', 'staging'], Team: ['ops'] },
      tagKeys: [],
    });
  });

  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['prod', '"prod" does not start with a target key'],
    ['Env=prod', '"Env=prod" does not start with a target key'],
    ['tag:Env=prod,,tag:Team=ops', 'item 2 is empty'],
    ['tag:Env=prod,', 'item 2 is empty'],
    ['tag:Env=', 'tag:Env has an empty value'],
    ['ResourceGroup=web', 'ResourceGroup targets are not supported here'],
    ['parametervalues=i-1', 'did you mean ParameterValues?'],
    ['InstanceIds=i-1', '"i-1" is not an EC2 instance ID'],
    ['tag:Env=prod,ParameterValues=x', 'ParameterValues cannot be combined'],
    ['tag:Env=prod,tag:Env=dev', 'tag:Env appears twice'],
    ['Key=tag:Env', 'is not Key=<key>,Values=<value>'],
  ])('rejects %j saying what is wrong when the option is malformed', (text, expected) => {
    // Act
    const error = validationErrorOf(() => parseTargetsOption(text));
    // Assess
    expect(error.field).toMatch(/^--targets/);
    expect(error.message).toContain(expected);
  });
});

describe('ec2InstanceFilters', () => {
  const live = { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] };

  it('filters on each tag, the tag keys and live states when given a tag query', () => {
    // Prepare
    const query = parseTargetsOption('tag:Env=prod,staging,tag:Team=ops,tag-key=Backup');
    // Act
    const filters = query.kind === 'values' ? [] : ec2InstanceFilters(query);
    // Assess
    expect(filters).toEqual([
      { Name: 'tag:Env', Values: ['prod', 'staging'] },
      { Name: 'tag:Team', Values: ['ops'] },
      { Name: 'tag-key', Values: ['Backup'] },
      live,
    ]);
  });

  it('leaves out terminated and shutting-down instances when filtering', () => {
    // Act
    const filters = ec2InstanceFilters({ kind: 'allInstances' });
    // Assess
    expect(filters).toEqual([live]);
    expect(filters[0]?.Values).not.toContain('terminated');
    expect(filters[0]?.Values).not.toContain('shutting-down');
  });

  it('filters on instance-id rather than failing on unknown IDs when given listed instances', () => {
    // Act
    const filters = ec2InstanceFilters({ kind: 'instances', instanceIds: ['i-1234abcd'] });
    // Assess
    expect(filters).toEqual([{ Name: 'instance-id', Values: ['i-1234abcd'] }, live]);
  });

  it('adds no tag-key filter when the query has no tag keys', () => {
    // Act
    const filters = ec2InstanceFilters({ kind: 'tags', tags: { Env: ['prod'] }, tagKeys: [] });
    // Assess
    expect(filters.map((f) => f.Name)).toEqual(['tag:Env', 'instance-state-name']);
  });
});
