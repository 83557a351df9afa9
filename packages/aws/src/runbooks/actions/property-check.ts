import { ActionFailure, matchesDesiredValues, selectProperty, type ActionContext } from '@opsauto/core';
import { callAwsApi } from '../aws-api.js';
import type { ActionEnv } from './action-module.js';

/** What aws:waitForAwsResourceProperty and aws:assertAwsResourceProperty learn from one call of their API. */
export interface PropertyCheck {
  response: Record<string, unknown>;
  selector: string;
  values: unknown[];
  desired: unknown[];
  matched: boolean;
}

/** Calls the inputs' API and selects `PropertySelector` from the response; matched when a value is a desired one. */
export async function checkProperty(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<PropertyCheck> {
  const selector = inputs.PropertySelector;
  const desired = inputs.DesiredValues;
  if (typeof selector !== 'string') throw new ActionFailure('PropertySelector must be a JSONPath expression');
  if (!Array.isArray(desired)) throw new ActionFailure('DesiredValues must be a list of values');
  const response = await callAwsApi(await env.clientsFor(context), context.region, inputs, ['Service', 'Api', 'PropertySelector', 'DesiredValues']);
  const values = selectProperty(response, selector);
  return { response, selector, values, desired: desired as unknown[], matched: matchesDesiredValues(values, desired as unknown[]) };
}
