import { activationAdapters, type AwsClients } from '@opsauto/aws';
import type { ActivationIssuer, IssuanceStore, TokenStore } from '@opsauto/core';

/** What the activation clean-up sweep needs besides the managed nodes: the issuances, the tokens, DeleteActivation. */
export interface ActivationSweepWiring {
  issuances: Pick<IssuanceStore, 'listOpen' | 'updateOnce'>;
  /** Read for the tags a registered node gets (the token's). */
  tokens: Pick<TokenStore, 'get'>;
  activations: Pick<ActivationIssuer, 'delete'>;
}

export interface ActivationSweepWiringInput {
  clients: AwsClients;
  tableName: string;
}

export type ActivationSweepWiringFactory = (input: ActivationSweepWiringInput) => ActivationSweepWiring;

/** The deployed wiring of `activation-sweep`: the state table's stores and SSM (tests pass their own to `activationSweepHandler`). */
export const activationSweepWiring: ActivationSweepWiringFactory = ({ clients, tableName }) => {
  const { issuances, tokens, issuer } = activationAdapters(clients, tableName);
  return { issuances, tokens, activations: issuer };
};
