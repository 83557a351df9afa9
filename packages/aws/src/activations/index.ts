export * from './dynamo-token-store.js';
export * from './dynamo-issuance-store.js';
export * from './ssm-activation-issuer.js';
export * from './adapters.js';
export * from './ssm-managed-nodes.js';
export * from './dynamo-source-failures.js';
