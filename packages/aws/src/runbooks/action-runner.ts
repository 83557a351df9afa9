import type { ActionContext, ActionResult, ActionRunner, JsonValue } from '@opsauto/core';
import type { AwsClients, ClientSettings } from '../clients.js';
import type { ActionEnv } from './actions/action-module.js';
import { loadAwsAction } from './actions/registry.js';

/** How long a waiting action waits before it looks again, by default. */
export const DEFAULT_POLL_INTERVAL_MS = 5_000;

/** Assumed-role clients kept at most (one set per role and execution); the least recently used go first. */
const MAX_ROLE_SESSIONS = 32;

export interface AwsActionRunnerOptions {
  /** The settings `clients` was built with (endpoint, retry strategy): clients acting as an assumed role use them too. */
  settings?: ClientSettings;
  /** How long a waiting action (a property, an instance state, an image) waits between looks. Default 5000 ms. */
  pollIntervalMs?: number;
  /** Epoch ms by which assumed-role credentials are renewed: the virtual clock under localcloud. Default `Date.now`. */
  now?: () => number;
  /** The aws:executeScript runner function (name or ARN), invoked with the backend's own credentials. */
  executeScriptFunction?: string;
}

/**
 * Runs the Automation actions that call AWS, in the execution's region, as the document's `assumeRole` when it
 * names one (STS AssumeRole, session `opsauto-runbook-<execution id prefix>`) and with the backend's own
 * credentials otherwise. Inputs arrive validated (actionRules) and interpolated. Each action is a module under
 * `actions/`, loaded when a step first needs it (actions/registry.ts).
 *
 * Resumed attempts (`start` again after a worker died) do not repeat effects: aws:changeInstanceState only asks for
 * the state changes the instances still need, aws:createImage adopts the image tagged with the attempt's
 * idempotency token, aws:deleteImage and aws:createTags are idempotent. aws:executeAwsApi calls its API again: it
 * cannot know what an arbitrary API did.
 *
 * @example
 * ```ts
 * const runner = new AwsActionRunner(new AwsClients(process.env.AWS_REGION!));
 * await runner.start('aws:executeAwsApi', { Service: 'rds', Api: 'StopDBInstance', DBInstanceIdentifier: 'db-1' }, context);
 * ```
 */
export class AwsActionRunner implements ActionRunner {
  private readonly pollIntervalMs: number;
  private readonly roleClients = new Map<string, AwsClients>();
  private readonly env: ActionEnv;

  constructor(
    private readonly clients: AwsClients,
    private readonly options: AwsActionRunnerOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.env = {
      clientsFor: (context) => this.clientsFor(context),
      waiting: (context, state) => ({ kind: 'waiting', nextCheckAt: new Date(context.now().getTime() + this.pollIntervalMs), state }),
      ownClients: clients,
      executeScriptFunction: options.executeScriptFunction,
    };
  }

  async start(action: string, inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult> {
    return (await loadAwsAction(action)).start(inputs, context, this.env);
  }

  async poll(action: string, inputs: Record<string, unknown>, state: JsonValue, context: ActionContext): Promise<ActionResult> {
    return (await loadAwsAction(action)).poll(inputs, state, context, this.env);
  }

  /** The clients that act for this execution: its role's when the document names one, the backend's own else. */
  private async clientsFor(context: ActionContext): Promise<AwsClients> {
    const roleArn = context.assumeRole;
    if (!roleArn) return this.clients;
    const sessionName = runbookSessionName(context.executionId);
    const key = `${roleArn} ${sessionName}`;
    let clients = this.roleClients.get(key);
    if (!clients) {
      // STS only for documents that name a role: most runbooks never need it.
      const { assumedRoleClients } = await import('./role-clients.js');
      // Another step may have made them while the module loaded.
      clients = this.roleClients.get(key) ?? assumedRoleClients(this.clients, roleArn, sessionName, this.options.settings, this.options.now);
    }
    this.roleClients.delete(key); // re-inserted: most recently used last
    this.roleClients.set(key, clients);
    if (this.roleClients.size > MAX_ROLE_SESSIONS) this.roleClients.delete(this.roleClients.keys().next().value!);
    return clients;
  }
}

/** The STS session name of an execution's calls (it shows in CloudTrail): `opsauto-runbook-` and the id's first 8 characters. */
export function runbookSessionName(executionId: string): string {
  return `opsauto-runbook-${executionId.slice(0, 8).replace(/[^\w+=,.@-]/g, '-')}`;
}
