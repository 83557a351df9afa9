export * from './automation.js';
export * from './firing.js';
export * from './fire.js';
export * from './remediation.js';
export * from './period.js';
export * from './office-hours.js';
export * from './night-resize.js';
export * from './ops-items.js';
