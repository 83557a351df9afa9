export * from './document.js';
export * from './actions.js';
export * from './values.js';
export * from './interpolate.js';
export * from './selector.js';
export * from './branch.js';
export * from './execution.js';
