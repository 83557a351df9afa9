import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Settings shared by every client: an endpoint (localcloud), credentials, a retry strategy. Empty in AWS. */
export type ClientSettings = Pick<SSMClientConfig, 'endpoint' | 'credentials' | 'retryStrategy' | 'maxAttempts'>;

/**
 * One client per service and region, created on first use and reused for the life of the Lambda container.
 * The SDK reads AWS_ENDPOINT_URL itself, so in the local stage no code here knows about localcloud.
 */
export class AwsClients {
  private readonly cache = new Map<string, unknown>();

  constructor(
    readonly homeRegion: string,
    private readonly settings: ClientSettings = {},
  ) {}

  ssm(region = this.homeRegion): SSMClient {
    return this.get(`ssm:${region}`, () => new SSMClient({ region, ...this.settings }));
  }

  ec2(region = this.homeRegion): EC2Client {
    return this.get(`ec2:${region}`, () => new EC2Client({ region, ...this.settings }));
  }

  dynamo(): DynamoDBDocumentClient {
    return this.get('dynamo', () =>
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: this.homeRegion, ...this.settings }), {
        marshallOptions: { removeUndefinedValues: true },
      }),
    );
  }

  private get<T>(key: string, create: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, create());
    return this.cache.get(key) as T;
  }
}
