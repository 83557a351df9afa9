import type { LambdaRuntime } from '../lambda.js';
import type { Scheduler } from '../scheduler.js';
import { cloudformation } from './cloudformation.js';
import { ec2 } from './ec2.js';
import { events } from './events.js';
import { LAMBDA_OPERATIONS, lambdaService } from './lambda.js';
import { rds } from './rds.js';
import { s3 } from './s3.js';
import { schedulerService } from './scheduler.js';
import { sns } from './sns.js';
import { ssm } from './ssm.js';
import { sts } from './sts.js';
import type { ServiceDefinition } from './types.js';

/** The services whose definitions need nothing of a running emulator. A new service is added here. */
const SERVICES: readonly ServiceDefinition[] = [ssm, ec2, events, sts, rds, s3, sns, cloudformation];

/** Every service localcloud serves (DynamoDB aside, which dynalite serves), as the server registers them. */
export function serviceDefinitions(scheduler: Scheduler, lambda: LambdaRuntime): ServiceDefinition[] {
  return [...SERVICES, schedulerService(scheduler), lambdaService(lambda)];
}

/**
 * The AWS operations localcloud emulates, as `service:Operation` (the signing name, `ec2:DescribeVolumes`), read
 * from the services' `operations` maps: an operation added to a service is listed without more ado. Lambda's are
 * listed too; EventBridge Scheduler's and DynamoDB's are left out (no runbook step calls them).
 *
 * @example
 * emulatedOperations().includes('ec2:DescribeInstances'); // true
 */
export function emulatedOperations(): string[] {
  const lambda = LAMBDA_OPERATIONS.map((op) => `lambda:${op}`);
  return SERVICES.flatMap((s) => Object.keys(s.operations).map((op) => `${s.name}:${op}`)).concat(lambda).sort();
}
