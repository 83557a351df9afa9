import type { AwsActionModule } from './action-module.js';

/**
 * The Automation actions that call AWS, each with the import of its module. A module (and the SDK client it uses)
 * is loaded the first time a step needs it, so a worker's cold start pays for none of them. The engine runs the
 * other actions (aws:branch, aws:sleep, aws:pause, …) itself.
 */
export const AWS_ACTION_MODULES = {
  'aws:executeAwsApi': () => import('./execute-aws-api.js'),
  'aws:waitForAwsResourceProperty': () => import('./wait-for-property.js'),
  'aws:assertAwsResourceProperty': () => import('./assert-property.js'),
  'aws:changeInstanceState': () => import('./change-instance-state.js'),
  'aws:createImage': () => import('./create-image.js'),
  'aws:deleteImage': () => import('./delete-image.js'),
  'aws:createTags': () => import('./create-tags.js'),
  'aws:runCommand': () => import('./run-command.js'),
  'aws:executeScript': () => import('./execute-script.js'),
  'aws:invokeLambdaFunction': () => import('./invoke-lambda-function.js'),
} as const satisfies Record<string, () => Promise<AwsActionModule>>;

export type AwsAction = keyof typeof AWS_ACTION_MODULES;

/** The actions AwsActionRunner runs. */
export const AWS_ACTIONS = Object.keys(AWS_ACTION_MODULES) as AwsAction[];

/** Whether `action` is one the runner runs (and not one the engine runs itself). */
export function isAwsAction(action: string): action is AwsAction {
  return Object.hasOwn(AWS_ACTION_MODULES, action);
}

/**
 * The module of an AWS action, imported on first use (the runtime keeps it for the life of the container).
 *
 * @throws Error naming the action and the ones the runner knows, for any other action.
 * @example
 * const { start } = await loadAwsAction('aws:createImage');
 */
export async function loadAwsAction(action: string): Promise<AwsActionModule> {
  if (!isAwsAction(action)) throw new Error(`${action} is not an AWS action the runner knows (${AWS_ACTIONS.join(', ')})`);
  return AWS_ACTION_MODULES[action]();
}
