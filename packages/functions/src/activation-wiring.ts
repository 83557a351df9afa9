import type { AwsClients } from '@opsauto/aws';
import type { ActivationIssuer, IssuanceStore, TokenStore } from '@opsauto/core';

/** The stores and the SSM adapter the activation API issues through (the token checks and the rest are its own). */
export interface ActivationWiring {
  tokens: TokenStore;
  issuances: IssuanceStore;
  issuer: ActivationIssuer;
}

export interface ActivationWiringInput {
  clients: AwsClients;
  tableName: string;
  /** The region activations are created in (the function's own). */
  region: string;
}

export type ActivationWiringFactory = (input: ActivationWiringInput) => ActivationWiring;

/**
 * The tokens, issuances and CreateActivation adapter of the deployed activation API. NOT WIRED YET: aws's
 * `DynamoTokenStore`, `DynamoIssuanceStore` and `SsmActivationIssuer` come with part A of issue 12; at merge this
 * becomes
 *   ({ clients, tableName, region }) => ({
 *     tokens: new DynamoTokenStore(clients, tableName),
 *     issuances: new DynamoIssuanceStore(clients, tableName),
 *     issuer: new SsmActivationIssuer(clients, region),
 *   })
 * Until then every request answers 500 (and logs why) instead of pretending to issue.
 */
export const activationWiring: ActivationWiringFactory = () => {
  throw new Error('the activation API is not wired in this build: DynamoTokenStore/DynamoIssuanceStore/SsmActivationIssuer (issue 12, part A) are missing');
};
