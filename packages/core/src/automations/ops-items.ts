import { isSucceeded, isTerminal, type ExecutionStore } from '../runbooks/execution.js';

/** An OpsItem as an automation that remediates it needs it. */
export interface OpsItemView {
  id: string;
  status: string;
  /** `/aws/resources` ARNs, in order. */
  resourceArns: string[];
}

/** OpsCenter, for automations triggered by OpsItems. */
export interface OpsItemPort {
  get(opsItemId: string, region: string): Promise<OpsItemView | undefined>;
  /** Sets the status (when given) and writes `note` to the item's remediation note (OperationalData). */
  update(opsItemId: string, region: string, change: { status?: 'Open' | 'InProgress' | 'Resolved'; note: string }): Promise<void>;
  /**
   * Files an OpsItem (source `opsauto`) about `resourceArn`, or answers the Open or InProgress one that has its
   * `dedupString` already. `data` is searchable OperationalData.
   */
  file(region: string, item: NewOpsItem): Promise<string>;
}

export interface NewOpsItem {
  title: string;
  description: string;
  dedupString: string;
  resourceArn: string;
  category: string;
  severity: '1' | '2' | '3' | '4';
  data: Record<string, string>;
}

/** An OpsItem remediation under way: the execution, and the item it settles when it ends. */
export interface FollowUp {
  executionId: string;
  automation: string;
  opsItemId: string;
  region: string;
}

export interface FollowUpStore {
  /**
   * Records that `followUp.executionId` remediates the item, unless another execution is remediating it now: one
   * remediation per item at a time, however many `OpsItem Update` events come (our own notes on the item raise
   * them too). Claiming again for the same execution succeeds (a retried delivery).
   */
  claim(followUp: FollowUp): Promise<{ claimed: true } | { claimed: false; executionId: string }>;
  get(executionId: string): Promise<FollowUp | undefined>;
  /** The remediation ended: the item may be remediated again. */
  release(followUp: FollowUp): Promise<void>;
}

/**
 * What `{{ event.opsItem.… }}` reads: the item's ID, and its first resource (ARN, and the ARN's last segment, such as
 * a volume's ID from `arn:aws:ec2:us-east-1:123456789012:volume/vol-0abc`).
 */
export function opsItemContext(item: OpsItemView): { id: string; status: string; resourceArn?: string; resourceId?: string } {
  const arn = item.resourceArns[0];
  return { id: item.id, status: item.status, ...(arn ? { resourceArn: arn, resourceId: arn.split(/[/:]/).at(-1) } : {}) };
}


/**
 * Settles an OpsItem remediation once its execution ended: resolved when it succeeded, back to Open with the outcome
 * otherwise, the execution named either way. The status is read from the store, not taken from the event that told
 * of the end (anyone in the account may put such an event on opsauto's bus). Nothing for an execution that
 * remediates no OpsItem, or that has not ended.
 */
export async function settleFollowUp(executionId: string, deps: { followUps: FollowUpStore; opsItems: OpsItemPort; store: Pick<ExecutionStore, 'get'> }): Promise<FollowUp | undefined> {
  const followUp = await deps.followUps.get(executionId);
  if (!followUp) return undefined;
  const status = (await deps.store.get(executionId))?.execution.status;
  if (!status || !isTerminal(status)) return undefined;
  const note = `${followUp.automation}: execution ${executionId} ended ${status}`;
  await deps.opsItems.update(followUp.opsItemId, followUp.region, isSucceeded(status) ? { status: 'Resolved', note } : { status: 'Open', note });
  await deps.followUps.release(followUp);
  return followUp;
}
