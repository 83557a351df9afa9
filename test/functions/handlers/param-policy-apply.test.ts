import { GetParameterCommand, ListTagsForResourceCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Localcloud } from '@opsauto/localcloud';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fakeContext } from '../../helpers/lambda-context.js';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';
import { functionEnvironment } from '../../helpers/table.js';

type Handler = (event: unknown, context: unknown) => Promise<any>;

const SECRET = 'the-value-never-logged';
let cloud: Localcloud;
let ssm: SSMClient;
let handler: Handler;
/** Every line the function wrote (Powertools logs to stdout). */
let written: string[] = [];

beforeAll(async () => {
  cloud = await startTestCloud();
  await functionEnvironment(cloud, 'DEBUG');
  process.env.OPSAUTO_CONFIG = JSON.stringify({ regions: ['us-east-1'], parameterExpiry: { paths: ['/app/'] } });
  ssm = new SSMClient(clientConfig(cloud));
  await ssm.send(new PutParameterCommand({ Name: '/app/db/password', Value: SECRET, Type: 'SecureString', Description: 'db', Tags: [{ Key: 'team', Value: 'payments' }] }));
  await ssm.send(new PutParameterCommand({ Name: '/other/key', Value: SECRET, Type: 'String' }));
  ({ handler } = (await import('../../../packages/functions/src/handlers/param-policy-apply.js')) as { handler: Handler });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  expect(written.join('')).not.toContain(SECRET);
  written = [];
});
afterAll(async () => {
  vi.restoreAllMocks();
  ssm.destroy();
  await cloud.stop();
});

describe('param-policy-apply handler', () => {
  it('answers needs-advanced with the cost for a standard parameter, and writes nothing', async () => {
    // Act
    const out = await handler({ parameter: '/app/db/password', expiresIn: '90d', notifyBefore: ['15d'] }, fakeContext('param-policy-apply'));
    // Assess
    expect(out).toMatchObject({ status: 'needs-advanced', parameter: '/app/db/password' });
    expect(out.added).toEqual([expect.stringMatching(/^expires /), 'notify 15d before expiry']);
    expect(out.note).toMatch(/\$0\.05 per parameter per month/);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/app/db/password', WithDecryption: true }));
    expect(Parameter?.Version).toBe(1);
  });

  it('sets the policies with allowAdvanced, keeping the value, type and tags', async () => {
    // Act
    const out = await handler({ parameter: '/app/db/password', expiresIn: '90d', notifyBefore: ['15d'], allowAdvanced: true }, fakeContext('param-policy-apply'));
    // Assess
    expect(out).toMatchObject({ status: 'applied', version: 2, tier: 'Advanced' });
    expect(out.added).toHaveLength(2);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/app/db/password', WithDecryption: true }));
    expect([Parameter?.Value, Parameter?.Type, Parameter?.Version]).toEqual([SECRET, 'SecureString', 2]);
    const { TagList } = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/app/db/password' }));
    expect(TagList).toEqual([{ Key: 'team', Value: 'payments' }]);
    expect(JSON.stringify(out)).not.toContain(SECRET);
  });

  it('refuses a parameter outside parameterExpiry.paths, a bad span and an unknown field, naming each, before any write', async () => {
    await expect(handler({ parameter: '/other/key', expiresIn: '90d', allowAdvanced: true }, fakeContext('param-policy-apply'))).rejects.toThrow('parameter: /other/key is outside parameterExpiry.paths (/app/)');
    await expect(handler({ parameter: '/app/db/password', notifyBefore: ['2 weeks'] }, fakeContext('param-policy-apply'))).rejects.toThrow(/^notifyBefore: /);
    await expect(handler({ parameter: '/app/db/password', value: 'x' }, fakeContext('param-policy-apply'))).rejects.toThrow(/invalid event: .*value/);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/other/key' }));
    expect(Parameter?.Version).toBe(1);
  });
});
