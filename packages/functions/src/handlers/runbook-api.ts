import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { DynamoExecutionStore, ownAccountId, RunbookSource } from '@opsauto/aws';
import { ec2InstanceFinder, eventBridgeDispatch } from '@opsauto/aws/runbooks';
import { planStart, startExecution, ValidationError, type StartPorts } from '@opsauto/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig, requireEnv } from '../config.js';
import { bodyText, excerpt, httpHandler, json } from '../handler.js';
import { logger } from '../logger.js';
import { count, METRIC_NAMES } from '../metrics.js';
import { runbookStartPolicy } from '../runbook-policy.js';

/** Bodies larger than this are refused before they are parsed (a start request is a few hundred bytes). */
const MAX_BODY_BYTES = 64 * 1024;

const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

/** `POST /runbooks/executions`: the fields of StartAutomationExecution the engine supports, camel-cased. */
export const startRequestBody = z.strictObject({
  documentName: z.string().check(z.regex(/^[a-zA-Z0-9_.-]{3,128}$/, 'must be an Automation document name (letters, digits, _ . -, 3 to 128 long)')),
  documentVersion: z.optional(z.string().check(z.regex(/^(\$DEFAULT|\$LATEST|[0-9]{1,8})$/, 'must be $DEFAULT, $LATEST or a version number'))),
  parameters: z.optional(z.record(text(128), z.union([z.string().check(z.maxLength(4096)), z.array(z.string().check(z.maxLength(4096))).check(z.maxLength(50)), z.number(), z.boolean()]))),
  targets: z.optional(z.array(z.strictObject({ Key: text(163), Values: z.array(text(256)).check(z.minLength(1), z.maxLength(50)) })).check(z.minLength(1), z.maxLength(5))),
  targetParameterName: z.optional(text(50)),
  maxConcurrency: z.optional(z.string().check(z.regex(/^([1-9][0-9]{0,6}|[1-9][0-9]?%|100%)$/, 'must be a number or a percentage such as 10 or 10%'))),
  maxErrors: z.optional(z.string().check(z.regex(/^([0-9]{1,7}|[0-9]{1,2}%|100%)$/, 'must be a number or a percentage such as 0 or 10%'))),
  idempotencyKey: z.optional(z.string().check(z.regex(/^[\w.:@/+=-]{1,64}$/, 'must be 1 to 64 letters, digits or _ . : @ / + = -'))),
});

type StartBody = z.output<typeof startRequestBody>;

/** The body as JSON, checked against `startRequestBody`; a ValidationError naming the first wrong field otherwise. */
function parseBody(event: APIGatewayProxyEventV2): StartBody {
  const raw = bodyText(event);
  if (raw === '') throw new ValidationError('the request needs a JSON body', 'body');
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) throw new ValidationError(`the body must be at most ${MAX_BODY_BYTES} bytes`, 'body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ValidationError('the body is not valid JSON', 'body');
  }
  const result = startRequestBody.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    // An unknown key is reported by its own name, not by its parent's.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    // Keys are the caller's: named by bounded, escaped excerpts.
    const field = [...issue.path, ...keys.slice(0, 1)].map((k) => excerpt(String(k))).join('.') || 'body';
    throw new ValidationError(`${field}: ${issue.message}`, field);
  }
  return result.data;
}

/** The caller as API Gateway's IAM authorizer saw it (its ARN); `api` when the route is not IAM-authorised. */
function caller(event: APIGatewayProxyEventV2): string {
  const iam = (event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } }).authorizer?.iam;
  return typeof iam?.userArn === 'string' && iam.userArn !== '' ? iam.userArn : 'api';
}

let source: RunbookSource | undefined;

/** Runbooks by name as the worker loads them: shipped with the function first, then the account's documents. */
function runbookLoader(): StartPorts['loadRunbook'] {
  source ??= new RunbookSource(clients, { shippedDirectory: resolve(process.env.RUNBOOKS_DIR ?? 'runbooks') });
  const loaded = source;
  return (name, version) => loaded.load(name, version);
}

/**
 * `POST /runbooks/executions` (IAM-authorised): starts a runbook as `runbook start` does (plan, create, dispatch
 * on opsauto's bus) for the signed caller, recorded as `triggeredBy`. Answers 201 `{executionId, status}`, or 200
 * when the idempotency key was used before; 400 naming the field for a bad body; the core's errors as their
 * statuses (see httpHandler).
 */
export const handler = httpHandler(async (event, context) => {
  const body = parseBody(event);
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const triggeredBy = caller(event);
  const accountId = await ownAccountId(clients, context.invokedFunctionArn);
  const tableName = requireEnv('TABLE_NAME');
  const ports: StartPorts = {
    accountId,
    region,
    // The allow-list and the role the execution runs as: refusals answer 403.
    policy: runbookStartPolicy(loadConfig(), accountId, tableName),
    loadRunbook: runbookLoader(),
    findInstances: ec2InstanceFinder(clients, region),
  };
  const { idempotencyKey, ...input } = body;
  // Namespaced so that an API key can never name an execution started by the CLI or an event.
  const { request } = await planStart({ ...input, idempotencyKey: `api:${idempotencyKey ?? randomUUID()}`, triggeredBy }, ports);
  const store = new DynamoExecutionStore(clients, tableName);
  const { execution, created } = await startExecution(request, { store, clock: systemClock, newId: randomUUID });
  if (created) count(METRIC_NAMES.executionsStarted);
  // A replay of a start whose dispatch was lost dispatches again: the worker runs an execution once whatever the count.
  if (created || execution.status === 'Pending') await eventBridgeDispatch(clients, requireEnv('EVENT_BUS_NAME'))([execution.executionId]);
  logger.info('runbook execution requested over HTTP', { executionId: execution.executionId, created });
  return json(created ? 201 : 200, { executionId: execution.executionId, status: execution.status });
});
