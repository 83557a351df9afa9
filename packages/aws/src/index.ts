export * from './table.js';
export * from './clients.js';
export * from './ami/index.js';
export * from './errors.js';
export * from './own-account.js';
export * from './ebs/index.js';
export * from './runbooks/index.js';
export * from './scheduler-wake-up.js';
