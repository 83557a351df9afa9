export * from './policy.js';
export * from './deadlines.js';
export * from './ports.js';
export * from './apply.js';
export * from './set-policies.js';
export * from './notify.js';
export * from './policy-action.js';
export * from './in-memory-notice-store.js';
