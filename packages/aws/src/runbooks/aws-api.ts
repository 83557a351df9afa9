import { Readable } from 'node:stream';
import * as ec2 from '@aws-sdk/client-ec2';
import * as rds from '@aws-sdk/client-rds';
import * as s3 from '@aws-sdk/client-s3';
import * as sns from '@aws-sdk/client-sns';
import * as ssm from '@aws-sdk/client-ssm';
import { ActionFailure } from '@opsauto/core';
import type { ClientClass, ClientSettings } from '../clients.js';

// The AWS APIs a runbook may call by name (aws:executeAwsApi and the property actions), through SDK v3. Documents
// name services as boto3 does (`ec2`, `rds`, `s3`, `ssm`, `sns`) and operations in PascalCase (`StopDBInstance`);
// the parameters and the response members have the same names in boto3 and in SDK v3.

/**
 * The S3 client runbooks use. On a custom endpoint (localcloud, or any S3-compatible store named by
 * AWS_ENDPOINT_URL) buckets are addressed path-style, as such endpoints expect; and a bucket in another region is
 * reached by following S3's redirect, as boto3 (which Automation uses) does.
 */
export class RunbookS3Client extends s3.S3Client {
  constructor(config: ClientSettings & { region: string }) {
    super({ ...config, forcePathStyle: hasCustomEndpoint(config), followRegionRedirects: true });
  }
}

function hasCustomEndpoint(config: ClientSettings): boolean {
  return config.endpoint !== undefined || Boolean(process.env.AWS_ENDPOINT_URL_S3) || Boolean(process.env.AWS_ENDPOINT_URL);
}

interface ApiService {
  client: ClientClass<unknown>;
  /** The client module: its `<Operation>Command` classes. */
  module: Readonly<Record<string, unknown>>;
}

/** The services aws:executeAwsApi may call, by their boto3 names. */
const SERVICES: Readonly<Record<string, ApiService>> = {
  ec2: { client: ec2.EC2Client, module: ec2 },
  rds: { client: rds.RDSClient, module: rds },
  s3: { client: RunbookS3Client, module: s3 },
  sns: { client: sns.SNSClient, module: sns },
  ssm: { client: ssm.SSMClient, module: ssm },
};

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
 * resolveApi('rds', 'StopDBInstance'); // { client: RDSClient, operation: 'StopDBInstance', Command: StopDBInstanceCommand }
 */
export function resolveApi(service: unknown, api: unknown): ResolvedApi {
  if (typeof service !== 'string' || !Object.hasOwn(SERVICES, service)) {
    throw new ActionFailure(`Service ${JSON.stringify(service)} is not one runbooks may call (allowed: ${AWS_API_SERVICES.join(', ')})`);
  }
  const { client, module } = SERVICES[service];
  const operation = typeof api === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(api) ? operationIndex(service, module).get(operationKey(api)) : undefined;
  if (operation === undefined) throw new ActionFailure(`Api ${JSON.stringify(api)} is not an operation of the ${service} service`);
  return { client, operation, Command: module[`${operation}Command`] as CommandClass };
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
