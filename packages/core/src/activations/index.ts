export * from './ports.js';
export * from './tokens.js';
export * from './in-memory-stores.js';
export * from './enrollment.js';
export * from './sweep.js';
export * from './issue.js';
export * from './source-failures.js';
