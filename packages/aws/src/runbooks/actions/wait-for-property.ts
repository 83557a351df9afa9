import type { ActionContext, ActionResult, JsonValue } from '@opsauto/core';
import type { ActionEnv } from './action-module.js';
import { checkProperty } from './property-check.js';

/** aws:waitForAwsResourceProperty: done when the selected property has a desired value, else waiting. */
export async function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const check = await checkProperty(inputs, context, env);
  return check.matched ? { kind: 'done', response: check.response } : env.waiting(context, null);
}

/** Looks again, exactly as the first time: the property carries all the state there is. */
export function poll(inputs: Record<string, unknown>, _state: JsonValue, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  return start(inputs, context, env);
}
