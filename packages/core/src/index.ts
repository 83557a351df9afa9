export * from './config.js';
export * from './clock.js';
export * from './errors.js';
export * from './bounded-concurrency.js';
export * from './ami/index.js';
export * from './events/eventbridge.js';
export * from './ebs/index.js';
export * from './runbooks/index.js';
