// The runbook engine as the worker runs it: core's interpreter (with its YAML parser and JSONPath) and the AWS
// adapters. runbook-worker imports this module with `await import()` on its first event, so a cold start loads only
// the event schema and the middleware; bundled with code splitting, all of this is a chunk read at that first event.
export { ActionFailure, continueExecution, ForbiddenError, planStart, runExecution, startExecution } from '@opsauto/core';
export { ec2InstanceFinder, runbookEngineAdapters } from '@opsauto/aws/runbooks';
export { mayAssume, runbookStartPolicy } from './runbook-policy.js';
