export * from './ssm-parameter-catalog.js';
export * from './sns-notice-publisher.js';
