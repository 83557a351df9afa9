// What the automation trigger runs, loaded with `await import()` on its first event (as runbook-engine.ts is for the
// worker): the core's automations and runbook planner, the AWS adapters and their SDK clients stay out of the cold
// start, which then loads only the event schema and the middleware.
export { awsAutomationInventory, DynamoAutomationCheckStore, DynamoExecutionStore, DynamoFollowUpStore, DynamoRemediationStore, ownAccountId, RunbookSource, ssmOpsItems } from '@opsauto/aws';
export { ec2InstanceFinder, eventBridgeDispatch, ssmManagedNodeFinder } from '@opsauto/aws/runbooks';
export { automationPatterns, fireAutomation, matchesEventPattern, NotFoundError, settleFollowUp, ValidationError } from '@opsauto/core';
export { automationStartPolicy } from './runbook-policy.js';
