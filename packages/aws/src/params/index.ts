export * from './ssm-parameter-catalog.js';
export * from './sns-notice-publisher.js';
export * from './ssm-parameter-policies.js';
export * from './dynamo-notice-store.js';
export * from './adapters.js';
