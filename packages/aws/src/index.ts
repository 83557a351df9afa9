export * from './table.js';
export * from './clients.js';
export * from './ami/index.js';
export * from './errors.js';
export * from './ebs/index.js';
