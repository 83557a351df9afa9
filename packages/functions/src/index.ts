export * from './manifest.js';
export { sleep } from './sleep.js';
export * from './runbook-policy.js';
export * from './runbook-roles.js';
export * from './automations.js';
export * from './observability.js';
