export * from './dynamo-publication-store.js';
export * from './ec2-image-catalog.js';
export * from './ssm-image-parameter.js';
export * from './adapters.js';
