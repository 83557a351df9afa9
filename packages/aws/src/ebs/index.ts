export * from './account-clients.js';
export * from './ec2-volume-inventory.js';
export * from './ssm-ops-center.js';
export * from './dynamo-volume-store.js';
export * from './adapters.js';
