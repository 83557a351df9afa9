import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClientConfig } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Settings shared by every client: an endpoint (localcloud), credentials, a retry strategy. Empty in AWS. */
export type ClientSettings = Pick<SSMClientConfig, 'endpoint' | 'credentials' | 'retryStrategy' | 'maxAttempts'>;

/** Any SDK v3 client class. */
export type ClientClass<C> = new (config: ClientSettings & { region: string }) => C;

/** What a client's owner wants to know of its calls. */
export interface ClientObserver {
  /**
   * An AWS call was answered with a throttling error: called for every such answer, the attempts the SDK retries
   * and the last one it gives up on alike. `service` is the client's (`EC2`, `SSM`), `errorName` AWS's error code.
   */
  throttled?: (service: string, errorName: string) => void;
}

/** The SDK's throttling error codes (@smithy/service-error-classification THROTTLING_ERROR_CODES) and SSM's own. */
const THROTTLING_ERRORS = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TooManyUpdates',
  'TransactionInProgressException',
]);

/** Whether an SDK error is a throttling answer, as the SDK's retry strategy classifies one. */
export function isThrottlingError(error: unknown): boolean {
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } } | null;
  if (!e || typeof e !== 'object') return false;
  return e.$metadata?.httpStatusCode === 429 || e.$retryable?.throttling === true || (typeof e.name === 'string' && THROTTLING_ERRORS.has(e.name));
}

type Next = (args: unknown) => Promise<unknown>;
interface StackOwner {
  middlewareStack: { add(middleware: (next: Next) => Next, options: { step: 'finalizeRequest'; priority: 'low'; name: string }): void };
}

/**
 * Tells `observer` of each throttling answer: a middleware inside the SDK's retry loop (finalizeRequest, low
 * priority, after the retry middleware), so that it sees every attempt and not only the last.
 */
function observeThrottling(client: StackOwner, service: string, observer: ClientObserver): void {
  const throttled = observer.throttled;
  if (!throttled) return;
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (e) {
        if (isThrottlingError(e)) throttled(service, (e as Error).name);
        throw e;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'opsautoThrottleObserver' },
  );
}

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
    /** Told of throttling answers; clients for other roles and accounts made from these keep it (`observer`). */
    readonly observer: ClientObserver = {},
  ) {}

  get<C>(Client: ClientClass<C>, region = this.homeRegion): C {
    let byRegion = this.cache.get(Client);
    if (!byRegion) this.cache.set(Client, (byRegion = new Map<string, unknown>()));
    // The region argument wins over anything in settings: a client is for exactly one region.
    if (!byRegion.has(region)) {
      const client = new Client({ ...this.settings, region });
      // serviceId (`EC2`, `SSM`) survives minification; a class name may not.
      const service = (client as { config?: { serviceId?: string } }).config?.serviceId ?? Client.name.replace(/Client$/, '');
      observeThrottling(client as StackOwner, service, this.observer);
      byRegion.set(region, client);
    }
    return byRegion.get(region) as C;
  }

  /** The DynamoDB document client of the home region (the state table lives there). */
  dynamo(): DynamoDBDocumentClient {
    this.document ??= DynamoDBDocumentClient.from(this.get(DynamoDBClient), { marshallOptions: { removeUndefinedValues: true } });
    return this.document;
  }
}
