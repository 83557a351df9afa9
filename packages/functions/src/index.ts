export * from './manifest.js';
export { sleep } from './sleep.js';
