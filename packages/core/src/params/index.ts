export * from './policy.js';
export * from './deadlines.js';
export * from './ports.js';
export * from './sweep.js';
