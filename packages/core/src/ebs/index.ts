export * from './model.js';
export * from './rules.js';
export * from './ports.js';
export * from './scan.js';
export * from './in-memory-store.js';
