import { ActionFailure, type ActionContext, type ActionResult } from '@opsauto/core';
import { nothingToPoll, type ActionEnv } from './action-module.js';
import { checkProperty } from './property-check.js';

/** aws:assertAwsResourceProperty: done when the selected property has a desired value, failed otherwise. */
export async function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const { response, selector, values, desired, matched } = await checkProperty(inputs, context, env);
  if (!matched) {
    const found = values.length === 0 ? 'selects nothing' : `is ${JSON.stringify(values)}`;
    throw new ActionFailure(`${selector} ${found}, not one of the desired values ${JSON.stringify(desired)}`);
  }
  return { kind: 'done', response };
}

export const poll = nothingToPoll('aws:assertAwsResourceProperty');
