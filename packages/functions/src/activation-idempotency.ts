import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ActivationError, RETRY_AFTER_SECONDS, type ActivationResponse, type IssuanceKey, type IssueOnce } from '@opsauto/core';
import type { AwsClients } from '@opsauto/aws';
import type { Context } from 'aws-lambda';

/** Idempotency records of the activation API: `pk` `idempotency#activations#<SHA-256 of token id, hostname, key>`. */
export const ACTIVATION_IDEMPOTENCY_PREFIX = 'idempotency#activations';

/**
 * Powertools' DynamoDB persistence in the single table: the record's key is `pk` (the hashed idempotency key, under
 * ACTIVATION_IDEMPOTENCY_PREFIX) with the constant `sk` `idempotency`, so that records spread over partitions
 * instead of sharing the one that Powertools' own composite-key mode (`staticPkValue`) puts them all in. Its expiry
 * is the table's TTL attribute `expiresAt` (epoch seconds).
 */
class StateTablePersistence extends DynamoDBPersistenceLayer {
  protected override getKey(idempotencyKey: string): Record<string, AttributeValue> {
    return { pk: { S: idempotencyKey }, sk: { S: 'idempotency' } };
  }
}

/** Powertools errors that mean the table failed us: the caller retries (503). */
const UNAVAILABLE = new Set(['IdempotencyPersistenceLayerError', 'IdempotencyInconsistentStateError', 'IdempotencyUnknownError']);

/**
 * IssueOnce with Powertools idempotency (@aws-lambda-powertools/idempotency, DynamoDBPersistenceLayer) in the state
 * table. The record is claimed (conditional put, INPROGRESS until the Lambda's remaining time) before the token's
 * use is consumed, so two concurrent retries make one activation; it then holds the response, activation code
 * included (encrypted at rest with the table), for `lifetimeSeconds`, the activation's own life, so that a server
 * that lost the first answer can still register; then the table's TTL removes it. A failure drops the claim.
 *
 * @example
 * const issueOnce = powertoolsIssueOnce(clients, 'opsauto-prod-state', 3600, context);
 * await issueOnce({ tokenId, hostname, idempotencyKey }, () => issueNew(...));
 */
export function powertoolsIssueOnce(clients: AwsClients, tableName: string, lifetimeSeconds: number, context: Context): IssueOnce {
  const persistenceStore = persistence(clients, tableName);
  const config = new IdempotencyConfig({ expiresAfterSeconds: lifetimeSeconds, hashFunction: 'sha256', throwOnNoIdempotencyKey: true, lambdaContext: context });
  const once = makeIdempotent((_key: IssuanceKey, issue: () => Promise<ActivationResponse>) => issue(), { persistenceStore, config, keyPrefix: ACTIVATION_IDEMPOTENCY_PREFIX });
  return async (key, issue) => {
    try {
      return await once({ tokenId: key.tokenId, hostname: key.hostname, idempotencyKey: key.idempotencyKey }, issue);
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === 'IdempotencyAlreadyInProgressError') {
        throw new ActivationError('RequestInProgress', 'a request with this idempotency key is being served; retry in 1 s', { retryAfterSeconds: 1 });
      }
      if (UNAVAILABLE.has(name)) {
        throw new ActivationError('ServiceUnavailable', `the idempotency record could not be kept (${name}); retry in ${RETRY_AFTER_SECONDS} s`, { retryAfterSeconds: RETRY_AFTER_SECONDS });
      }
      throw e;
    }
  };
}

const layers = new Map<string, StateTablePersistence>();

/** One persistence layer per table and container (Powertools configures a layer once, at its first use). */
function persistence(clients: AwsClients, tableName: string): StateTablePersistence {
  let layer = layers.get(tableName);
  if (!layer) {
    layer = new StateTablePersistence({ tableName, keyAttr: 'pk', expiryAttr: 'expiresAt', awsSdkV3Client: clients.get(DynamoDBClient) });
    layers.set(tableName, layer);
  }
  return layer;
}
