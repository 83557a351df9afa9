import type { ActionContext, ActionResult, JsonValue } from '@opsauto/core';
import type { AwsClients } from '../../clients.js';

/**
 * What the runner lends an action module: the clients that act for an execution and the shape of a waiting
 * result. Modules hold no state of their own, so a module loaded once serves every execution of the container.
 */
export interface ActionEnv {
  /** The clients that act for this execution: its `assumeRole`'s when the document names one, the backend's else. */
  clientsFor(context: ActionContext): Promise<AwsClients>;
  /** A result that asks to be polled again after the runner's poll interval, carrying `state` to that poll. */
  waiting(context: ActionContext, state: JsonValue): ActionResult;
  /** The backend's own clients (not the execution's role): aws:executeScript invokes its runner with them. */
  ownClients: AwsClients;
  /** The name (or ARN) of the aws:executeScript runner function, when the worker has one. */
  executeScriptFunction?: string;
}

/**
 * One AWS action, as its module under `actions/` exports it. `start` runs on a step's first try and again when a
 * worker resumes an attempt that died before its result was stored; `poll` runs while the step is waiting.
 */
export interface AwsActionModule {
  start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult>;
  poll(inputs: Record<string, unknown>, state: JsonValue, context: ActionContext, env: ActionEnv): Promise<ActionResult>;
}

/**
 * The tag aws:createImage puts on the image it creates, valued with the attempt's idempotency token: a resumed
 * attempt finds the image an interrupted run created instead of creating another.
 */
export const IDEMPOTENCY_TAG = 'opsauto:idempotency-token';

/** The `poll` of an action that ends when it is started: a poll of it is a bug of the caller. */
export function nothingToPoll(action: string): AwsActionModule['poll'] {
  return () => Promise.reject(new Error(`${action} ends when it is started: there is nothing to poll`));
}
