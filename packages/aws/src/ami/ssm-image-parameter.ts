import { GetParameterCommand, LabelParameterVersionCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ImageParameter } from '@opsauto/core';
import type { AwsClients } from '../clients.js';

/** ImageParameter over SSM Parameter Store, with DataType aws:ec2:image so EC2 can launch from it directly. */
export class SsmImageParameter implements ImageParameter {
  constructor(private readonly clients: AwsClients) {}

  async put(region: string, name: string, imageId: string, description: string): Promise<number> {
    const out = await this.clients.get(SSMClient, region).send(
      new PutParameterCommand({ Name: name, Value: imageId, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true, Description: description }),
    );
    if (out.Version === undefined) throw new Error(`PutParameter ${name} returned no version`);
    return out.Version;
  }

  async label(region: string, name: string, version: number, labels: string[]): Promise<void> {
    const out = await this.clients.get(SSMClient, region).send(new LabelParameterVersionCommand({ Name: name, ParameterVersion: version, Labels: labels }));
    if (out.InvalidLabels?.length) throw new Error(`labels rejected by Parameter Store for ${name}: ${out.InvalidLabels.join(', ')}`);
  }

  async current(region: string, name: string): Promise<{ value: string; version: number } | undefined> {
    try {
      const out = await this.clients.get(SSMClient, region).send(new GetParameterCommand({ Name: name }));
      return { value: out.Parameter?.Value ?? '', version: out.Parameter?.Version ?? 0 };
    } catch (e) {
      if ((e as { name?: string }).name === 'ParameterNotFound') return undefined;
      throw e;
    }
  }
}
