import { activationAdapters, type AwsClients } from '@opsauto/aws';
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

/** The deployed activation API's tokens, issuances and CreateActivation adapter: the state table's stores and SSM. */
export const activationWiring: ActivationWiringFactory = ({ clients, tableName, region }) => activationAdapters(clients, tableName, region);
