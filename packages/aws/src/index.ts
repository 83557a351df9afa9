export * from './table.js';
export * from './clients.js';
export * from './ami/index.js';
export * from './errors.js';
export * from './own-account.js';
export * from './ebs/index.js';
// The runbook engine's action runner and adapters are '@opsauto/aws/runbooks' only: they import SDK clients with
// `await import()`, and esbuild makes every such import an entry point of any bundle that parses it, so reaching
// them from here would put whole SDK packages into the AMI publisher's and the scanner's cold start.
export * from './runbooks/dynamo-execution-store.js';
export * from './runbooks/runbook-source.js';
export * from './scheduler-wake-up.js';
export * from './automations/dynamo-remediation-store.js';
export * from './automations/dynamo-check-store.js';
export * from './automations/inventory.js';
export * from './automations/ssm-ops-items.js';
export * from './params/index.js';
export * from './activations/dynamo-source-failures.js';
