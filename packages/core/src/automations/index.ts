export * from './period.js';
export * from './office-hours.js';
export * from './night-resize.js';
