export * from './model.js';
export * from './ports.js';
export * from './rules.js';
export * from './publish.js';
export * from './in-memory-store.js';
