import type { ActivationIssuer, IssuanceStore, TokenStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { DynamoIssuanceStore } from './dynamo-issuance-store.js';
import { DynamoTokenStore } from './dynamo-token-store.js';
import { SsmActivationIssuer } from './ssm-activation-issuer.js';

/**
 * The activation issuer's AWS adapters: the token and issuance stores in the state table, and CreateActivation /
 * DeleteActivation in `region` (default: the clients' home region). `clients` must have the table's region as its home.
 *
 * @example
 * const { tokens, issuances, issuer } = activationAdapters(new AwsClients(env.AWS_REGION), env.TABLE_NAME);
 */
export function activationAdapters(clients: AwsClients, tableName: string, region?: string): { tokens: TokenStore; issuances: IssuanceStore; issuer: ActivationIssuer } {
  return { tokens: new DynamoTokenStore(clients, tableName), issuances: new DynamoIssuanceStore(clients, tableName), issuer: new SsmActivationIssuer(clients, region) };
}
