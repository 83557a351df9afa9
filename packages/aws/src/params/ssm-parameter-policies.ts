import { DescribeParametersCommand, GetParameterCommand, PutParameterCommand, SSMClient, type ParameterTier, type ParameterType } from '@aws-sdk/client-ssm';
import { ConcurrentUpdateError, policiesParameter, type ParameterPolicyStore, type PolicyParameter, type PolicyPlan } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { parameterSummary } from './ssm-parameter-catalog.js';

/** `text` with every occurrence of `secret` masked: what an error may say about a write that carried the value. */
function masked(text: string, secret: string): string {
  return secret.length > 0 ? text.split(secret).join('***') : text;
}

/**
 * ParameterPolicyStore over SSM. PutParameter takes a whole version (it requires `Value`), so writing policies
 * re-puts the parameter as it is: the value (GetParameter, decrypted only for a SecureString, held for the one
 * call and never logged or returned), its type, KMS key (left out, PutParameter would use the account's default
 * key), description, data type and allowed pattern, with `Overwrite` and the new `Policies`. Tags are not part of
 * a version and stay. The write is a new version, so labels stay on the previous one and a NoChangeNotification
 * counts from it.
 */
export class SsmParameterPolicies implements ParameterPolicyStore {
  constructor(
    private readonly clients: AwsClients,
    private readonly region?: string,
  ) {}

  async read(name: string): Promise<PolicyParameter | undefined> {
    const out = await this.ssm().send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }));
    const found = out.Parameters?.find((p) => p.Name === name);
    if (!found) return undefined;
    return {
      ...parameterSummary(found),
      ...(found.KeyId ? { keyId: found.KeyId } : {}),
      ...(found.DataType ? { dataType: found.DataType } : {}),
      ...(found.AllowedPattern !== undefined ? { allowedPattern: found.AllowedPattern } : {}),
    };
  }

  async write(parameter: PolicyParameter, plan: PolicyPlan): Promise<{ version: number; tier: string }> {
    const secure = parameter.type === 'SecureString';
    const current = (await this.ssm().send(new GetParameterCommand({ Name: parameter.name, WithDecryption: secure }))).Parameter;
    if (current?.Version !== parameter.version) {
      throw new ConcurrentUpdateError(`${parameter.name} changed while its policies were being set (version ${current?.Version ?? '?'}, read as ${parameter.version}); nothing was written: run the command again`);
    }
    const value = current.Value ?? '';
    let out;
    try {
      out = await this.ssm().send(
        new PutParameterCommand({
          Name: parameter.name,
          Value: value,
          Type: parameter.type as ParameterType,
          Overwrite: true,
          ...(secure && parameter.keyId ? { KeyId: parameter.keyId } : {}),
          ...(parameter.description !== undefined ? { Description: parameter.description } : {}),
          ...(parameter.dataType ? { DataType: parameter.dataType } : {}),
          ...(parameter.allowedPattern !== undefined ? { AllowedPattern: parameter.allowedPattern } : {}),
          Tier: plan.tier as ParameterTier,
          Policies: policiesParameter(plan.policies),
        }),
      );
    } catch (e) {
      // Whatever the service says about a rejected write, the value is not repeated in it.
      const err = e as Error;
      const safe = new Error(masked(err.message, value));
      safe.name = err.name;
      throw safe;
    }
    const version = out.Version ?? parameter.version + 1;
    if (version !== parameter.version + 1) {
      // PutParameter has no condition: a write between our read and ours was overwritten with the value we read.
      throw new ConcurrentUpdateError(
        `${parameter.name}: another write landed while its policies were being set (now version ${version}, read as ${parameter.version}); version ${version} holds the value of version ${parameter.version} with the new policies: check the parameter's history`,
      );
    }
    return { version, tier: out.Tier ?? plan.tier };
  }

  private ssm(): SSMClient {
    return this.clients.get(SSMClient, this.region);
  }
}
