import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClientConfig } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Settings shared by every client: an endpoint (localcloud), credentials, a retry strategy. Empty in AWS. */
export type ClientSettings = Pick<SSMClientConfig, 'endpoint' | 'credentials' | 'retryStrategy' | 'maxAttempts'>;

/** Any SDK v3 client class. */
export type ClientClass<C> = new (config: ClientSettings & { region: string }) => C;

/**
 * One client per service and region, created on first use and reused for the life of the Lambda container.
 * Adapters name the client class they need (`clients.get(EC2Client, region)`), so a function bundles and loads
 * only the SDK clients it uses. The SDK reads AWS_ENDPOINT_URL itself: no code here knows about localcloud.
 */
export class AwsClients {
  private readonly cache = new Map<unknown, Map<string, unknown>>();
  private document: DynamoDBDocumentClient | undefined;

  constructor(
    readonly homeRegion: string,
    private readonly settings: ClientSettings = {},
  ) {}

  get<C>(Client: ClientClass<C>, region = this.homeRegion): C {
    let byRegion = this.cache.get(Client);
    if (!byRegion) this.cache.set(Client, (byRegion = new Map<string, unknown>()));
    // The region argument wins over anything in settings: a client is for exactly one region.
    if (!byRegion.has(region)) byRegion.set(region, new Client({ ...this.settings, region }));
    return byRegion.get(region) as C;
  }

  /** The DynamoDB document client of the home region (the state table lives there). */
  dynamo(): DynamoDBDocumentClient {
    this.document ??= DynamoDBDocumentClient.from(this.get(DynamoDBClient), { marshallOptions: { removeUndefinedValues: true } });
    return this.document;
  }
}
