export * from './dynamo-execution-store.js';
export * from './action-runner.js';
export { IDEMPOTENCY_TAG, type ActionEnv, type AwsActionModule } from './actions/action-module.js';
export * from './actions/registry.js';
export * from './aws-api.js';
export * from './runbook-source.js';
export * from './engine-adapters.js';
export * from './approval-notifications.js';
