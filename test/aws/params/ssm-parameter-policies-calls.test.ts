import { DescribeParametersCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AwsClients, SsmParameterPolicies } from '@opsauto/aws';
import { applyParameterPolicies, fixedClock } from '@opsauto/core';

// The exact PutParameter matters here: AWS's behaviour when KeyId or Description is left out of an overwrite is not
// something localcloud can be trusted to mirror, so the request itself is checked: everything is passed explicitly.
describe('SsmParameterPolicies requests', () => {
  const mock = mockClient(SSMClient);
  const store = new SsmParameterPolicies(new AwsClients('us-east-1', { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
  const clock = fixedClock('2026-12-01T00:00:00.000Z');
  afterEach(() => mock.reset());
  afterAll(() => mock.restore());

  it('re-puts a SecureString with its key, description, data type and pattern, read with decryption, and asks for Advanced', async () => {
    // Prepare
    mock.on(DescribeParametersCommand).resolves({
      Parameters: [{ Name: '/db/pw', Type: 'SecureString', KeyId: 'alias/app', Description: 'pw', DataType: 'text', AllowedPattern: '^.+$', Tier: 'Standard', Version: 7, LastModifiedDate: new Date('2026-11-01T00:00:00Z'), Policies: [] }],
    });
    mock.on(GetParameterCommand).resolves({ Parameter: { Name: '/db/pw', Type: 'SecureString', Value: 'hunter2', Version: 7 } });
    mock.on(PutParameterCommand).resolves({ Version: 8, Tier: 'Advanced' });
    // Act
    const result = await applyParameterPolicies({ parameters: store, clock }, '/db/pw', { expires: '2027-03-01', notifyBefore: ['15d'] }, { allowAdvanced: true });
    // Assess
    expect(result).toMatchObject({ status: 'applied', version: 8 });
    expect(mock.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({ Name: '/db/pw', WithDecryption: true });
    expect(mock.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toEqual([
      {
        Name: '/db/pw',
        Value: 'hunter2',
        Type: 'SecureString',
        Overwrite: true,
        KeyId: 'alias/app',
        Description: 'pw',
        DataType: 'text',
        AllowedPattern: '^.+$',
        Tier: 'Advanced',
        Policies:
          '[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2027-03-01T00:00:00.000Z"}},{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"15","Unit":"Days"}}]',
      },
    ]);
  });

  it('reads a String without decryption, keeps its tier on clear and writes Policies []', async () => {
    // Prepare
    mock.on(DescribeParametersCommand).resolves({
      Parameters: [{ Name: '/cfg', Type: 'String', DataType: 'text', Tier: 'Advanced', Version: 2, LastModifiedDate: new Date('2026-11-01T00:00:00Z'), Policies: [{ PolicyText: '{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"30","Unit":"Days"}}', PolicyType: 'NoChangeNotification', PolicyStatus: 'Pending' }] }],
    });
    mock.on(GetParameterCommand).resolves({ Parameter: { Name: '/cfg', Type: 'String', Value: 'v', Version: 2 } });
    mock.on(PutParameterCommand).resolves({ Version: 3, Tier: 'Advanced' });
    // Act
    await applyParameterPolicies({ parameters: store, clock }, '/cfg', { clear: true });
    // Assess
    expect(mock.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({ Name: '/cfg', WithDecryption: false });
    expect(mock.commandCalls(PutParameterCommand)[0].args[0].input).toEqual({ Name: '/cfg', Value: 'v', Type: 'String', Overwrite: true, DataType: 'text', Tier: 'Advanced', Policies: '[]' });
  });

  it('says so when another write landed between its read and its write', async () => {
    // Prepare
    mock.on(DescribeParametersCommand).resolves({ Parameters: [{ Name: '/cfg', Type: 'String', Tier: 'Advanced', Version: 2, LastModifiedDate: new Date('2026-11-01T00:00:00Z'), Policies: [] }] });
    mock.on(GetParameterCommand).resolves({ Parameter: { Name: '/cfg', Type: 'String', Value: 'v', Version: 2 } });
    mock.on(PutParameterCommand).resolves({ Version: 4, Tier: 'Advanced' });
    // Act
    const run = applyParameterPolicies({ parameters: store, clock }, '/cfg', { expiresIn: '30d' });
    // Assess
    await expect(run).rejects.toThrow(/another write landed.*now version 4, read as 2/);
  });
});
