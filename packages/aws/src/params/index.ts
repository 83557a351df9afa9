export * from './ssm-parameter-catalog.js';
export * from './sns-notice-publisher.js';
export * from './ssm-parameter-policies.js';
