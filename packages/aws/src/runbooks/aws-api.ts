import { Readable } from 'node:stream';
import { ActionFailure } from '@opsauto/core';
import type { AwsClients, ClientClass } from '../clients.js';

// The AWS APIs a runbook may call by name (aws:executeAwsApi and the property actions), through SDK v3. Documents
// name services as boto3 does (`ec2`, `rds`, `s3`, `ssm`, `sns`) and operations in PascalCase (`StopDBInstance`);
// the parameters and the response members have the same names in boto3 and in SDK v3.

interface ApiService {
  client: ClientClass<unknown>;
  /** The client module: its `<Operation>Command` classes. */
  module: Readonly<Record<string, unknown>>;
}

/**
 * The services aws:executeAwsApi may call, by their boto3 names. Each SDK client package is imported the first time
 * a step calls that service: a worker whose runbooks only stop instances never loads RDS, S3, SNS or SSM.
 */
const SERVICES: Readonly<Record<string, () => Promise<ApiService>>> = {
  ec2: async () => {
    const module = await import('@aws-sdk/client-ec2');
    return { client: module.EC2Client, module };
  },
  rds: async () => {
    const module = await import('@aws-sdk/client-rds');
    return { client: module.RDSClient, module };
  },
  s3: async () => {
    const [module, { RunbookS3Client }] = await Promise.all([import('@aws-sdk/client-s3'), import('./runbook-s3-client.js')]);
    return { client: RunbookS3Client, module };
  },
  sns: async () => {
    const module = await import('@aws-sdk/client-sns');
    return { client: module.SNSClient, module };
  },
  ssm: async () => {
    const module = await import('@aws-sdk/client-ssm');
    return { client: module.SSMClient, module };
  },
};

const loaded = new Map<string, Promise<ApiService>>();

/** The service's client package, imported once per container (a failed import is tried again next time). */
function loadService(service: string): Promise<ApiService> {
  let loading = loaded.get(service);
  if (!loading) {
    loading = SERVICES[service]();
    loaded.set(service, loading);
    loading.catch(() => loaded.delete(service));
  }
  return loading;
}

/** The boto3 service names a runbook may call. */
export const AWS_API_SERVICES: readonly string[] = Object.keys(SERVICES);

type CommandClass = new (input: object) => object;

export interface ResolvedApi {
  client: ClientClass<unknown>;
  /** The operation's name as the SDK spells it (`StopDBInstance`, whatever case the document used). */
  operation: string;
  Command: CommandClass;
}

const operationIndexes = new Map<string, Map<string, string>>();

/** Operation names of a service, keyed without case or underscores: `stop_db_instance` and `StopDBInstance` agree. */
function operationIndex(service: string, module: Readonly<Record<string, unknown>>): Map<string, string> {
  let index = operationIndexes.get(service);
  if (!index) {
    index = new Map();
    for (const [name, value] of Object.entries(module)) {
      if (/^[A-Z][A-Za-z0-9]*Command$/.test(name) && typeof value === 'function') index.set(operationKey(name.slice(0, -'Command'.length)), name.slice(0, -'Command'.length));
    }
    operationIndexes.set(service, index);
  }
  return index;
}

const operationKey = (api: string) => api.replace(/_/g, '').toLowerCase();

/**
 * The SDK client class and command of a `Service` / `Api` pair. Operation names match without regard to case or
 * underscores, so boto3's method names (`stop_db_instance`) work as well as the API's (`StopDBInstance`).
 *
 * @throws ActionFailure for a service outside the allowed ones, or an operation the service does not have.
 * @example
 * await resolveApi('rds', 'StopDBInstance'); // { client: RDSClient, operation: 'StopDBInstance', Command: StopDBInstanceCommand }
 */
export async function resolveApi(service: unknown, api: unknown): Promise<ResolvedApi> {
  if (typeof service !== 'string' || !Object.hasOwn(SERVICES, service)) {
    throw new ActionFailure(`Service ${JSON.stringify(service)} is not one runbooks may call (allowed: ${AWS_API_SERVICES.join(', ')})`);
  }
  const { client, module } = await loadService(service);
  const operation = typeof api === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(api) ? operationIndex(service, module).get(operationKey(api)) : undefined;
  if (operation === undefined) throw new ActionFailure(`Api ${JSON.stringify(api)} is not an operation of the ${service} service`);
  return { client, operation, Command: module[`${operation}Command`] as CommandClass };
}

/**
 * Calls the `Service` / `Api` of `inputs` in `region` with every input but `reserved` as its parameters, and
 * answers the response as plain JSON (see plainResponse).
 *
 * @throws ActionFailure for a service or operation runbooks may not call; AwsApiError when the call fails.
 * @example
 * await callAwsApi(clients, 'us-east-1', { Service: 'rds', Api: 'DescribeDBInstances', DBInstanceIdentifier: 'db-1' }, ['Service', 'Api']);
 */
export async function callAwsApi(clients: AwsClients, region: string, inputs: Record<string, unknown>, reserved: readonly string[]): Promise<Record<string, unknown>> {
  const { client, operation, Command } = await resolveApi(inputs.Service, inputs.Api);
  const params = Object.fromEntries(Object.entries(inputs).filter(([k]) => !reserved.includes(k)));
  const sdk = clients.get(client, region) as { send(command: object): Promise<unknown> };
  const output = await named(operation, () => sdk.send(new Command(params)));
  return plainResponse(operation, output);
}

/**
 * An AWS API call that failed, named after the operation: `StopDBInstance: InvalidDBInstanceState: Instance db-1 is
 * not in available state.` The service's error code is kept in `code`, the SDK's error in `cause`. Its name stays
 * `Error`: the message already says what the code would.
 */
export class AwsApiError extends Error {
  readonly code: string;
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    const err = cause instanceof Error ? cause : new Error(String(cause));
    // The code on the wire (`InvalidDBInstanceState`), as AWS and boto3 report it, rather than the SDK's class
    // name for it (`InvalidDBInstanceStateFault`).
    const wire = (err as { Code?: unknown }).Code;
    const code = typeof wire === 'string' && wire ? wire : err.name && err.name !== 'Error' ? err.name : '';
    super(`${operation}: ${code ? `${code}: ` : ''}${err.message}`, { cause });
    this.code = code;
  }
}

/** Runs `call`, turning its failure into an AwsApiError named after `operation`. */
export async function named<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw new AwsApiError(operation, e);
  }
}

/**
 * An SDK response as plain JSON, as it is selected from and stored: without `$metadata`, dates as ISO-8601 text,
 * binary values in base64, undefined members left out.
 *
 * @throws ActionFailure for a streaming response (S3 GetObject), which Automation does not support either; the
 *   stream is closed.
 * @example
 * plainResponse({ $metadata: {}, Images: [{ CreationDate: new Date(0) }] }); // { Images: [{ CreationDate: '1970-01-01T00:00:00.000Z' }] }
 */
export function plainResponse(operation: string, output: unknown): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...(typeof output === 'object' && output !== null ? output : {}) };
  delete rest.$metadata;
  const streams: Readable[] = [];
  const plain = toJson(rest, streams) as Record<string, unknown>;
  if (streams.length > 0) {
    streams.forEach((s) => s.destroy());
    throw new ActionFailure(`${operation} answers with a stream: streaming operations cannot be called from a runbook`);
  }
  return plain;
}

function toJson(value: unknown, streams: Readable[]): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Readable) {
    streams.push(value);
    return null;
  }
  if (Array.isArray(value)) return value.map((v: unknown) => toJson(v, streams) ?? null);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const plain = toJson(v, streams);
      if (plain !== undefined) out[k] = plain;
    }
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  return value;
}
