import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

describe('localcloud endpoint', () => {
  let cloud: Localcloud;
  beforeAll(async () => {
    cloud = await startTestCloud();
  });
  afterAll(async () => {
    await cloud.stop();
  });

  it('answers STS GetCallerIdentity with the local account through the real SDK client', async () => {
    const sts = new STSClient(clientConfig(cloud));
    const out = await sts.send(new GetCallerIdentityCommand({}));
    expect(out.Account).toBe('000000000000');
    expect(out.Arn).toBe('arn:aws:iam::000000000000:root');
  });

  it('throttles with the service error code and the SDK retries it to success', async () => {
    cloud.faults.set([{ service: 'sts', throttleRate: 0.6 }]);
    cloud.calls.reset();
    const sts = new STSClient(clientConfig(cloud));
    for (let i = 0; i < 5; i++) await sts.send(new GetCallerIdentityCommand({}));
    cloud.faults.set([]);
    // Prepare/assess: more calls reached the endpoint than the five that succeeded, so retries happened.
    expect(cloud.calls.snapshot().sts?.GetCallerIdentity).toBeGreaterThan(5);
  });

  it('answers an AWS operation it does not emulate with UnsupportedOperation naming it, not a hang', async () => {
    const res = await fetch(cloud.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x' },
      body: 'Action=AssumeRoleWithSAML&Version=2011-06-15',
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('<Code>UnsupportedOperation</Code>');
    expect(text).toContain('<Message>localcloud does not emulate sts:AssumeRoleWithSAML</Message>');
  });

  it('answers an unsigned request as the default account in us-east-1', async () => {
    const res = await fetch(cloud.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    const xml = await res.text();
    expect(res.status).toBe(200);
    expect(xml).toContain('<Account>000000000000</Account>');
  });

  it('answers an awsJson operation it does not emulate with UnsupportedOperationException naming it', async () => {
    const res = await fetch(cloud.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.CreateArchive', authorization: 'AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=x' },
      body: '{"ArchiveName":"custom","EventSourceArn":"arn:aws:events:us-east-1:000000000000:event-bus/default"}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'UnsupportedOperationException', message: 'localcloud does not emulate events:CreateArchive' });
  });
});
