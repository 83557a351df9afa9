import type { ActionContext, ActionResult } from '@opsauto/core';
import { callAwsApi } from '../aws-api.js';
import { nothingToPoll, type ActionEnv } from './action-module.js';

/**
 * aws:executeAwsApi: calls the `Service` / `Api` with the other inputs as its parameters; the response is the
 * step's. A resumed attempt calls the API again: it cannot know what an arbitrary API did.
 */
export async function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  return { kind: 'done', response: await callAwsApi(await env.clientsFor(context), context.region, inputs, ['Service', 'Api']) };
}

export const poll = nothingToPoll('aws:executeAwsApi');
