import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { MAX_BODY_BYTES } from '../../packages/localcloud/src/server.js';
import { clientConfig, removeDir, startTestCloud } from '../helpers/localcloud.js';
import { errorWithStatusOf } from '../helpers/errors.js';

/** An Authorization header as the SDK signs it (localcloud reads the credential scope, not the signature). */
const signedFor = (service: string, region = 'us-east-1', key = 'test') => `AWS4-HMAC-SHA256 Credential=${key}/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=x`;

const form = (service: string, body: string, region?: string) =>
  ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: signedFor(service, region) }, body }) as const;

const awsJson = (target: string, body: string) =>
  ({ method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target, authorization: signedFor(target.startsWith('AWSEvents') ? 'events' : 'ssm') }, body }) as const;

/** Nothing a request did may show on every object of the process. */
function expectPrototypeClean(): void {
  const probe = {} as Record<string, unknown>;
  expect(probe.x).toBeUndefined();
  expect(probe.polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('x');
  expect(Object.prototype).not.toHaveProperty('polluted');
}

/** What an answer must never carry: JavaScript internals. */
function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/TypeError|RangeError|SyntaxError|Cannot read|is not a function|undefined|at .*\.ts:\d+|InternalFailure/);
}

describe('localcloud under hostile input', () => {
  let cloud: Localcloud;
  beforeAll(async () => {
    cloud = await startTestCloud();
  });
  afterAll(async () => {
    await cloud.stop();
  });
  afterEach(() => {
    expectPrototypeClean();
  });

  describe('keys are data', () => {
    it.each(['__proto__.x=1', 'constructor.prototype.x=1', '__proto__.polluted.member.1=yes'])('does not pollute Object.prototype when a query key is %s', async (key) => {
      // Prepare
      const body = `Action=DescribeInstances&Version=2016-11-15&${key}`;

      // Act
      const res = await fetch(cloud.url, form('ec2', body));
      const answer = await res.text();

      // Assess: the key is a parameter like any other (DescribeInstances ignores it), and nothing leaked.
      expect(res.status).toBe(200);
      expect(answer).toContain('<DescribeInstancesResponse');
      expectPrototypeClean();
      const sts = new STSClient(clientConfig(cloud));
      expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe('000000000000');
      sts.destroy();
    });

    it('does not pollute Object.prototype when an awsJson body has a __proto__ member', async () => {
      const res = await fetch(cloud.url, awsJson('AmazonSSM.GetParameter', '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"x":1}},"Name":"/absent"}'));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ __type: 'ParameterNotFound' });
    });

    it.each(['AmazonSSM.constructor', 'AmazonSSM.__proto__', 'AmazonSSM.hasOwnProperty', 'AmazonSSM.toString', 'AWSEvents.constructor'])(
      'answers X-Amz-Target %s with UnknownOperationException',
      async (target) => {
        const res = await fetch(cloud.url, awsJson(target, '{}'));
        const body = (await res.json()) as { __type: string; message: string };
        expect(res.status).toBe(400);
        expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
        expect(body.__type).toBe('UnknownOperationException');
      },
    );

    it.each([
      ['ec2', 'Action=constructor&Version=2016-11-15', '<Response><Errors><Error><Code>InvalidAction</Code>'],
      ['sts', 'Action=__proto__&Version=2011-06-15', '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>'],
      ['rds', 'Action=toString&Version=2014-10-31', '<Code>InvalidAction</Code>'],
    ])('answers %s Action %s with InvalidAction in the protocol format', async (service, body, expected) => {
      const res = await fetch(cloud.url, form(service, body));
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(expected);
    });

    it('answers an unsigned Action=constructor with InvalidAction rather than guessing a service', async () => {
      const res = await fetch(cloud.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=constructor' });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('<Code>InvalidAction</Code>');
    });

    it('keeps parameters named __proto__ and constructor as parameters through the real SDK', async () => {
      // Prepare
      const ssm = new SSMClient(clientConfig(cloud));

      // Act
      await ssm.send(new PutParameterCommand({ Name: '__proto__', Value: 'proto-value', Type: 'String' }));
      const found = await ssm.send(new GetParameterCommand({ Name: '__proto__' }));
      const absent = await errorWithStatusOf(ssm.send(new GetParameterCommand({ Name: 'constructor' })));
      await ssm.send(new PutParameterCommand({ Name: 'constructor', Value: 'ctor-value', Type: 'String' }));
      const ctor = await ssm.send(new GetParameterCommand({ Name: 'constructor' }));
      ssm.destroy();

      // Assess
      expect(found.Parameter?.Value).toBe('proto-value');
      expect(absent).toMatchObject({ name: 'ParameterNotFound', status: 400 });
      expect(ctor.Parameter?.Value).toBe('ctor-value');
    });

    it('keeps a parameter named __proto__ across a restart (the state file treats keys as data too)', async () => {
      // Prepare
      const dir = mkdtempSync(join(tmpdir(), 'localcloud-proto-'));
      const first = await startTestCloud({ dataDir: dir });
      const before = new SSMClient(clientConfig(first));
      await before.send(new PutParameterCommand({ Name: '__proto__', Value: 'kept', Type: 'String' }));
      before.destroy();
      await first.stop();

      // Act
      const second = await startTestCloud({ dataDir: dir });
      const after = new SSMClient(clientConfig(second));
      const found = await after.send(new GetParameterCommand({ Name: '__proto__' }));
      const absent = await errorWithStatusOf(after.send(new GetParameterCommand({ Name: 'constructor' })));
      after.destroy();
      await second.stop();
      await removeDir(dir);

      // Assess
      expect(found.Parameter?.Value).toBe('kept');
      expect(absent.name).toBe('ParameterNotFound');
    });

    it.each(['__proto__', 'constructor', 'toString', 'US-EAST-1'])('refuses a signature scoped to the region %s', async (region) => {
      const res = await fetch(cloud.url, form('ec2', 'Action=DescribeInstances&Version=2016-11-15', region));
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    });

    it('refuses an awsJson signature scoped to a region that is not one, as InvalidSignatureException', async () => {
      const res = await fetch(cloud.url, { ...awsJson('AmazonSSM.DescribeParameters', '{}'), headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.DescribeParameters', authorization: signedFor('ssm', '__proto__') } });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ __type: 'InvalidSignatureException' });
    });
  });

  describe('malformed bodies answer the protocol’s own 4xx', () => {
    it.each([
      ['truncated JSON', '{"Name": "/a'],
      ['null', 'null'],
      ['a list', '[1,2]'],
      ['a string', '"GetParameter"'],
      ['10,000-deep nesting', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
      ['10,000-deep objects', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
    ])('answers awsJson %s with SerializationException', async (_what, body) => {
      const res = await fetch(cloud.url, awsJson('AmazonSSM.GetParameter', body));
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('json');
      expect(JSON.parse(text)).toMatchObject({ __type: 'SerializationException' });
      expectNoInternals(text);
    });

    it.each([
      ['AmazonSSM.GetParameter', '{"Name": 5}'],
      ['AmazonSSM.GetParameter', '{"Name": {"x": 1}}'],
      ['AmazonSSM.PutParameter', '{"Name": "/x", "Value": ["a"], "Type": "String"}'],
      ['AmazonSSM.PutParameter', '{"Name": "/x", "Value": "v", "Type": "String", "Tags": "not-a-list"}'],
      ['AmazonSSM.GetParameters', '{"Names": "not-a-list"}'],
      ['AmazonSSM.DescribeParameters', '{"ParameterFilters": [null]}'],
      ['AWSEvents.PutEvents', '{"Entries": {"Source": "x"}}'],
      ['AWSEvents.PutRule', '{"Name": 7, "EventPattern": {"source": ["x"]}}'],
    ])('answers %s with members of the wrong type (%s) with a 4xx and no JavaScript internals', async (target, body) => {
      const res = await fetch(cloud.url, awsJson(target, body));
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(JSON.parse(text).__type).toMatch(/SerializationException|ValidationException|ParameterNotFound/);
      expectNoInternals(text);
    });

    it('names the member of the wrong type, as the service model does', async () => {
      const res = await fetch(cloud.url, awsJson('AmazonSSM.PutParameter', '{"Name": "/x", "Value": "v", "Tags": [{"Key": "k", "Value": 5}]}'));
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ __type: 'SerializationException', message: 'PutParameter: Tags[0].Value must be a string, not a number' });
    });

    it('leaves no parameter behind when PutParameter is refused for a member of the wrong type', async () => {
      await fetch(cloud.url, awsJson('AmazonSSM.PutParameter', '{"Name": "/typed/x", "Value": ["a"], "Type": "String"}'));
      const ssm = new SSMClient(clientConfig(cloud));
      const err = await errorWithStatusOf(ssm.send(new GetParameterCommand({ Name: '/typed/x' })));
      ssm.destroy();
      expect(err.name).toBe('ParameterNotFound');
    });

    it.each([
      ['null', 'null'],
      ['truncated JSON', '{"TableName": "t'],
      ['a null list item dynalite would throw on', '{"RequestItems": {"hostile-table": [null]}}'],
      ['a __proto__ filter dynalite would throw on', '{"TableName": "hostile-table", "ScanFilter": {"__proto__": {"ComparisonOperator": "NULL"}}}'],
    ])('answers a DynamoDB body of %s with SerializationException, and keeps serving', async (_what, body) => {
      // Prepare
      const dynamo = new DynamoDBClient(clientConfig(cloud));
      await dynamo.send(new CreateTableCommand({ TableName: 'hostile-table', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' })).catch(() => undefined);
      const target = body.includes('RequestItems') ? 'BatchWriteItem' : body.includes('ScanFilter') ? 'Scan' : 'ListTables';

      // Act
      const res = await fetch(cloud.url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${target}`, 'x-amz-date': '20260101T000000Z', authorization: signedFor('dynamodb') }, body });
      const text = await res.text();
      const tables = await dynamo.send(new ListTablesCommand({}));
      dynamo.destroy();

      // Assess
      expect(res.status).toBe(400);
      expect(JSON.parse(text).__type).toMatch(/#SerializationException$/);
      expectNoInternals(text);
      expect(tables.TableNames).toContain('hostile-table');
    });

    it('keeps DynamoDB attributes named __proto__ and constructor as attributes through the real SDK', async () => {
      const dynamo = new DynamoDBClient(clientConfig(cloud));
      await dynamo.send(new CreateTableCommand({ TableName: 'proto-table', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));

      await dynamo.send(new PutItemCommand({ TableName: 'proto-table', Item: { pk: { S: 'a' }, constructor: { M: { prototype: { M: { x: { S: '1' } } } } } } }));
      const { Item } = await dynamo.send(new GetItemCommand({ TableName: 'proto-table', Key: { pk: { S: 'a' } } }));
      dynamo.destroy();

      expect(Item?.constructor).toEqual({ M: { prototype: { M: { x: { S: '1' } } } } });
    });

    it('answers a 10,000-deep query key with MalformedQueryString in EC2’s format', async () => {
      const key = Array.from({ length: 10_000 }, () => 'a').join('.');
      const res = await fetch(cloud.url, form('ec2', `Action=DescribeInstances&Version=2016-11-15&${key}=1`));
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(text).toContain('<Response><Errors><Error><Code>MalformedQueryString</Code>');
      expectNoInternals(text);
    });

    it.each([
      ['a key that is a value and a parent', 'Action=GetCallerIdentity&A=1&A.B=2'],
      ['an empty key part', 'Action=GetCallerIdentity&A..B=2'],
      ['a list index far too high', 'Action=GetCallerIdentity&A.99999999999=1'],
    ])('answers a query body with %s with MalformedQueryString in the query format', async (_what, body) => {
      const res = await fetch(cloud.url, form('sts', body));
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(text).toContain('<ErrorResponse><Error><Type>Sender</Type><Code>MalformedQueryString</Code>');
    });

    it('answers AssumeRole with a RoleArn sent as nested keys with ValidationError naming roleArn', async () => {
      const res = await fetch(cloud.url, form('sts', 'Action=AssumeRole&Version=2011-06-15&RoleArn.x=1&RoleSessionName=s1'));
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(text).toContain('<Code>ValidationError</Code>');
      expect(text).toContain('at &apos;roleArn&apos;');
    });

    it.each(['&#x110000;', '&#0;', '&#xFFFE;', '&#99999999;', '&constructor;', '&__proto__;', 'Enabled & more'])(
      'answers S3 XML with the character reference %s with MalformedXML in XML',
      async (reference) => {
        // Prepare: a bucket, then a versioning body carrying the reference.
        await fetch(`${cloud.url}/hostile-bucket`, { method: 'PUT', headers: { authorization: signedFor('s3') } });
        const body = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${reference}</Status></VersioningConfiguration>`;

        // Act
        const res = await fetch(`${cloud.url}/hostile-bucket?versioning`, { method: 'PUT', headers: { authorization: signedFor('s3'), 'content-type': 'application/xml' }, body });
        const text = await res.text();

        // Assess
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('xml');
        expect(text).toContain('<Code>MalformedXML</Code>');
        expectNoInternals(text);
      },
    );

    it('answers an S3 path that is not valid percent-encoding with InvalidURI in XML', async () => {
      const res = await fetch(`${cloud.url}/bad%E0%A4%A`, { method: 'PUT', headers: { authorization: signedFor('s3') } });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('<Code>InvalidURI</Code>');
    });

    it('answers a Scheduler body that is not JSON with ValidationException in rest-json', async () => {
      const res = await fetch(`${cloud.url}/schedules/hostile`, { method: 'POST', headers: { authorization: signedFor('scheduler'), 'content-type': 'application/json' }, body: '{"ScheduleExpression": ' });
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toMatch(/ValidationException|SerializationException/);
    });
  });

  describe('huge bodies', () => {
    const FIFTY_MB = 50 * 1024 * 1024;

    /**
     * Sends a POST of `total` bytes in 1 MB chunks, pausing after `pauseAfter` bytes until `resume` settles.
     * Resolves with the answer's status and body, and how many bytes were written before it came.
     */
    function upload(options: { total: number; declareLength: boolean; pauseAfter?: number; resume?: Promise<unknown> }): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        const chunk = Buffer.alloc(1024 * 1024, 'a');
        const url = new URL(cloud.url);
        const req = request({
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/',
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': 'AmazonSSM.GetParameter',
            authorization: signedFor('ssm'),
            ...(options.declareLength ? { 'content-length': String(options.total) } : { 'transfer-encoding': 'chunked' }),
          },
        });
        let answered = false;
        req.on('response', (res) => {
          answered = true;
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        });
        // The server closes the connection while the upload is still going: that is expected once it has answered.
        req.on('error', (e) => {
          if (!answered) reject(e);
        });
        let sent = 0;
        const writeMore = async (): Promise<void> => {
          while (sent < options.total && !answered && !req.destroyed) {
            if (options.pauseAfter !== undefined && sent === options.pauseAfter) await options.resume;
            sent += chunk.length;
            if (!req.write(chunk)) await new Promise<void>((r) => { req.once('drain', r); req.once('close', r); });
          }
          if (!answered && !req.destroyed) req.end();
        };
        void writeMore();
      });
    }

    it('refuses a 50 MB body with a declared length with 413 RequestEntityTooLargeException', async () => {
      const answer = await upload({ total: FIFTY_MB, declareLength: true });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ __type: 'RequestEntityTooLargeException' });
    });

    it('refuses a 50 MB chunked body with 413 once it passes the limit, and answers other clients meanwhile', async () => {
      // Prepare: the huge upload stops after 1 MB (below the limit) until another client has been answered.
      let release!: () => void;
      const resume = new Promise<void>((r) => (release = r));
      const huge = upload({ total: FIFTY_MB, declareLength: false, pauseAfter: 1024 * 1024, resume });

      // Act: a small request from another client while the huge one is open and being read.
      const sts = new STSClient(clientConfig(cloud));
      const small = await sts.send(new GetCallerIdentityCommand({}));
      sts.destroy();
      release();
      const answer = await huge;

      // Assess
      expect(small.Account).toBe('000000000000');
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ __type: 'RequestEntityTooLargeException' });
      expect(MAX_BODY_BYTES).toBeLessThan(FIFTY_MB);
    });

    it('refuses a DynamoDB body over DynamoDB’s 16 MB limit with 413 in DynamoDB’s format', async () => {
      const res = await fetch(cloud.url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables', authorization: signedFor('dynamodb') }, body: `{"Pad":"${'a'.repeat(17 * 1024 * 1024)}"}` });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ __type: 'com.amazonaws.dynamodb.v20120810#RequestEntityTooLargeException' });
    });

    it('refuses a huge query body in the query format', async () => {
      const body = `Action=GetCallerIdentity&Version=2011-06-15&Pad=${'a'.repeat(MAX_BODY_BYTES)}`;
      const res = await fetch(cloud.url, form('sts', body));
      expect(res.status).toBe(413);
      expect(await res.text()).toContain('<Code>RequestEntityTooLarge</Code>');
    });
  });
});
