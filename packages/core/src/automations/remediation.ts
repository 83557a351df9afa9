import type { ConfigEvaluation } from './firing.js';

/**
 * A Config remediation: which automation acted on which evaluation (rule, resource, when it was evaluated), and the
 * execution that does it. One record per rule and resource, the latest evaluation acted on.
 */
export interface RemediationRecord extends Omit<ConfigEvaluation, 'compliance'> {
  automation: string;
  executionId: string;
  recordedAt: string;
}

/**
 * - `recorded`: first time this evaluation is acted on;
 * - `duplicate`: this same evaluation was recorded before (a redelivered or duplicated event): the execution it
 *   names is the one to start (starting is idempotent), never a second;
 * - `superseded`: a later evaluation of the rule and resource was acted on already (a late event): nothing to do.
 */
export type RemediationClaim = 'recorded' | 'duplicate' | 'superseded';

/** Where remediations are recorded: a conditional write keeps each evaluation to one execution. */
export interface RemediationStore {
  record(record: RemediationRecord): Promise<RemediationClaim>;
  /** Every rule's latest remediation of a resource. */
  listByResource(resourceId: string): Promise<RemediationRecord[]>;
}
