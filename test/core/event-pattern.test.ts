import { describe, expect, it } from 'vitest';
import {
  InvalidEventPatternError,
  matchesEventPattern,
  validateEventPattern,
  type EventPattern,
} from '@opsauto/core';

/** An EventBridge envelope around `detail`, shaped like the EC2 examples in the AWS user guide. */
function ec2Event(detail: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '111122223333',
    time: '2017-12-22T18:43:48Z',
    region: 'us-west-1',
    resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
    detail,
    ...overrides,
  };
}

function invalidReason(pattern: unknown): InvalidEventPatternError {
  try {
    validateEventPattern(pattern);
  } catch (error) {
    if (error instanceof InvalidEventPatternError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(pattern)} to be rejected`);
}

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
describe('event patterns: fields, nesting and alternatives', () => {
  const terminated = ec2Event({ 'instance-id': 'i-1234567890abcdef0', state: 'terminated' });
  const instanceTermination: EventPattern = {
    source: ['aws.ec2'],
    'detail-type': ['EC2 Instance State-change Notification'],
    detail: { state: ['terminated'] },
  };

  it('matches when every field of the pattern matches, ignoring fields the pattern does not name', () => {
    expect(matchesEventPattern(instanceTermination, terminated)).toBe(true);
  });

  it('does not match when a nested field has another value', () => {
    // Prepare
    const running = ec2Event({ 'instance-id': 'i-1234567890abcdef0', state: 'running' });

    // Act
    const matched = matchesEventPattern(instanceTermination, running);

    // Assess
    expect(matched).toBe(false);
  });

  it('does not match when a field of the pattern is missing from the event or not at the same nesting', () => {
    // Prepare
    const withoutSource = { ...terminated };
    delete withoutSource.source;
    const stateAtTopLevel = { ...terminated, detail: {}, state: 'terminated' };

    // Act & Assess
    expect(matchesEventPattern(instanceTermination, withoutSource)).toBe(false);
    expect(matchesEventPattern(instanceTermination, stateAtTopLevel)).toBe(false);
  });

  it('treats the values listed for a field as alternatives (OR)', () => {
    const ec2OrFargate: EventPattern = { source: ['aws.ec2', 'aws.fargate'] };

    expect(matchesEventPattern(ec2OrFargate, { source: 'aws.fargate' })).toBe(true);
    expect(matchesEventPattern(ec2OrFargate, { source: 'aws.ec2' })).toBe(true);
    expect(matchesEventPattern(ec2OrFargate, { source: 'aws.s3' })).toBe(false);
  });

  it('matches strings exactly, without case folding or normalisation', () => {
    expect(matchesEventPattern({ source: ['aws.ec2'] }, { source: 'AWS.EC2' })).toBe(false);
    expect(matchesEventPattern({ source: ['aws.ec2'] }, { source: 'aws.ec2 ' })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-filtering-data-types.html
// (example text: https://github.com/awsdocs/amazon-eventbridge-user-guide/blob/main/doc_source/eb-event-patterns.md)
describe('matching on field values of every JSON type', () => {
  const autoscaling = {
    version: '0',
    id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
    'detail-type': 'EC2 Instance Launch Successful',
    source: 'aws.autoscaling',
    account: '123456789012',
    time: '2015-11-11T21:31:47Z',
    region: 'us-east-1',
    resources: [],
    detail: { eventVersion: '', responseElements: null },
  };

  it('matches a null field value with [null]', () => {
    const pattern: EventPattern = {
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance Launch Successful'],
      detail: { responseElements: [null] },
    };

    expect(matchesEventPattern(pattern, autoscaling)).toBe(true);
    expect(matchesEventPattern(pattern, { ...autoscaling, detail: { responseElements: { ok: true } } })).toBe(false);
  });

  it('matches numbers in nested objects (Macie risk score example)', () => {
    // Prepare
    const pattern: EventPattern = {
      source: ['aws.macie'],
      'detail-type': ['Macie Alert'],
      detail: { 'risk-score': [80], trigger: { risk: [8] } },
    };
    const alert = {
      version: '0',
      id: '3e355723-fca9-4de3-9fd7-154c289d6b59',
      'detail-type': 'Macie Alert',
      source: 'aws.macie',
      account: '123456789012',
      time: '2017-04-24T22:28:49Z',
      region: 'us-east-1',
      resources: ['arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id'],
      detail: {
        'notification-type': 'ALERT_CREATED',
        name: 'Scanning bucket policies',
        tags: ['Custom_Alert', 'Insider'],
        'risk-score': 80,
        trigger: { 'alert-type': 'basic', risk: 8 },
      },
    };
    const lowerRisk = { ...alert, detail: { ...alert.detail, trigger: { 'alert-type': 'basic', risk: 7 } } };

    // Act & Assess
    expect(matchesEventPattern(pattern, alert)).toBe(true);
    expect(matchesEventPattern(pattern, lowerRisk)).toBe(false);
  });

  it('does not confuse a number with its string form, nor a boolean with "true"', () => {
    expect(matchesEventPattern({ detail: { 'risk-score': [80] } }, { detail: { 'risk-score': '80' } })).toBe(false);
    expect(matchesEventPattern({ detail: { ok: [true] } }, { detail: { ok: true } })).toBe(true);
    expect(matchesEventPattern({ detail: { ok: [true] } }, { detail: { ok: 'true' } })).toBe(false);
  });

  it('compares numbers numerically, so 5 matches 5.0 and 3.018e2 matches 301.8', () => {
    // Prepare: JSON text with a fractional zero, as it would arrive over PutEvents
    const event: unknown = JSON.parse('{"detail": {"count": 5.0, "x-limit": 301.8}}');

    // Act & Assess
    expect(matchesEventPattern({ detail: { count: [5] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { 'x-limit': [3.018e2] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { count: [5.5] } }, event)).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
describe('null values and empty strings', () => {
  const event = { source: 'aws.autoscaling', detail: { eventVersion: '', responseElements: null } };

  it('matches an empty string with [""]', () => {
    expect(matchesEventPattern({ detail: { eventVersion: [''] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { eventVersion: [''] } }, { detail: { eventVersion: '1.0' } })).toBe(false);
  });

  it('does not treat null and the empty string as interchangeable', () => {
    expect(matchesEventPattern({ detail: { responseElements: [''] } }, event)).toBe(false);
    expect(matchesEventPattern({ detail: { eventVersion: [null] } }, event)).toBe(false);
  });

  it('does not match [null] against a missing field', () => {
    expect(matchesEventPattern({ detail: { responseElements: [null] } }, { detail: {} })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
describe('arrays in events', () => {
  const pattern: EventPattern = {
    resources: [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
    ],
  };

  it('matches when the pattern values and the event array intersect', () => {
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };

    expect(matchesEventPattern(pattern, event)).toBe(true);
  });

  it('does not match when no element of the event array is listed, or the array is empty', () => {
    expect(matchesEventPattern(pattern, { resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'] })).toBe(
      false,
    );
    expect(matchesEventPattern(pattern, { resources: [] })).toBe(false);
  });

  it('flattens nested arrays of values', () => {
    expect(matchesEventPattern({ tags: ['b'] }, { tags: [['a'], ['b', 'c']] })).toBe(true);
    expect(matchesEventPattern({ tags: ['d'] }, { tags: [['a'], ['b', 'c']] })).toBe(false);
  });

  // https://github.com/aws/event-ruler#json-array-matching (the engine behind EventBridge rules)
  it('descends into arrays of objects, keeping all fields of a nested pattern within one element', () => {
    // Prepare
    const event = {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    };

    // Act & Assess
    expect(matchesEventPattern({ employees: { firstName: ['Anna'] } }, event)).toBe(true);
    expect(matchesEventPattern({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, event)).toBe(true);
    expect(matchesEventPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, event)).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-prefix-matching
describe('prefix matching', () => {
  it('matches string values that begin with the prefix', () => {
    const pattern: EventPattern = { time: [{ prefix: '2017-10-02' }] };

    expect(matchesEventPattern(pattern, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(matchesEventPattern(pattern, { time: '2017-10-03T18:43:48Z' })).toBe(false);
  });

  it('only applies to strings', () => {
    expect(matchesEventPattern({ code: [{ prefix: '12' }] }, { code: 123 })).toBe(false);
  });

  it('matches a prefix regardless of case with equals-ignore-case', () => {
    const pattern: EventPattern = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };

    expect(matchesEventPattern(pattern, { detail: { service: 'EVENTBRIDGE' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { service: 'eventbus' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { service: 'SNS' } })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (Ends with, Ends with (ignore case))
describe('suffix matching', () => {
  it('matches string values that end with the suffix', () => {
    const pattern: EventPattern = { FileName: [{ suffix: '.png' }] };

    expect(matchesEventPattern(pattern, { FileName: 'photo.png' })).toBe(true);
    expect(matchesEventPattern(pattern, { FileName: 'photo.PNG' })).toBe(false);
    expect(matchesEventPattern(pattern, { FileName: 'photo.jpg' })).toBe(false);
  });

  it('matches a suffix regardless of case with equals-ignore-case', () => {
    const pattern: EventPattern = { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } };

    expect(matchesEventPattern(pattern, { detail: { FileName: 'photo.PNG' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { FileName: 'photo.PnG.jpg' } })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (Equals (ignore case))
describe('equals-ignore-case matching', () => {
  it('matches the whole string regardless of case', () => {
    const pattern: EventPattern = { Name: [{ 'equals-ignore-case': 'alice' }] };

    expect(matchesEventPattern(pattern, { Name: 'Alice' })).toBe(true);
    expect(matchesEventPattern(pattern, { Name: 'ALICE' })).toBe(true);
    expect(matchesEventPattern(pattern, { Name: 'Alicia' })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-anything-but
describe('anything-but matching', () => {
  it('matches any value except the string given', () => {
    const pattern: EventPattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };

    expect(matchesEventPattern(pattern, ec2Event({ state: 'running' }))).toBe(true);
    expect(matchesEventPattern(pattern, ec2Event({ state: 'initializing' }))).toBe(false);
  });

  it('matches any value except the number given', () => {
    const pattern: EventPattern = { detail: { 'x-limit': [{ 'anything-but': 123 }] } };

    expect(matchesEventPattern(pattern, { detail: { 'x-limit': 124 } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { 'x-limit': 123.0 } })).toBe(false);
  });

  it('matches any value except those in a list of strings', () => {
    const pattern: EventPattern = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };

    expect(matchesEventPattern(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { state: 'overloaded' } })).toBe(false);
  });

  it('matches any value except those in a list of numbers', () => {
    const pattern: EventPattern = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };

    expect(matchesEventPattern(pattern, { detail: { 'x-limit': 301.8 } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { 'x-limit': 200 } })).toBe(false);
  });

  it('matches any value that does not begin with a prefix', () => {
    const pattern: EventPattern = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };

    expect(matchesEventPattern(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { state: 'initializing' } })).toBe(false);
  });

  it('matches any value that does not end with a suffix', () => {
    const pattern: EventPattern = { FileName: [{ 'anything-but': { suffix: '.png' } }] };

    expect(matchesEventPattern(pattern, { FileName: 'notes.txt' })).toBe(true);
    expect(matchesEventPattern(pattern, { FileName: 'photo.png' })).toBe(false);
  });

  it('matches any value except the string given, in any casing', () => {
    const pattern: EventPattern = { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] };

    expect(matchesEventPattern(pattern, { state: 'running' })).toBe(true);
    expect(matchesEventPattern(pattern, { state: 'INITIALIZING' })).toBe(false);
  });

  it('matches any value except those matching a wildcard', () => {
    const pattern: EventPattern = { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] };

    expect(matchesEventPattern(pattern, { FilePath: '/usr/bin/node' })).toBe(true);
    expect(matchesEventPattern(pattern, { FilePath: '/usr/lib/node' })).toBe(false);
  });

  it('needs the field to be present', () => {
    const pattern: EventPattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };

    expect(matchesEventPattern(pattern, { detail: { 'instance-id': 'i-1' } })).toBe(false);
  });

  it('matches an event array when any element is not excluded', () => {
    const pattern: EventPattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };

    expect(matchesEventPattern(pattern, { detail: { state: ['initializing', 'running'] } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { state: ['initializing'] } })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (Numeric matching)
describe('numeric matching', () => {
  const pattern: EventPattern = {
    detail: {
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ numeric: ['=', 3.018e2] }],
    },
  };

  it('matches only when every numeric condition holds', () => {
    // Prepare
    const inRange = { detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8 } };
    const zeroCount = { detail: { 'c-count': 0, 'd-count': 3, 'x-limit': 301.8 } };
    const tooMany = { detail: { 'c-count': 5, 'd-count': 10, 'x-limit': 301.8 } };
    const otherLimit = { detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 300 } };

    // Act & Assess
    expect(matchesEventPattern(pattern, inRange)).toBe(true);
    expect(matchesEventPattern(pattern, zeroCount)).toBe(false);
    expect(matchesEventPattern(pattern, tooMany)).toBe(false);
    expect(matchesEventPattern(pattern, otherLimit)).toBe(false);
  });

  it('supports >= and the open/closed ends of a range', () => {
    // "Price is more than 10, and less than or equal to 20"
    const price: EventPattern = { Price: [{ numeric: ['>', 10, '<=', 20] }] };
    const atLeast: EventPattern = { Price: [{ numeric: ['>=', 10] }] };

    expect(matchesEventPattern(price, { Price: 20 })).toBe(true);
    expect(matchesEventPattern(price, { Price: 10 })).toBe(false);
    expect(matchesEventPattern(atLeast, { Price: 10 })).toBe(true);
    expect(matchesEventPattern(atLeast, { Price: 9.999999 })).toBe(false);
  });

  it('only works with JSON numbers', () => {
    expect(matchesEventPattern({ Price: [{ numeric: ['=', 100] }] }, { Price: 100 })).toBe(true);
    expect(matchesEventPattern({ Price: [{ numeric: ['=', 100] }] }, { Price: '100' })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (IP address matching)
describe('IP address matching', () => {
  it('matches IPv4 addresses inside the CIDR block', () => {
    const pattern: EventPattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };

    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: '10.0.0.24' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: '10.0.0.255' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: '10.0.1.1' } })).toBe(false);
    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: 'not-an-ip' } })).toBe(false);
  });

  it('matches IPv6 addresses inside the CIDR block, in any textual form', () => {
    const pattern: EventPattern = { detail: { sourceIPAddress: [{ cidr: '2001:db8::/32' }] } };

    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: '2001:db8::1' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: '2001:0DB8:ffff:0:0:0:0:1' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: '2001:db9::1' } })).toBe(false);
    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: '10.0.0.1' } })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (Exists matching)
// (example text: https://github.com/awsdocs/amazon-eventbridge-user-guide/blob/main/doc_source/content-filtering-with-event-patterns.md)
describe('exists matching', () => {
  const noCCount: EventPattern = { detail: { 'c-count': [{ exists: false }] } };

  it('exists:false matches an event without the field and not one with it', () => {
    // Prepare
    const without = ec2Event({ state: ['initializing', 'running'] });
    const withCCount = ec2Event({ state: ['initializing', 'running'], 'c-count': 5 });

    // Act & Assess
    expect(matchesEventPattern(noCCount, without)).toBe(true);
    expect(matchesEventPattern(noCCount, withCCount)).toBe(false);
  });

  it('exists:false also matches when the field is an object, because only leaf nodes exist', () => {
    const cCountIsObject = ec2Event({ state: ['initializing', 'running'], 'c-count': { c1: 100 } });

    expect(matchesEventPattern(noCCount, cCountIsObject)).toBe(true);
    expect(matchesEventPattern({ detail: { 'c-count': [{ exists: true }] } }, cCountIsObject)).toBe(false);
  });

  it('exists:true matches an event that has the field', () => {
    const hasDescription: EventPattern = { detail: { description: [{ exists: true }] } };

    expect(matchesEventPattern(hasDescription, { detail: { description: 'Disk full' } })).toBe(true);
    expect(matchesEventPattern(hasDescription, { detail: { description: null } })).toBe(true);
    expect(matchesEventPattern(hasDescription, { detail: { title: 'Disk full' } })).toBe(false);
  });

  it('exists:false matches when a parent of the field is missing', () => {
    expect(matchesEventPattern(noCCount, { source: 'aws.ec2' })).toBe(true);
    expect(matchesEventPattern(noCCount, { detail: 'not an object' })).toBe(true);
  });

  it('treats an empty array as absent and a non-empty array as present', () => {
    const hasTags: EventPattern = { detail: { tags: [{ exists: true }] } };
    const noTags: EventPattern = { detail: { tags: [{ exists: false }] } };

    expect(matchesEventPattern(hasTags, { detail: { tags: ['a'] } })).toBe(true);
    expect(matchesEventPattern(hasTags, { detail: { tags: [] } })).toBe(false);
    expect(matchesEventPattern(noTags, { detail: { tags: [] } })).toBe(true);
    expect(matchesEventPattern(noTags, { detail: { tags: ['a'] } })).toBe(false);
  });

  it('exists:false under an array of objects requires the field to be absent from every element', () => {
    const noOwner: EventPattern = { detail: { items: { owner: [{ exists: false }] } } };

    expect(matchesEventPattern(noOwner, { detail: { items: [{ id: 1 }, { id: 2 }] } })).toBe(true);
    expect(matchesEventPattern(noOwner, { detail: { items: [{ id: 1 }, { id: 2, owner: 'bob' }] } })).toBe(false);
  });

  it('exists:false next to a positive condition is checked in the same array element', () => {
    const unownedSecond: EventPattern = { detail: { items: { id: [2], owner: [{ exists: false }] } } };

    expect(matchesEventPattern(unownedSecond, { detail: { items: [{ id: 1, owner: 'bob' }, { id: 2 }] } })).toBe(true);
    expect(matchesEventPattern(unownedSecond, { detail: { items: [{ id: 1 }, { id: 2, owner: 'bob' }] } })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (Wildcard matching)
describe('wildcard matching', () => {
  it('matches any run of characters where the pattern has *', () => {
    // "Any file with a .png extension, located within the folder dir"
    const pattern: EventPattern = { FileName: [{ wildcard: 'dir/*.png' }] };

    expect(matchesEventPattern(pattern, { FileName: 'dir/photo.png' })).toBe(true);
    expect(matchesEventPattern(pattern, { FileName: 'dir/.png' })).toBe(true);
    expect(matchesEventPattern(pattern, { FileName: 'other/photo.png' })).toBe(false);
    expect(matchesEventPattern(pattern, { FileName: 'dir/photo.png.txt' })).toBe(false);
  });

  it('supports several wildcards in one value', () => {
    // Illustrative ARN example (not from the guide)
    const pattern: EventPattern = { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] };

    expect(matchesEventPattern(pattern, { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/orders' })).toBe(true);
    expect(matchesEventPattern(pattern, { EventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/orders' })).toBe(
      false,
    );
  });

  it('matches a literal asterisk escaped as \\*', () => {
    const pattern: EventPattern = { name: [{ wildcard: 'a\\*b*' }] };

    expect(matchesEventPattern(pattern, { name: 'a*bc' })).toBe(true);
    expect(matchesEventPattern(pattern, { name: 'axbc' })).toBe(false);
  });

  it('only applies to strings', () => {
    expect(matchesEventPattern({ n: [{ wildcard: '1*' }] }, { n: 12 })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (Complex example with multiple matching)
describe('combining operators', () => {
  it('matches the documented complex example only when every condition holds', () => {
    // Prepare
    const pattern: EventPattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    };
    const event = ec2Event(
      { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, 'source-ip': '10.0.0.33', state: 'running' },
      { time: '2017-10-02T16:24:49Z' },
    );
    const limited = ec2Event({ ...(event.detail as object), 'x-limit': 300 }, { time: '2017-10-02T16:24:49Z' });

    // Act & Assess
    expect(matchesEventPattern(pattern, event)).toBe(true);
    expect(matchesEventPattern(pattern, limited)).toBe(false);
  });

  it('accepts several operators as alternatives for one field', () => {
    const pattern: EventPattern = { detail: { state: ['stopped', { prefix: 'run' }, { exists: false }] } };

    expect(matchesEventPattern(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: {} })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { state: 'pending' } })).toBe(false);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (Or, Or (multiple fields))
// (further examples: https://github.com/aws/event-ruler#the-or-primitive)
describe('$or matching', () => {
  it('matches when any of the $or branches matches ("Location is New York, or Day is Monday")', () => {
    const pattern: EventPattern = { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] };

    expect(matchesEventPattern(pattern, { Location: 'Boston', Day: 'Monday' })).toBe(true);
    expect(matchesEventPattern(pattern, { Location: 'New York', Day: 'Friday' })).toBe(true);
    expect(matchesEventPattern(pattern, { Location: 'Boston', Day: 'Friday' })).toBe(false);
  });

  it('ANDs $or with the other fields of the same object', () => {
    // Effect of "source" && ("metricName" || "namespace")
    const pattern: EventPattern = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    };

    expect(matchesEventPattern(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(true);
    expect(matchesEventPattern(pattern, { source: 'aws.ec2', namespace: 'AWS/ES' })).toBe(false);
    expect(matchesEventPattern(pattern, { source: 'aws.cloudwatch', metricName: 'DiskQueueDepth' })).toBe(false);
  });

  it('applies $or at nested levels and inside $or branches', () => {
    // Prepare: ("source" && ("metricName" || ("metricType" && "namespace" && ("metricId" || "spaceId")) || "scope"))
    const pattern: EventPattern = {
      source: ['aws.cloudwatch'],
      detail: {
        $or: [
          { metricName: ['CPUUtilization', 'ReadLatency'] },
          {
            metricType: ['MetricType'],
            namespace: ['AWS/EC2', 'AWS/ES'],
            $or: [{ metricId: [1234] }, { spaceId: [1000] }],
          },
          { scope: ['Service'] },
        ],
      },
    };
    const bySpace = { source: 'aws.cloudwatch', detail: { metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000 } };
    const wrongSpace = { source: 'aws.cloudwatch', detail: { metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1 } };

    // Act & Assess
    expect(matchesEventPattern(pattern, bySpace)).toBe(true);
    expect(matchesEventPattern(pattern, wrongSpace)).toBe(false);
    expect(matchesEventPattern(pattern, { source: 'aws.cloudwatch', detail: { scope: 'Service' } })).toBe(true);
  });
});

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html
// (error conditions: https://github.com/aws/event-ruler/blob/main/src/main/software/amazon/event/ruler/JsonRuleCompiler.java)
describe('validateEventPattern', () => {
  it('accepts the documented patterns and narrows the type', () => {
    const pattern: unknown = {
      source: ['aws.ec2'],
      detail: { state: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }], n: [{ numeric: ['>=', 0, '<', 1] }] },
      $or: [{ a: [{ cidr: '10.0.0.0/8' }] }, { b: [null, true, 1, ''] }],
    };

    validateEventPattern(pattern);

    expect(matchesEventPattern(pattern, { source: 'aws.ec2', detail: { state: 'x', n: 0 }, b: true })).toBe(true);
  });

  it('rejects a pattern that is not a JSON object', () => {
    expect(invalidReason('{"source": ["aws.ec2"]}').message).toMatch(/must be a JSON object/);
    expect(invalidReason([{ source: ['aws.ec2'] }]).message).toMatch(/must be a JSON object/);
    expect(invalidReason(null).message).toMatch(/must be a JSON object/);
  });

  it('rejects empty objects, at the top level and nested', () => {
    expect(invalidReason({}).message).toMatch(/empty objects are not allowed/);
    expect(invalidReason({ detail: {} })).toMatchObject({ path: 'detail' });
  });

  it('rejects leaves that are not arrays', () => {
    // Prepare & Act
    const error = invalidReason({ source: 'aws.ec2' });

    // Assess
    expect(error).toBeInstanceOf(InvalidEventPatternError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('InvalidEventPatternException');
    expect(error.name).toBe('InvalidEventPatternError');
    expect(error.path).toBe('source');
    expect(error.message).toBe(
      'Event pattern is not valid. Reason: "source" must be an object or an array of match values, got "aws.ec2" (at source)',
    );
  });

  it('rejects empty arrays and nested arrays of match values', () => {
    expect(invalidReason({ source: [] }).message).toMatch(/empty arrays are not allowed/);
    expect(invalidReason({ detail: { tags: [['a']] } })).toMatchObject({ path: 'detail.tags[0]' });
  });

  it('rejects unknown operators and operator objects with several keys', () => {
    expect(invalidReason({ source: [{ contains: 'ec2' }] }).message).toMatch(/unrecognized operator "contains"/);
    expect(invalidReason({ source: [{ prefix: 'a', suffix: 'b' }] }).message).toMatch(/exactly one key/);
    expect(invalidReason({ source: [{}] }).message).toMatch(/exactly one key/);
  });

  it('rejects operands of the wrong type', () => {
    expect(invalidReason({ a: [{ prefix: 1 }] }).message).toMatch(/prefix must be a string/);
    expect(invalidReason({ a: [{ prefix: { 'equals-ignore-case': 1 } }] }).message).toMatch(/prefix must be a string/);
    expect(invalidReason({ a: [{ suffix: null }] }).message).toMatch(/suffix must be a string/);
    expect(invalidReason({ a: [{ 'equals-ignore-case': ['a'] }] }).message).toMatch(/equals-ignore-case must be a string/);
    expect(invalidReason({ a: [{ exists: 'yes' }] }).message).toMatch(/exists must be true or false/);
  });

  it('rejects malformed numeric expressions', () => {
    expect(invalidReason({ n: [{ numeric: 5 }] }).message).toMatch(/numeric must be an array/);
    expect(invalidReason({ n: [{ numeric: ['>', 'a'] }] }).message).toMatch(/must be a number/);
    expect(invalidReason({ n: [{ numeric: ['!=', 1] }] }).message).toMatch(/numeric operator must be one of/);
    expect(invalidReason({ n: [{ numeric: ['=', 1, '<', 5] }] }).message).toMatch(/numeric operator must be one of/);
    expect(invalidReason({ n: [{ numeric: ['<', 1, '>', 0] }] }).message).toMatch(/numeric operator must be one of/);
    expect(invalidReason({ n: [{ numeric: ['>', 5, '<', 1] }] }).message).toMatch(/bottom \(5\) must be less than top \(1\)/);
    expect(invalidReason({ n: [{ numeric: ['>', 0, '<', 5, 6] }] }).message).toMatch(/numeric must be/);
  });

  it('rejects malformed anything-but expressions', () => {
    expect(invalidReason({ a: [{ 'anything-but': ['a', 1] }] }).message).toMatch(/only strings or only numbers/);
    expect(invalidReason({ a: [{ 'anything-but': [] }] }).message).toMatch(/must not be empty/);
    expect(invalidReason({ a: [{ 'anything-but': null }] }).message).toMatch(/anything-but must be/);
    expect(invalidReason({ a: [{ 'anything-but': { numeric: ['>', 1] } }] }).message).toMatch(
      /unsupported anything-but operator "numeric"/,
    );
    expect(invalidReason({ a: [{ 'anything-but': { prefix: '' } }] }).message).toMatch(/non-empty string/);
  });

  it('rejects malformed CIDR blocks', () => {
    expect(invalidReason({ ip: [{ cidr: '10.0.0.0/33' }] }).message).toMatch(/not a valid IPv4 or IPv6 CIDR block/);
    expect(invalidReason({ ip: [{ cidr: '10.0.0/24' }] }).message).toMatch(/not a valid IPv4 or IPv6 CIDR block/);
    expect(invalidReason({ ip: [{ cidr: '2001:db8:::/32' }] }).message).toMatch(/not a valid IPv4 or IPv6 CIDR block/);
  });

  it('rejects consecutive wildcards and escapes other than \\* and \\\\', () => {
    expect(invalidReason({ f: [{ wildcard: 'a**b' }] }).message).toMatch(/consecutive wildcard characters/);
    expect(invalidReason({ f: [{ wildcard: 'a\\b' }] }).message).toMatch(/invalid escape/);
    expect(invalidReason({ f: [{ 'anything-but': { wildcard: 'x**' } }] }).message).toMatch(/consecutive wildcard/);
  });

  it('rejects malformed $or expressions', () => {
    expect(invalidReason({ $or: [{ a: ['1'] }] }).message).toMatch(/at least 2 objects/);
    expect(invalidReason({ $or: { a: ['1'] } }).message).toMatch(/\$or must be an array of objects/);
    expect(invalidReason({ $or: [{ a: ['1'] }, ['b']] }).message).toMatch(/only objects are allowed in \$or/);
    expect(invalidReason({ $or: [{ a: ['1'] }, {}] }).message).toMatch(/empty objects are not allowed/);
    expect(invalidReason({ $or: [{ a: ['1'] }, { prefix: ['b'] }] })).toMatchObject({ path: '$or[1].prefix' });
  });

  it('makes matchesEventPattern throw for an invalid pattern', () => {
    expect(() => matchesEventPattern({ source: 'aws.ec2' }, { source: 'aws.ec2' })).toThrow(InvalidEventPatternError);
  });
});
