export * from './dynamo-execution-store.js';
export * from './action-runner.js';
export * from './aws-api.js';
export * from './runbook-source.js';
export * from './engine-adapters.js';
