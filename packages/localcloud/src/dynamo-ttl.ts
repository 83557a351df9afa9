/**
 * DynamoDB Time to Live, which dynalite lacks (it answers DescribeTimeToLive with DISABLED for ever and has no
 * UpdateTimeToLive): localcloud answers both operations in front of dynalite and deletes expired items itself.
 *
 * AWS behaviour kept (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html and
 * the developer guide's TTL pages): TableName may be the table's name or ARN; a table that does not exist is a
 * ResourceNotFoundException; enabling TTL that is enabled, or disabling TTL that is disabled, is a ValidationException,
 * as is a second change within an hour of the last; UpdateTimeToLive answers the TimeToLiveSpecification it was given
 * and DescribeTimeToLive the TimeToLiveDescription (status and, while enabled, AttributeName). An item expires when its
 * TTL attribute is a top-level Number of epoch seconds before now and not more than five years before now (AWS ignores
 * older values, and every other type). Kept simpler: the change takes effect at once (AWS shows ENABLING and DISABLING
 * for up to an hour).
 *
 * When: AWS deletes expired items in the background, typically within a few days of expiry, never exactly on time.
 * Here expired items are deleted at the next sweep, on the virtual clock: after the clock is moved (advance or set)
 * and otherwise at most once a virtual hour, whenever localcloud settles or ticks. Until then an expired item is
 * still read, queried and scanned, as on AWS. Sweeps delete through dynalite directly, so they are not counted as
 * calls, as AWS's own deletions are not requests of the account.
 *
 * The settings are kept in localcloud's state (persisted with it), with each table's creation time, so that a table
 * deleted and made again under the same name starts with TTL off, as on AWS.
 */
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { VirtualClock } from './clock.js';
import { AwsError } from './errors.js';
import type { Store } from './store.js';

const OPERATIONS = new Set(['UpdateTimeToLive', 'DescribeTimeToLive']);
/** A second change of a table's TTL within this long of the last is refused. */
const CHANGE_INTERVAL_MS = 3_600_000;
/** With the clock standing still, a sweep runs at most this often. */
const SWEEP_INTERVAL_MS = 3_600_000;
/** TTL values further in the past than this are ignored, as AWS ignores them. */
const OLDEST_EXPIRY_S = 5 * 365 * 86_400;

interface TableTtl {
  attributeName: string;
  enabled: boolean;
  /** When the setting last changed (virtual epoch ms), for the one-change-an-hour rule. */
  changedAt: number;
  /** The table's CreationDateTime when the setting was made: another table of the same name has TTL off. */
  tableCreated: number;
}

interface TtlState {
  tables: Record<string, TableTtl>;
}

interface TableDescription {
  CreationDateTime: number;
  KeySchema: { AttributeName: string }[];
}

/** TTL settings, their two API operations, and the sweep that deletes expired items. */
export class DynamoTtl {
  private lastSweep: { offsetMs: number; atMs: number } | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: VirtualClock,
    /** dynalite's own endpoint, for table descriptions and the sweep's reads and deletions. */
    private readonly dynaliteUrl: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Whether localcloud answers this DynamoDB operation here rather than passing it to dynalite. */
  handles(operation: string): boolean {
    return OPERATIONS.has(operation);
  }

  /** Answers UpdateTimeToLive or DescribeTimeToLive (awsJson 1.0), errors included. */
  async serve(operation: string, body: string, res: ServerResponse): Promise<void> {
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(payload));
    };
    try {
      let input: unknown;
      try {
        input = body ? JSON.parse(body) : {};
      } catch {
        throw new AwsError('SerializationException', 'the request body is not JSON');
      }
      const request = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
      send(200, operation === 'UpdateTimeToLive' ? await this.update(request) : await this.describeTtl(request));
    } catch (e) {
      const err = e instanceof AwsError ? e : new AwsError('InternalServerError', e instanceof Error ? e.message : String(e), 500);
      send(err.status, { __type: `com.amazonaws.dynamodb.v20120810#${err.code}`, message: err.message });
    }
  }

  /**
   * Sweeps when it is due: the virtual clock was moved since the last sweep, or an hour of virtual time has passed.
   * Never throws (it runs from timers): a failed sweep is logged and tried again next time.
   */
  async sweepIfDue(): Promise<number> {
    if (this.running) await this.running.catch(() => undefined);
    const last = this.lastSweep;
    if (last && last.offsetMs === this.clock.offset && this.clock.nowMs() - last.atMs < SWEEP_INTERVAL_MS) return 0;
    this.running = this.sweep();
    try {
      return await this.running;
    } catch (e) {
      this.log(`dynamodb ttl: sweep failed: ${e instanceof Error ? e.message : String(e)}`);
      return 0;
    } finally {
      this.running = undefined;
    }
  }

  /** Deletes every item whose TTL has passed, in every table with TTL enabled; returns how many. */
  async sweep(): Promise<number> {
    this.lastSweep = { offsetMs: this.clock.offset, atMs: this.clock.nowMs() };
    const nowS = Math.floor(this.clock.nowMs() / 1000);
    const tables = this.state().tables;
    let deleted = 0;
    for (const [name, ttl] of Object.entries(tables)) {
      if (!ttl.enabled) continue;
      const table = await this.describeTable(name);
      if (table?.CreationDateTime !== ttl.tableCreated) {
        // Deleted (or made again) since TTL was enabled: the setting went with it.
        delete tables[name];
        this.store.changed();
        continue;
      }
      const keys = table.KeySchema.map((k) => k.AttributeName);
      const names: Record<string, string> = { '#ttl': ttl.attributeName, ...Object.fromEntries(keys.map((k, i) => [`#k${i}`, k])) };
      const expired = { ':now': { N: String(nowS) }, ':oldest': { N: String(nowS - OLDEST_EXPIRY_S) } };
      let start: unknown;
      do {
        const page = (await this.dynalite('Scan', {
          TableName: name,
          // A comparison with a Number is false for any other type: only Number TTL values expire.
          FilterExpression: '#ttl < :now AND #ttl >= :oldest',
          ProjectionExpression: keys.map((_, i) => `#k${i}`).join(', '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: expired,
          ExclusiveStartKey: start,
        })) as { Items?: Record<string, unknown>[]; LastEvaluatedKey?: unknown };
        for (const key of page.Items ?? []) {
          try {
            // Conditional: an item rewritten since the scan with a later TTL (or none) stays.
            await this.dynalite('DeleteItem', { TableName: name, Key: key, ConditionExpression: '#ttl < :now', ExpressionAttributeNames: { '#ttl': ttl.attributeName }, ExpressionAttributeValues: { ':now': expired[':now'] } });
            deleted++;
          } catch (e) {
            if (!(e instanceof AwsError && e.code === 'ConditionalCheckFailedException')) throw e;
          }
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return deleted;
  }

  private state(): TtlState {
    // dynalite keeps one set of tables for every account and region, and so do the settings.
    return this.store.scope<TtlState>('dynamodb-ttl', 'all', 'all', () => ({ tables: {} }));
  }

  private async update(request: Record<string, unknown>): Promise<unknown> {
    const name = tableNameOf(request.TableName, 'tableName');
    const spec = request.TimeToLiveSpecification as Record<string, unknown> | undefined;
    if (typeof spec !== 'object' || spec === null) throw nullMember('timeToLiveSpecification');
    const { AttributeName: attributeName, Enabled: enabled } = spec;
    if (typeof enabled !== 'boolean') throw nullMember('timeToLiveSpecification.enabled');
    if (typeof attributeName !== 'string') throw nullMember('timeToLiveSpecification.attributeName');
    if (attributeName.length < 1 || attributeName.length > 255) {
      throw new AwsError('ValidationException', `1 validation error detected: Value '${attributeName}' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length between 1 and 255`);
    }
    const table = await this.requireTable(name);
    const tables = this.state().tables;
    const current = tables[name]?.tableCreated === table.CreationDateTime ? tables[name] : undefined;
    const now = this.clock.nowMs();
    if (enabled && current?.enabled) throw new AwsError('ValidationException', 'TimeToLive is already enabled');
    if (!enabled && !current?.enabled) throw new AwsError('ValidationException', 'TimeToLive is already disabled');
    if (!enabled && current && current.attributeName !== attributeName) {
      throw new AwsError('ValidationException', `TimeToLive is enabled on attribute ${current.attributeName}, not ${attributeName}`);
    }
    if (current && now - current.changedAt < CHANGE_INTERVAL_MS) throw new AwsError('ValidationException', 'Time to live has been modified multiple times within a fixed interval');
    tables[name] = { attributeName, enabled, changedAt: now, tableCreated: table.CreationDateTime };
    this.store.changed();
    return { TimeToLiveSpecification: { AttributeName: attributeName, Enabled: enabled } };
  }

  private async describeTtl(request: Record<string, unknown>): Promise<unknown> {
    const name = tableNameOf(request.TableName, 'tableName');
    const table = await this.requireTable(name);
    const ttl = this.state().tables[name];
    if (ttl?.enabled && ttl.tableCreated === table.CreationDateTime) return { TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: ttl.attributeName } };
    return { TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } };
  }

  private async requireTable(name: string): Promise<TableDescription> {
    const table = await this.describeTable(name);
    if (!table) throw new AwsError('ResourceNotFoundException', `Requested resource not found: Table: ${name} not found`);
    return table;
  }

  private async describeTable(name: string): Promise<TableDescription | undefined> {
    try {
      return ((await this.dynalite('DescribeTable', { TableName: name })) as { Table: TableDescription }).Table;
    } catch (e) {
      if (e instanceof AwsError && e.code === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  }

  /** One call to dynalite's own endpoint (it wants a date beside the signature, and checks nothing else of it). */
  private async dynalite(operation: string, body: unknown): Promise<unknown> {
    const res = await fetch(this.dynaliteUrl, {
      method: 'POST',
      headers: {
        'x-amz-target': `DynamoDB_20120810.${operation}`,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
        authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=x',
      },
      body: JSON.stringify(body),
    });
    const parsed = JSON.parse(await res.text()) as { __type?: string; message?: string };
    if (!res.ok) throw new AwsError(parsed.__type?.split('#').pop() ?? 'InternalServerError', parsed.message ?? `dynalite ${operation} failed`, res.status);
    return parsed;
  }
}

/** The table name from a TableName member: a name, or a table ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>`). */
function tableNameOf(value: unknown, member: string): string {
  if (typeof value !== 'string') throw nullMember(member);
  const arn = /^arn:aws[a-z-]*:dynamodb:[^:]*:\d{12}:table\/([^/]+)$/.exec(value);
  const name = arn?.[1] ?? value;
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(name)) {
    throw new AwsError('ValidationException', `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`);
  }
  return name;
}

function nullMember(member: string): AwsError {
  return new AwsError('ValidationException', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
}
