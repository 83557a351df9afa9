import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ValidationError } from '@opsauto/core';
import {
  AUTOMATION_VARIABLES,
  parseReference,
  parseRunbook,
  RunbookValidationError,
  validateRunbook,
  type RunbookProblem,
  type StepOf,
} from '../../../packages/core/src/runbooks/document.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/runbooks/', import.meta.url));
const fixture = (file: string) => readFileSync(`${FIXTURES}${file}`, 'utf8');

type Doc = Record<string, unknown>;
const sleepStep = (over: Doc = {}): Doc => ({ name: 'wait', action: 'aws:sleep', inputs: { Duration: 'PT1M' }, ...over });
const runbook = (over: Doc = {}): Doc => ({ schemaVersion: '0.3', mainSteps: [sleepStep()], ...over });
const withSteps = (...steps: Doc[]): Doc => runbook({ mainSteps: steps });
/** A step `act` running `action`, followed by a step `later` to jump to; `document` adds top-level fields. */
const withInputs = (action: string, inputs: unknown, document: Doc = {}): Doc => ({
  ...withSteps({ name: 'act', action, inputs }, sleepStep({ name: 'later' })),
  ...document,
});

/** The problems `act` is rejected with; fails the test when nothing is thrown. */
function rejection(act: () => unknown): RunbookProblem[] {
  try {
    act();
  } catch (error) {
    if (error instanceof RunbookValidationError) return error.problems;
    throw error;
  }
  throw new Error('expected the runbook to be rejected');
}
const problemsOf = (document: unknown) => rejection(() => validateRunbook(document));

describe('parseRunbook on AWS-owned runbooks', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.startsWith('AWS-'));

  it('finds every AWS runbook copied into test/fixtures', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'AWS-CreateImage.json',
        'AWS-DeleteImage.json',
        'AWS-EnableS3BucketKeys.yml',
        'AWS-RestartEC2Instance.json',
        'AWS-StartEC2Instance.json',
        'AWS-StopEC2Instance.json',
        'AWS-StopRdsInstance.yaml',
        'AWS-TerminateEC2Instance.json',
      ]),
    );
  });

  it.each(files)('parses and validates %s with no problems and no warnings', (file) => {
    const parsed = parseRunbook(fixture(file), { name: file });
    expect(parsed.schemaVersion).toBe('0.3');
    expect(parsed.assumeRole).toBe('{{ AutomationAssumeRole }}');
    expect(parsed.mainSteps.length).toBeGreaterThan(0);
    expect(parsed.warnings).toEqual([]);
  });

  it('reads AWS-StopRdsInstance step controls and fills AWS defaults where a step sets none', () => {
    const parsed = parseRunbook(fixture('AWS-StopRdsInstance.yaml'));
    const [assertion, stop, check] = parsed.mainSteps;
    expect(assertion).toMatchObject({
      name: 'AssertNotStopped',
      action: 'aws:assertAwsResourceProperty',
      isCritical: false,
      onFailure: 'step:StopInstance',
      nextStep: 'CheckStop',
      inputs: { Service: 'rds', Api: 'DescribeDBInstances', DBInstanceIdentifier: '{{InstanceId}}', DesiredValues: ['stopped', 'stopping'] },
    });
    expect(stop).toMatchObject({ name: 'StopInstance', maxAttempts: 1, onFailure: 'Abort', onCancel: 'Abort', isCritical: true, isEnd: false, outputs: [] });
    expect(check).toMatchObject({ name: 'CheckStop', maxAttempts: 10, timeoutSeconds: 600 });
    expect(parsed.parameters.AutomationAssumeRole).toEqual({
      type: 'String',
      description: '(Optional) The ARN of the role that allows Automation to perform the actions on your behalf.',
      default: '',
    });
  });

  it('reads AWS-EnableS3BucketKeys: AWS resource parameter types, aws:branch with Not and Default, YAML True', () => {
    const parsed = parseRunbook(fixture('AWS-EnableS3BucketKeys.yml'));
    expect(parsed.parameters.AutomationAssumeRole?.type).toBe('AWS::IAM::Role::Arn');
    expect(parsed.parameters.BucketName?.type).toBe('AWS::S3::Bucket::Name');
    expect((parsed.mainSteps[0] as StepOf<'aws:branch'>).inputs).toEqual({
      Choices: [{ NextStep: 'PutBucketKeysKMS', Not: { Variable: '{{ KmsKeyId }}', StringEquals: '' } }],
      Default: 'PutBucketKeysAES256',
    });
    expect(parsed.mainSteps[1]?.inputs).toMatchObject({ ServerSideEncryptionConfiguration: { Rules: [{ BucketKeyEnabled: true }] } });
  });

  it('makes a step with onFailure Continue non-critical unless it says otherwise (AWS-StopEC2Instance)', () => {
    const [stop, force] = parseRunbook(fixture('AWS-StopEC2Instance.json')).mainSteps as StepOf<'aws:changeInstanceState'>[];
    expect(stop).toMatchObject({ onFailure: 'Continue', isCritical: false, inputs: { CheckStateOnly: false } });
    expect(force).toMatchObject({ onFailure: 'Abort', isCritical: true, inputs: { CheckStateOnly: false, Force: true } });
  });
});

describe('parseRunbook text formats', () => {
  const yamlText = `
description: Stop and tag
schemaVersion: '0.3'
parameters:
  Ids:
    type: StringList
    default: [i-1234567890abcdef0]
mainSteps:
  - name: stop
    action: aws:changeInstanceState
    onFailure: step:tag
    inputs:
      InstanceIds: '{{ Ids }}'
      DesiredState: stopped
  - name: tag
    action: aws:createTags
    inputs:
      ResourceIds: '{{ Ids }}'
      Tags: [{ Key: stopped-by, Value: '{{ automation:EXECUTION_ID }}' }]
`;

  it('gives the same model for the JSON and the YAML form of a document', () => {
    // Prepare
    const jsonText = JSON.stringify(parseYaml(yamlText), null, 2);
    // Act
    const fromYaml = parseRunbook(yamlText);
    const fromJson = parseRunbook(jsonText);
    // Assess
    expect(fromJson).toEqual(fromYaml);
    expect(fromYaml.mainSteps.map((s) => s.name)).toEqual(['stop', 'tag']);
    expect(fromYaml.mainSteps[1]?.inputs).toEqual({
      ResourceIds: '{{ Ids }}',
      Tags: [{ Key: 'stopped-by', Value: '{{ automation:EXECUTION_ID }}' }],
      ResourceType: 'EC2',
    });
  });

  it('reads an AWS JSON runbook rewritten as YAML to the same model', () => {
    const jsonText = fixture('AWS-RestartEC2Instance.json');
    expect(parseRunbook(toYaml(JSON.parse(jsonText)))).toEqual(parseRunbook(jsonText));
  });

  it('reports invalid JSON as one problem of the document, naming the runbook', () => {
    const act = () => parseRunbook('{ "schemaVersion": "0.3", }', { name: 'broken.json' });
    expect(act).toThrow(RunbookValidationError);
    expect(act).toThrow(/^invalid runbook broken\.json \(1 problem\):\n {2}\(document\): is not valid JSON/);
  });

  it('reports invalid YAML, and several YAML documents in one text, as problems of the document', () => {
    expect(rejection(() => parseRunbook('schemaVersion: "0.3"\nmainSteps: [\n'))).toEqual([
      { path: '(document)', message: expect.stringMatching(/^is not valid YAML: /) },
    ]);
    expect(rejection(() => parseRunbook("schemaVersion: '0.3'\n---\nschemaVersion: '0.3'\n"))).toEqual([
      { path: '(document)', message: 'holds 2 YAML documents; a runbook is one' },
    ]);
  });

  it('rejects a document that is not a mapping', () => {
    expect(rejection(() => parseRunbook('- just\n- a list\n'))).toEqual([
      { path: '(document)', message: 'must be a mapping with schemaVersion and mainSteps' },
    ]);
  });
});

describe('validateRunbook: the document', () => {
  it('returns the model of a minimal document', () => {
    expect(validateRunbook(runbook())).toEqual({
      schemaVersion: '0.3',
      parameters: {},
      mainSteps: [
        {
          name: 'wait',
          action: 'aws:sleep',
          inputs: { Duration: 'PT1M' },
          maxAttempts: 1,
          onFailure: 'Abort',
          onCancel: 'Abort',
          isCritical: true,
          isEnd: false,
          outputs: [],
        },
      ],
      outputs: [],
      warnings: [],
    });
  });

  it('rejects a schemaVersion other than 0.3', () => {
    expect(problemsOf(runbook({ schemaVersion: '2.2' }))).toEqual([{ path: 'schemaVersion', message: "must be '0.3' (Automation runbooks)" }]);
  });

  it('accepts schemaVersion written as the unquoted YAML number 0.3', () => {
    expect(parseRunbook('schemaVersion: 0.3\nmainSteps:\n  - { name: w, action: aws:pause, inputs: {} }\n').schemaVersion).toBe('0.3');
  });

  it('rejects top-level fields AWS does not define, as AWS schema does', () => {
    expect(problemsOf(runbook({ templateVersion: '1' }))).toEqual([{ path: '(document)', message: 'unknown field templateVersion' }]);
  });

  it('accepts files with a warning instead of an error', () => {
    const parsed = validateRunbook(runbook({ files: { 'launch.py': { checksums: { sha256: 'abc' } } } }));
    expect(parsed.warnings).toEqual(['files: ignored: attachments are only used by aws:executeScript, which this engine does not run']);
    expect(parsed).not.toHaveProperty('files');
  });

  it('rejects a document without steps', () => {
    expect(problemsOf(runbook({ mainSteps: [] }))).toEqual([{ path: 'mainSteps', message: 'must list at least one step' }]);
    expect(problemsOf({ schemaVersion: '0.3' })).toEqual([{ path: 'mainSteps', message: 'is required' }]);
  });

  it('accepts an assumeRole that is an ARN or a declared parameter, and rejects any other reference', () => {
    expect(validateRunbook(runbook({ assumeRole: 'arn:aws:iam::123456789012:role/ops' })).assumeRole).toBe('arn:aws:iam::123456789012:role/ops');
    expect(problemsOf(runbook({ assumeRole: '{{ Role }}' }))).toEqual([
      { path: 'assumeRole', message: '{{ Role }}: must be a declared parameter that holds the role ARN' },
    ]);
    expect(problemsOf(runbook({ assumeRole: '{{ ssm:/ops/role }}', parameters: { Role: { type: 'String' } } }))).toEqual([
      { path: 'assumeRole', message: '{{ ssm:/ops/role }}: must be a declared parameter that holds the role ARN' },
    ]);
  });

  it('requires each document output to name an existing step output', () => {
    const document = withSteps({ name: 'image', action: 'aws:createImage', inputs: { InstanceId: 'i-1', ImageName: 'x' } });
    expect(validateRunbook({ ...document, outputs: ['image.ImageId'] }).outputs).toEqual(['image.ImageId']);
    expect(problemsOf({ ...document, outputs: ['image.Nope', 'gone.ImageId', 'ImageId'] })).toEqual([
      { path: 'outputs[0]', message: 'step image has no output Nope (outputs: ImageId, ImageState)' },
      { path: 'outputs[1]', message: 'no step gone' },
      { path: 'outputs[2]', message: 'must name a step output as step.Output' },
    ]);
  });
});

describe('validateRunbook: parameters', () => {
  const withParameter = (definition: Doc) => runbook({ parameters: { P: definition } });

  it.each(['String', 'StringList', 'Integer', 'Boolean', 'MapList', 'StringMap'])('accepts type %s', (type) => {
    expect(validateRunbook(withParameter({ type })).parameters.P?.type).toBe(type);
  });

  it.each([
    'AWS::EC2::Instance::Id',
    'List<AWS::EC2::Instance::Id>',
    'AWS::S3::Bucket::Name',
    'List<AWS::S3::Bucket::Name>',
    'AWS::IAM::Role::Arn',
    'List<AWS::IAM::Role::Arn>',
  ])('accepts the documented AWS resource type %s', (type) => {
    expect(validateRunbook(withParameter({ type })).parameters.P?.type).toBe(type);
  });

  it('rejects an undocumented type and a missing type', () => {
    expect(problemsOf(withParameter({ type: 'AWS::EC2::Volume::Id' }))).toEqual([
      { path: 'parameters.P.type', message: expect.stringMatching(/^must be one of String, StringList, .*List<AWS::IAM::Role::Arn>$/) },
    ]);
    expect(problemsOf(withParameter({ description: 'no type' }))).toEqual([{ path: 'parameters.P.type', message: 'is required' }]);
  });

  it('rejects fields a parameter does not have and a displayType other than textfield or textarea', () => {
    expect(problemsOf(withParameter({ type: 'String', defualt: 'x', displayType: 'dropdown' }))).toEqual([
      { path: 'parameters.P.displayType', message: expect.stringMatching(/^Invalid option/) },
      { path: 'parameters.P', message: 'unknown field defualt' },
    ]);
  });

  it.each([
    ['String', 1, 'must be a string to fit type String'],
    ['Integer', '3', 'must be an integer to fit type Integer'],
    ['Integer', 3.5, 'must be an integer to fit type Integer'],
    ['Boolean', 'true', 'must be true or false to fit type Boolean'],
    ['StringList', 'i-1', 'must be a list of strings to fit type StringList'],
    ['StringMap', ['a'], 'must be a mapping to fit type StringMap'],
    ['MapList', [{ a: 1 }, 'b'], 'must be a list of mappings to fit type MapList'],
    ['AWS::EC2::Instance::Id', ['i-1'], 'must be a string to fit type AWS::EC2::Instance::Id'],
    ['List<AWS::EC2::Instance::Id>', 'i-1', 'must be a list of strings to fit type List<AWS::EC2::Instance::Id>'],
  ])('rejects a %s parameter whose default is %j', (type, value, message) => {
    expect(problemsOf(withParameter({ type, default: value }))).toEqual([{ path: 'parameters.P.default', message }]);
  });

  it.each([
    ['String', 'x'],
    ['Integer', 3],
    ['Boolean', false],
    ['StringList', ['a', 'b']],
    ['StringMap', { Env: 'Prod', Events: ['Failed'] }],
    ['MapList', [{ DeviceName: '/dev/sda1' }]],
    ['AWS::IAM::Role::Arn', ''],
  ])('accepts a %s parameter whose default is %j', (type, value) => {
    expect(validateRunbook(withParameter({ type, default: value })).parameters.P?.default).toEqual(value);
  });

  it('requires a default (each item of a list default) to be one of allowedValues', () => {
    expect(validateRunbook(withParameter({ type: 'String', default: 'b', allowedValues: ['a', 'b'] })).parameters.P?.default).toBe('b');
    expect(problemsOf(withParameter({ type: 'StringList', default: ['a', 'c'], allowedValues: ['a', 'b'] }))).toEqual([
      { path: 'parameters.P.default', message: '"c" is not one of the allowedValues ("a", "b")' },
    ]);
  });

  it('requires a default to match allowedPattern and the pattern to be a regular expression', () => {
    expect(validateRunbook(withParameter({ type: 'String', default: 'i-0abc1234', allowedPattern: '^i-[a-z0-9]{8,17}$' })).parameters.P).toBeDefined();
    expect(problemsOf(withParameter({ type: 'String', default: 'vol-1', allowedPattern: '^i-[a-z0-9]{8,17}$' }))).toEqual([
      { path: 'parameters.P.default', message: '"vol-1" does not match allowedPattern ^i-[a-z0-9]{8,17}$' },
    ]);
    expect(problemsOf(withParameter({ type: 'String', allowedPattern: '^(unclosed$' }))).toEqual([
      { path: 'parameters.P.allowedPattern', message: expect.stringMatching(/^is not a regular expression this engine can evaluate: /) },
    ]);
  });

  it('reads a leading (?i) in allowedPattern as case-insensitive, as Java does', () => {
    expect(validateRunbook(withParameter({ type: 'String', default: 'YES', allowedPattern: '(?i)^yes$' })).parameters.P?.default).toBe('YES');
  });

  it('holds a default to minItems, maxItems, minChars and maxChars', () => {
    expect(problemsOf(withParameter({ type: 'StringList', default: ['a'], minItems: 2 }))).toEqual([
      { path: 'parameters.P.default', message: 'has 1 item(s), fewer than minItems 2' },
    ]);
    expect(problemsOf(withParameter({ type: 'StringList', default: ['a', 'b'], maxItems: 1 }))).toEqual([
      { path: 'parameters.P.default', message: 'has 2 item(s), more than maxItems 1' },
    ]);
    expect(problemsOf(withParameter({ type: 'String', default: 'abc', minChars: 4, maxChars: 2 }))).toEqual([
      { path: 'parameters.P.minChars', message: 'is more than maxChars 2' },
      { path: 'parameters.P.default', message: '"abc" is shorter than minChars 4' },
      { path: 'parameters.P.default', message: '"abc" is longer than maxChars 2' },
    ]);
  });

  it('accepts a Parameter Store reference as a default and no other reference', () => {
    expect(validateRunbook(withParameter({ type: 'String', default: '{{ ssm:/golden/ami }}', allowedPattern: '^ami-' })).parameters.P?.default).toBe(
      '{{ ssm:/golden/ami }}',
    );
    expect(problemsOf(runbook({ parameters: { A: { type: 'String' }, P: { type: 'String', default: '{{ A }}' } } }))).toEqual([
      { path: 'parameters.P.default', message: '{{ A }}: a default can reference Parameter Store ({{ ssm:name }}) only' },
    ]);
  });
});

describe('validateRunbook: steps', () => {
  it('rejects step names other than letters, digits, _ and -', () => {
    expect(problemsOf(withSteps(sleepStep({ name: 'stop instance' })))).toEqual([
      { path: 'mainSteps[0] (stop instance).name', message: 'must be letters, digits, _ and - only' },
    ]);
  });

  it('rejects a step name used twice, pointing at the first use', () => {
    expect(problemsOf(withSteps(sleepStep(), sleepStep()))).toEqual([{ path: 'mainSteps[1] (wait)', message: 'name wait is already used by mainSteps[0] (wait)' }]);
  });

  it('rejects an unsupported action, naming the step', () => {
    // Prepare
    const document = withSteps(
      sleepStep({ name: 'first' }),
      sleepStep({ name: 'second' }),
      { name: 'stopInstance', action: 'aws:copyImage', inputs: { SourceImageId: 'ami-1', SourceRegion: 'us-east-1', ImageName: 'copy' } },
    );
    // Act
    const act = () => validateRunbook(document, { name: 'custom' });
    // Assess
    expect(act).toThrow(/^invalid runbook custom \(1 problem\):\n {2}mainSteps\[2\] \(stopInstance\): action aws:copyImage is not supported \(supported: aws:executeAwsApi, /);
    expect(rejection(act)).toEqual([{ path: 'mainSteps[2] (stopInstance)', message: expect.stringMatching(/^action aws:copyImage is not supported/) }]);
  });

  it.each(['aws:runInstances', 'aws:createStack', 'aws:copyImage'])('rejects %s', (action) => {
    expect(problemsOf(withSteps({ name: 'x', action, inputs: {} }))).toEqual([
      { path: 'mainSteps[0] (x)', message: expect.stringMatching(new RegExp(`^action ${action} is not supported`)) },
    ]);
  });

  it('requires maxAttempts and timeoutSeconds to be integers of at least 1', () => {
    expect(problemsOf(withSteps(sleepStep({ maxAttempts: 0, timeoutSeconds: 1.5 })))).toEqual([
      { path: 'mainSteps[0] (wait).maxAttempts', message: 'must be at least 1' },
      { path: 'mainSteps[0] (wait).timeoutSeconds', message: 'must be an integer' },
    ]);
  });

  it('accepts onFailure Abort, Continue or step:X and onCancel Abort or step:X only', () => {
    expect(problemsOf(withSteps(sleepStep({ onFailure: 'Retry', onCancel: 'Continue' })))).toEqual([
      { path: 'mainSteps[0] (wait).onFailure', message: 'must be Abort, Continue or step:<step name>' },
      { path: 'mainSteps[0] (wait).onCancel', message: 'must be Abort or step:<step name>' },
    ]);
  });

  it('requires onFailure, onCancel and nextStep to name existing steps', () => {
    const document = withSteps(sleepStep({ onFailure: 'step:cleanup', onCancel: 'step:undo', nextStep: 'report' }), sleepStep({ name: 'undo' }));
    expect(problemsOf(document)).toEqual([
      { path: 'mainSteps[0] (wait).nextStep', message: 'names step report, which does not exist' },
      { path: 'mainSteps[0] (wait).onFailure', message: 'names step cleanup, which does not exist' },
    ]);
  });

  it('keeps step controls as given and reads "true"/"false" text as AWS schema allows', () => {
    const [first] = validateRunbook(
      withSteps(sleepStep({ maxAttempts: 3, timeoutSeconds: 60, onFailure: 'step:end', onCancel: 'step:end', isCritical: 'false', isEnd: 'true', description: 'd' }), sleepStep({ name: 'end' })),
    ).mainSteps;
    expect(first).toMatchObject({ maxAttempts: 3, timeoutSeconds: 60, onFailure: 'step:end', onCancel: 'step:end', isCritical: false, isEnd: true, description: 'd' });
  });

  it('defaults isCritical to false only when onFailure is Continue, and an explicit value wins', () => {
    const steps = validateRunbook(withSteps(sleepStep({ onFailure: 'Continue' }), sleepStep({ name: 'b', onFailure: 'Continue', isCritical: true }))).mainSteps;
    expect(steps.map((s) => s.isCritical)).toEqual([false, true]);
  });

  it('rejects step fields Automation does not define (a misspelt maxAttempts)', () => {
    expect(problemsOf(withSteps(sleepStep({ maxAttemps: 3 })))).toEqual([{ path: 'mainSteps[0] (wait)', message: 'unknown field maxAttemps' }]);
  });

  it('defaults an output Type to String and checks Name, Selector, Type and duplicates', () => {
    const api = (outputs: unknown) => withSteps({ name: 'get', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeInstances' }, outputs });
    expect(validateRunbook(api([{ Name: 'id', Selector: '$.Reservations[0].Instances[0].InstanceId' }])).mainSteps[0]?.outputs).toEqual([
      { Name: 'id', Selector: '$.Reservations[0].Instances[0].InstanceId', Type: 'String' },
    ]);
    expect(problemsOf(api([{ Name: 'a b', Selector: '$.R[(@.length-1)]', Type: 'Float' }, { Name: 'x', Selector: '$' }, { Name: 'x', Selector: '$' }]))).toEqual([
      { path: 'mainSteps[0] (get).outputs[0].Name', message: 'must not be empty or contain dots, braces or spaces' },
      { path: 'mainSteps[0] (get).outputs[0].Selector', message: 'script expressions [(…)] are not allowed in selectors: $.R[(@.length-1)]' },
      { path: 'mainSteps[0] (get).outputs[0].Type', message: 'must be one of String, Integer, Boolean, StringList, StringMap, MapList' },
    ]);
    expect(problemsOf(api([{ Name: 'x', Selector: '$' }, { Name: 'x', Selector: '$.y' }]))).toEqual([
      { path: 'mainSteps[0] (get).outputs[1].Name', message: 'x is declared twice' },
    ]);
  });

  it('accepts selectors written without $. and filters that compare fields, as AWS does', () => {
    const api = (outputs: unknown, inputs: Record<string, unknown> = {}) =>
      withSteps({ name: 'get', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeVolumes', ...inputs }, outputs });
    const outputs = [
      { Name: 'Key', Selector: 'Attributes.KmsMasterKeyId' },
      { Name: 'Free', Selector: "$.Volumes[?(@.State=='available' && @.Size >= 8)].VolumeId", Type: 'StringList' },
    ];
    expect(validateRunbook(api(outputs)).mainSteps[0]?.outputs).toEqual([
      { Name: 'Key', Selector: 'Attributes.KmsMasterKeyId', Type: 'String' },
      { Name: 'Free', Selector: "$.Volumes[?(@.State=='available' && @.Size >= 8)].VolumeId", Type: 'StringList' },
    ]);
    const wait = withInputs('aws:waitForAwsResourceProperty', { Service: 'rds', Api: 'DescribeDBInstances', PropertySelector: 'DBInstances[0].DBInstanceStatus', DesiredValues: ['available'] });
    expect(validateRunbook(wait).mainSteps[0]?.inputs).toMatchObject({ PropertySelector: 'DBInstances[0].DBInstanceStatus' });
  });
});

describe('validateRunbook: action inputs', () => {
  const inputProblems = (action: string, inputs: unknown, document: Doc = {}) => problemsOf(withInputs(action, inputs, document));
  const inputsOf = (action: string, inputs: unknown) => validateRunbook(withInputs(action, inputs)).mainSteps[0]?.inputs;

  it('aws:executeAwsApi needs Service and Api and passes every other input to the API', () => {
    expect(inputsOf('aws:executeAwsApi', { Service: 'rds', Api: 'StopDBInstance', DBInstanceIdentifier: 'db1' })).toEqual({
      Service: 'rds',
      Api: 'StopDBInstance',
      DBInstanceIdentifier: 'db1',
    });
    expect(inputProblems('aws:executeAwsApi', { Service: '' })).toEqual([
      { path: 'mainSteps[0] (act).inputs.Service', message: 'must not be empty' },
      { path: 'mainSteps[0] (act).inputs.Api', message: 'is required' },
    ]);
  });

  it.each(['aws:waitForAwsResourceProperty', 'aws:assertAwsResourceProperty'])('%s needs a JSONPath PropertySelector and DesiredValues', (action) => {
    expect(inputProblems(action, { Service: 'ec2', Api: 'DescribeInstances', PropertySelector: "$.R[?(@.x.toString() == '1')]", DesiredValues: [] })).toEqual([
      {
        path: 'mainSteps[0] (act).inputs.PropertySelector',
        message:
          "filter @.x.toString() == '1' uses a function call, which is not allowed: filters may read fields of @ or @root, compare them (==, !=, <, <=, >, >=), combine tests (&&, ||, !) and test that a field exists",
      },
      { path: 'mainSteps[0] (act).inputs.DesiredValues', message: 'must list at least one value' },
    ]);
    expect(inputProblems(action, { Service: 'ec2', Api: 'DescribeInstances' })).toEqual([
      { path: 'mainSteps[0] (act).inputs.PropertySelector', message: 'is required' },
      { path: 'mainSteps[0] (act).inputs.DesiredValues', message: 'is required' },
    ]);
  });

  it('aws:branch needs Choices, each with NextStep, a {{ }} Variable and one known operator of the right type', () => {
    const problems = inputProblems(
      'aws:branch',
      {
        Choices: [
          { NextStep: 'later', Variable: 'OS', StringEquals: 'linux' },
          { NextStep: 'later', Variable: '{{ later.x }}', NumericEquals: '3', StringEquals: 'x' },
          { NextStep: 'later', Variable: '{{ Flag }}', BooleanIs: true },
          { NextStep: 'later', And: [] },
          { NextStep: 'later', Not: { Variable: '{{ Flag }}', BooleanEquals: 'yes' } },
        ],
      },
      { parameters: { Flag: { type: 'Boolean' } } },
    );
    expect(problems).toEqual([
      { path: 'mainSteps[0] (act).inputs.Choices[0].Variable', message: 'must be a {{ parameter }} or {{ step.Output }} reference' },
      { path: 'mainSteps[0] (act).inputs.Choices[1]', message: 'needs exactly one operator, found 2' },
      {
        path: 'mainSteps[0] (act).inputs.Choices[2]',
        message: expect.stringMatching(/^unknown operator BooleanIs \(operators: StringEquals, .*BooleanEquals, And, Or, Not\)$/),
      },
      { path: 'mainSteps[0] (act).inputs.Choices[3].And', message: 'must be a non-empty list of conditions' },
      { path: 'mainSteps[0] (act).inputs.Choices[4].Not.BooleanEquals', message: 'must be true or false' },
      { path: 'mainSteps[0] (act).inputs.Choices[1].Variable', message: '{{ later.x }}: step later has no output x (it has no outputs)' },
    ]);
    expect(inputProblems('aws:branch', { Choices: [] })).toEqual([{ path: 'mainSteps[0] (act).inputs.Choices', message: 'must list at least one choice' }]);
  });

  it('aws:branch accepts And, Or and Not to any depth and requires NextStep and Default to be steps', () => {
    const choice = {
      NextStep: 'later',
      Or: [
        { And: [{ Variable: '{{ N }}', NumericGreaterOrEquals: 2 }, { Variable: '{{ S }}', StartsWith: 'web-' }] },
        { Not: { Variable: '{{ S }}', EqualsIgnoreCase: 'DB' } },
      ],
    };
    const parameters = { N: { type: 'Integer' }, S: { type: 'String' } };
    expect(validateRunbook(withInputs('aws:branch', { Choices: [choice], Default: 'later' }, { parameters })).mainSteps[0]?.inputs).toEqual({
      Choices: [choice],
      Default: 'later',
    });
    expect(inputProblems('aws:branch', { Choices: [{ ...choice, NextStep: 'nowhere' }], Default: 'gone' }, { parameters })).toEqual([
      { path: 'mainSteps[0] (act).inputs.Choices[0].NextStep', message: 'names step nowhere, which does not exist' },
      { path: 'mainSteps[0] (act).inputs.Default', message: 'names step gone, which does not exist' },
    ]);
  });

  it('aws:changeInstanceState needs InstanceIds and a DesiredState of running, stopped or terminated', () => {
    expect(inputsOf('aws:changeInstanceState', { InstanceIds: ['i-1'], DesiredState: 'running' })).toEqual({
      InstanceIds: ['i-1'],
      DesiredState: 'running',
      CheckStateOnly: false,
    });
    expect(inputProblems('aws:changeInstanceState', { InstanceIds: 'i-1', DesiredState: 'paused', Forced: true })).toEqual([
      { path: 'mainSteps[0] (act).inputs.InstanceIds', message: 'must be a list of strings or a {{ }} reference' },
      { path: 'mainSteps[0] (act).inputs.DesiredState', message: 'must be running, stopped or terminated or a {{ }} reference' },
      { path: 'mainSteps[0] (act).inputs', message: 'unknown field Forced' },
    ]);
  });

  it('takes a whole {{ }} reference wherever a typed input is expected, but not one embedded in text', () => {
    const parameters = { Ids: { type: 'StringList' }, State: { type: 'String' }, DryRun: { type: 'Boolean' } };
    expect(
      validateRunbook(withInputs('aws:changeInstanceState', { InstanceIds: '{{ Ids }}', DesiredState: '{{State}}', CheckStateOnly: ' {{ DryRun }} ' }, { parameters }))
        .mainSteps[0]?.inputs,
    ).toEqual({ InstanceIds: '{{ Ids }}', DesiredState: '{{State}}', CheckStateOnly: ' {{ DryRun }} ' });
    expect(inputProblems('aws:changeInstanceState', { InstanceIds: '{{ Ids }}', DesiredState: 'stopped', CheckStateOnly: 'is-{{ DryRun }}' }, { parameters })).toEqual([
      { path: 'mainSteps[0] (act).inputs.CheckStateOnly', message: 'must be true or false or a {{ }} reference' },
    ]);
  });

  it('aws:createImage needs InstanceId and ImageName and passes other CreateImage parameters through', () => {
    expect(inputsOf('aws:createImage', { InstanceId: 'i-1', ImageName: 'web', NoReboot: true, TagSpecifications: [] })).toEqual({
      InstanceId: 'i-1',
      ImageName: 'web',
      NoReboot: true,
      TagSpecifications: [],
    });
    expect(inputProblems('aws:createImage', { InstanceId: 'i-1', NoReboot: 'yes' })).toEqual([
      { path: 'mainSteps[0] (act).inputs.ImageName', message: 'is required' },
      { path: 'mainSteps[0] (act).inputs.NoReboot', message: 'must be true or false or a {{ }} reference' },
    ]);
  });

  it('aws:createTags defaults ResourceType to EC2 and takes several IDs for EC2 only', () => {
    expect(inputsOf('aws:createTags', { ResourceIds: ['i-1', 'ami-1'], Tags: [{ Key: 'env', Value: 'prod' }] })).toMatchObject({ ResourceType: 'EC2' });
    expect(inputProblems('aws:createTags', { ResourceIds: ['/a', '/b'], ResourceType: 'Parameter', Tags: [{ Key: 'env' }] })).toEqual([
      { path: 'mainSteps[0] (act).inputs.ResourceIds', message: 'a Parameter resource is tagged one at a time: list a single ID' },
    ]);
    expect(inputProblems('aws:createTags', { ResourceIds: ['i-1'], Tags: [{ Name: 'env' }], ResourceType: 'Bucket' })).toEqual([
      { path: 'mainSteps[0] (act).inputs.Tags', message: 'must be a list of { Key, Value } or a {{ }} reference' },
      { path: 'mainSteps[0] (act).inputs.ResourceType', message: 'must be EC2, ManagedInstance, MaintenanceWindow or Parameter or a {{ }} reference' },
    ]);
  });

  it('aws:deleteImage takes exactly ImageId', () => {
    expect(inputsOf('aws:deleteImage', { ImageId: 'ami-1' })).toEqual({ ImageId: 'ami-1' });
    expect(inputProblems('aws:deleteImage', { ImageIds: ['ami-1'] })).toEqual([
      { path: 'mainSteps[0] (act).inputs.ImageId', message: 'is required' },
      { path: 'mainSteps[0] (act).inputs', message: 'unknown field ImageIds' },
    ]);
  });

  it('aws:sleep takes an ISO 8601 Duration of at most 7 days or a Timestamp, one of them', () => {
    expect(inputsOf('aws:sleep', { Timestamp: '2020-01-01T01:00:00Z' })).toEqual({ Timestamp: '2020-01-01T01:00:00Z' });
    expect(inputsOf('aws:sleep', { Duration: 'P6DT23H59M59S' })).toEqual({ Duration: 'P6DT23H59M59S' });
    expect(inputProblems('aws:sleep', {})).toEqual([{ path: 'mainSteps[0] (act).inputs.Duration', message: 'Duration or Timestamp is required' }]);
    expect(inputProblems('aws:sleep', { Duration: 'PT1M', Timestamp: '2020-01-01T01:00:00Z' })).toEqual([
      { path: 'mainSteps[0] (act).inputs.Timestamp', message: 'give Duration or Timestamp, not both' },
    ]);
    expect(inputProblems('aws:sleep', { Duration: '10 minutes' })).toEqual([
      { path: 'mainSteps[0] (act).inputs.Duration', message: 'must be an ISO 8601 duration in weeks, days, hours, minutes or seconds, such as PT10M' },
    ]);
    expect(inputProblems('aws:sleep', { Duration: 'P7D' })).toEqual([{ path: 'mainSteps[0] (act).inputs.Duration', message: 'must be at most 604799 seconds (7 days)' }]);
    expect(inputProblems('aws:sleep', { Timestamp: 'tomorrow' })).toEqual([
      { path: 'mainSteps[0] (act).inputs.Timestamp', message: 'must be an ISO 8601 timestamp such as 2020-01-01T01:00:00Z' },
    ]);
  });

  it('aws:pause takes no inputs', () => {
    expect(inputsOf('aws:pause', {})).toEqual({});
    expect(inputProblems('aws:pause', { Message: 'wait' })).toEqual([{ path: 'mainSteps[0] (act).inputs', message: 'unknown field Message' }]);
  });

  it('aws:approve needs 1 to 10 Approvers and defaults MinRequiredApprovals to 1, at most the approvers listed', () => {
    expect(inputsOf('aws:approve', { Approvers: ['ops'] })).toEqual({ Approvers: ['ops'], MinRequiredApprovals: 1 });
    expect(inputProblems('aws:approve', { Approvers: ['a', 'b'], MinRequiredApprovals: 3 })).toEqual([
      { path: 'mainSteps[0] (act).inputs.MinRequiredApprovals', message: 'cannot exceed the 2 approver(s) listed' },
    ]);
    expect(inputProblems('aws:approve', { Approvers: Array.from({ length: 11 }, (_, i) => `user${i}`), Message: 'x'.repeat(4097) })).toEqual([
      { path: 'mainSteps[0] (act).inputs.Approvers', message: 'can list at most 10 approvers' },
      { path: 'mainSteps[0] (act).inputs.Message', message: 'must be at most 4096 characters' },
    ]);
    expect(inputProblems('aws:approve', {})).toEqual([{ path: 'mainSteps[0] (act).inputs.Approvers', message: 'is required' }]);
  });

  it('aws:executeAutomation needs DocumentName and takes RuntimeParameters as a mapping or a reference', () => {
    expect(inputsOf('aws:executeAutomation', { DocumentName: 'AWS-CreateSnapshot', RuntimeParameters: { VolumeId: ['vol-1'] } })).toEqual({
      DocumentName: 'AWS-CreateSnapshot',
      RuntimeParameters: { VolumeId: ['vol-1'] },
    });
    expect(inputProblems('aws:executeAutomation', { RuntimeParameters: ['VolumeId'] })).toEqual([
      { path: 'mainSteps[0] (act).inputs.DocumentName', message: 'is required' },
      { path: 'mainSteps[0] (act).inputs.RuntimeParameters', message: 'must be a mapping of parameter names to values or a {{ }} reference' },
    ]);
  });
});

describe('validateRunbook: {{ references }}', () => {
  /** Step `image` names its image `text`; step `describe`, after it, declares an output State. */
  const referring = (text: string, ...more: Doc[]) =>
    withSteps(
      { name: 'image', action: 'aws:createImage', inputs: { InstanceId: 'i-1', ImageName: text } },
      { name: 'describe', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeImages' }, outputs: [{ Name: 'State', Selector: '$.Images[0].State' }] },
      ...more,
    );

  it('accepts declared parameters, declared outputs of any step (later ones too) and predefined action outputs', () => {
    // Prepare: a later step's output is readable after a jump back (nextStep, onFailure, aws:branch), so order is not checked
    const child = { name: 'child', action: 'aws:executeAutomation', inputs: { DocumentName: 'AWS-StopEC2Instance', RuntimeParameters: { InstanceId: ['{{ image.ImageId }}'] } } };
    const document = { ...referring('{{ Prefix }}-{{ describe.State }}-{{ child.ExecutionId }}', child), parameters: { Prefix: { type: 'String' } } };
    // Act
    const parsed = validateRunbook(document);
    // Assess
    expect(parsed.mainSteps.map((s) => s.name)).toEqual(['image', 'describe', 'child']);
  });

  it('rejects an undeclared parameter', () => {
    expect(problemsOf(referring('{{ Prefix }}'))).toEqual([{ path: 'mainSteps[0] (image).inputs.ImageName', message: '{{ Prefix }}: no parameter Prefix is declared' }]);
  });

  it('rejects an output of a step that does not exist or does not have it, and a step reading its own output', () => {
    expect(problemsOf(referring('{{ gone.State }} {{ describe.Id }} {{ image.ImageId }}'))).toEqual([
      { path: 'mainSteps[0] (image).inputs.ImageName', message: '{{ gone.State }}: no step gone' },
      { path: 'mainSteps[0] (image).inputs.ImageName', message: '{{ describe.Id }}: step describe has no output Id (outputs: State)' },
      { path: 'mainSteps[0] (image).inputs.ImageName', message: '{{ image.ImageId }}: a step cannot read its own output' },
    ]);
  });

  it.each(AUTOMATION_VARIABLES)('accepts the automation variable %s', (variable) => {
    expect(validateRunbook(referring(`ami-{{ ${variable} }}`)).mainSteps).toHaveLength(2);
  });

  it('rejects variables Automation does not define', () => {
    expect(problemsOf(referring('{{ global:TIME }}'))).toEqual([
      { path: 'mainSteps[0] (image).inputs.ImageName', message: expect.stringMatching(/^\{\{ global:TIME \}\}: not a parameter, a step\.Output or one of automation:EXECUTION_ID, /) },
    ]);
  });

  it('rejects Parameter Store references in step inputs and points to a parameter default instead', () => {
    expect(problemsOf(referring('{{ssm:/golden/name}}'))).toEqual([
      { path: 'mainSteps[0] (image).inputs.ImageName', message: '{{ ssm:/golden/name }}: Parameter Store values are read through a parameter: declare one with default {{ ssm:/golden/name }}' },
    ]);
  });

  it('finds references at any depth of the inputs', () => {
    const document = withSteps({ name: 'get', action: 'aws:executeAwsApi', inputs: { Service: 'ec2', Api: 'DescribeVolumes', Filters: [{ Name: 'attachment.instance-id', Values: ['{{ Instance }}'] }] } });
    expect(problemsOf(document)).toEqual([{ path: 'mainSteps[0] (get).inputs.Filters[0].Values[0]', message: '{{ Instance }}: no parameter Instance is declared' }]);
  });

  it('reads reference expressions by kind', () => {
    expect(parseReference('InstanceId')).toEqual({ kind: 'parameter', name: 'InstanceId' });
    expect(parseReference('createImage.ImageId')).toEqual({ kind: 'stepOutput', step: 'createImage', output: 'ImageId' });
    expect(parseReference('global:REGION')).toEqual({ kind: 'variable', name: 'global:REGION' });
    expect(parseReference('ssm:/a/b')).toEqual({ kind: 'parameterStore', name: '/a/b' });
    expect(parseReference('global:TIME')).toEqual({ kind: 'unknown', expression: 'global:TIME' });
  });
});

describe('validateRunbook: every problem at once', () => {
  it('lists every problem of a document in one error, each naming its place', () => {
    // Prepare
    const document = {
      schemaVersion: '0.3',
      owner: 'ops',
      parameters: { Count: { type: 'Integer', default: 'three' }, Ids: { type: 'StringList' } },
      mainSteps: [
        { name: 'stop', action: 'aws:changeInstanceState', inputs: { InstanceIds: '{{ Ids }}', DesiredState: 'halted' }, onFailure: 'step:notify' },
        { name: 'script', action: 'aws:executeScript', inputs: { Script: '{{ Missing }}' } },
        { name: 'stop', action: 'aws:sleep', inputs: {}, maxAttempts: 0 },
        { name: 'tag', action: 'aws:createTags', inputs: { ResourceIds: '{{ Ids }}', Tags: [{ Key: 'at', Value: '{{ stop.Time }}' }] } },
      ],
      outputs: ['tag.Result'],
    };
    // Act
    const error = (() => {
      try {
        validateRunbook(document, { name: 'many' });
      } catch (e) {
        return e as RunbookValidationError;
      }
      throw new Error('expected a rejection');
    })();
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.problems).toEqual([
      { path: '(document)', message: 'unknown field owner' },
      { path: 'parameters.Count.default', message: 'must be an integer to fit type Integer' },
      { path: 'mainSteps[2] (stop)', message: 'name stop is already used by mainSteps[0] (stop)' },
      { path: 'mainSteps[0] (stop).onFailure', message: 'names step notify, which does not exist' },
      { path: 'mainSteps[0] (stop).inputs.DesiredState', message: 'must be running, stopped or terminated or a {{ }} reference' },
      { path: 'mainSteps[1] (script).inputs.Runtime', message: 'is required' },
      { path: 'mainSteps[1] (script).inputs.Script', message: '{{ Missing }}: no parameter Missing is declared' },
      { path: 'mainSteps[2] (stop).maxAttempts', message: 'must be at least 1' },
      { path: 'mainSteps[2] (stop).inputs.Duration', message: 'Duration or Timestamp is required' },
      { path: 'mainSteps[3] (tag).inputs.Tags[0].Value', message: '{{ stop.Time }}: step stop has no output Time (it has no outputs)' },
      { path: 'outputs[0]', message: 'step tag has no output Result (it has no outputs)' },
    ]);
    expect(error.message.split('\n')).toHaveLength(12);
    expect(error.message).toContain('\n  mainSteps[1] (script).inputs.Runtime: is required');
  });
});
