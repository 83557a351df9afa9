import type { AwsClients } from '@opsauto/aws';
import type { ActivationIssuer, IssuanceStore, TokenStore } from '@opsauto/core';

/** What the activation clean-up sweep needs besides the managed nodes: the issuances, the tokens, DeleteActivation. */
export interface ActivationSweepWiring {
  issuances: Pick<IssuanceStore, 'listOpen' | 'update'>;
  /** Read for the tags a registered node gets (the token's). */
  tokens: Pick<TokenStore, 'get'>;
  activations: Pick<ActivationIssuer, 'delete'>;
}

export interface ActivationSweepWiringInput {
  clients: AwsClients;
  tableName: string;
}

export type ActivationSweepWiringFactory = (input: ActivationSweepWiringInput) => ActivationSweepWiring;

/**
 * The deployed wiring of `activation-sweep`. NOT WIRED YET: the DynamoDB stores and the SSM issuer are built in
 * another part of issue 12 (packages/aws/src/activations/dynamo-issuance-store.ts, dynamo-token-store.ts,
 * ssm-activation-issuer.ts). Once they exist, this becomes:
 *
 * ```ts
 * export const activationSweepWiring: ActivationSweepWiringFactory = ({ clients, tableName }) => ({
 *   issuances: new DynamoIssuanceStore(clients, tableName),
 *   tokens: new DynamoTokenStore(clients, tableName),
 *   activations: new SsmActivationIssuer(clients),
 * });
 * ```
 *
 * Until then an invocation fails with this explanation (never a silent no-op); tests pass their own wiring to
 * `activationSweepHandler`.
 */
export const activationSweepWiring: ActivationSweepWiringFactory = () => {
  throw new Error('activation-sweep: the issuance and token stores are not wired yet (packages/functions/src/activation-sweep-wiring.ts)');
};
