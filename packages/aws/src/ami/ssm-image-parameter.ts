import { GetParameterCommand, GetParameterHistoryCommand, LabelParameterVersionCommand, PutParameterCommand, SSMClient, UnlabelParameterVersionCommand } from '@aws-sdk/client-ssm';
import type { ImageParameter } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';

/** Parameter Store keeps this many versions of a parameter. */
export const MAX_PARAMETER_VERSIONS = 100;

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

  async makeRoom(region: string, name: string, currentVersion: number | undefined): Promise<void> {
    if (currentVersion === undefined || currentVersion < MAX_PARAMETER_VERSIONS) return;
    const ssm = this.clients.get(SSMClient, region);
    // History comes oldest first: the first entry is the version the next put pushes out.
    const oldest = (await ssm.send(new GetParameterHistoryCommand({ Name: name, MaxResults: 1 }))).Parameters?.[0];
    if (oldest?.Version !== undefined && oldest.Labels?.length) {
      await ssm.send(new UnlabelParameterVersionCommand({ Name: name, ParameterVersion: oldest.Version, Labels: oldest.Labels }));
    }
  }

  async current(region: string, name: string): Promise<{ value: string; version: number } | undefined> {
    try {
      const out = await this.clients.get(SSMClient, region).send(new GetParameterCommand({ Name: name }));
      return { value: out.Parameter?.Value ?? '', version: out.Parameter?.Version ?? 0 };
    } catch (e) {
      if (isAwsError(e, 'ParameterNotFound')) return undefined;
      throw e;
    }
  }
}
