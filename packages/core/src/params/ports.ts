import type { Deadline, DeadlineKind, ParameterSummary } from './deadlines.js';

/**
 * One notice sent (or being sent) about a parameter, as recorded in DynamoDB: never sent twice for the same
 * parameter, kind and due time (`key`).
 */
export interface NoticeRecord {
  /** `<parameter>#<kind>#<dueAt>` (escalations: kind `Escalation`). */
  key: string;
  parameter: string;
  kind: DeadlineKind | 'Escalation';
  /** The policy in words, as the Deadline says it. */
  policy: string;
  dueAt: string;
  expiresAt?: string;
  /** Where it went: the SNS topic ARN. */
  channel: string;
  /** `pending` from the claim until the publish returns; `sent` after. */
  status: 'pending' | 'sent';
  sentAt?: string;
  /** What told opsauto: AWS's Policy Action event, or the daily sweep. */
  via: 'event' | 'sweep';
  messageId?: string;
}

/** What opsauto recorded when AWS deleted a parameter at its Expiration: what disappeared and when. */
export interface ExpiredParameterRecord {
  parameter: string;
  /** When the Policy Action event says it happened (ISO 8601). */
  deletedAt: string;
  /** Its last version as opsauto last saw it (a notice or a sweep); undefined when never seen. */
  lastVersion?: Pick<ParameterSummary, 'type' | 'tier' | 'version' | 'lastModifiedDate' | 'lastModifiedUser' | 'description'> & { tags?: Record<string, string> };
  policy: string;
}

export interface NoticeStore {
  /** Records the notice as pending unless one with its key exists: false when it does (sent, or being sent). */
  claim(record: NoticeRecord): Promise<boolean>;
  /** The publish succeeded. */
  markSent(key: string, sent: { sentAt: string; messageId?: string }): Promise<void>;
  /** The publish failed: the claim is dropped, so that a retry sends it. */
  release(key: string): Promise<void>;
  /** The first notice sent for a parameter's expiry at `expiresAt` (for escalation). */
  firstExpiryNotice(parameter: string, expiresAt: string): Promise<NoticeRecord | undefined>;
  /** Notices of a parameter, or of every parameter, newest first. */
  list(options: { parameter?: string; limit?: number }): Promise<NoticeRecord[]>;
  recordExpired(record: ExpiredParameterRecord): Promise<void>;
  listExpired(options: { limit?: number }): Promise<ExpiredParameterRecord[]>;
  /**
   * Claims the digest `key` (one per sweep run, topic and owner) until `until`: false when it was claimed before, so
   * that a scheduled sweep delivered twice, or retried after it failed, sends each digest once.
   */
  claimDigest(key: string, until: Date): Promise<boolean>;
  /** The digest's publish failed: the claim is dropped, so that a retry sends it. */
  releaseDigest(key: string): Promise<void>;
  /** What was last seen of a parameter (for the expired record); kept by the sweep and notices. */
  rememberParameter(parameter: ParameterSummary): Promise<void>;
  lastSeen(parameter: string): Promise<ParameterSummary | undefined>;
}

/** SNS, for notices and digests. */
export interface NoticePublisher {
  publish(topicArn: string, message: { subject: string; body: string; attributes?: Record<string, string> }): Promise<{ messageId?: string }>;
}

/** Parameter Store as the notifier reads it: metadata and tags, never a value. */
export interface ParameterCatalog {
  /** Pages of parameters (DescribeParameters with ParameterFilters, every page), streamed: never all held at once. */
  pages(filters: { key: string; option?: string; values?: string[] }[]): AsyncIterable<ParameterSummary[]>;
  /** One parameter's metadata (DescribeParameters by name); undefined when it does not exist. */
  describe(name: string): Promise<ParameterSummary | undefined>;
  tags(name: string): Promise<Record<string, string>>;
}

/** A notice for a deadline: sent once, routed by the parameter's tags (notify.ts). */
export type SendNotice = (deadline: Deadline, parameter: ParameterSummary, via: NoticeRecord['via']) => Promise<'sent' | 'duplicate'>;
