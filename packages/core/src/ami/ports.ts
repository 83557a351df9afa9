import type { FamilyHead, ImageInfo, PublicationRecord } from './model.js';

/** Reads images (EC2 DescribeImages in the image's region); disabled images are included. */
export interface ImageCatalog {
  /**
   * The image as EC2 describes it, if one of `owners` (`self` or account IDs) owns it; undefined when it does not
   * exist (never did, or deregistered) or belongs to anyone else (a public or shared image of another account).
   */
  describe(region: string, imageId: string, owners: readonly string[]): Promise<ImageInfo | undefined>;
  /** Who owns an image this account can see (its own, shared or public), or undefined when it sees none. */
  ownerOf(region: string, imageId: string): Promise<string | undefined>;
}

/** Writes the family parameter (SSM Parameter Store, DataType aws:ec2:image). */
export interface ImageParameter {
  /** Writes `imageId` as a new version; returns the version number. */
  put(region: string, name: string, imageId: string, description: string): Promise<number>;
  /** Attaches labels to a version (a label moves from any other version). */
  label(region: string, name: string, version: number, labels: string[]): Promise<void>;
  /**
   * Makes room for one more version: Parameter Store keeps 100 and refuses to drop the oldest one while it carries
   * a label, so the oldest version's labels are removed when the parameter is full.
   */
  makeRoom(region: string, name: string, currentVersion: number | undefined): Promise<void>;
  /** The current value and version, or undefined when the parameter does not exist. */
  current(region: string, name: string): Promise<{ value: string; version: number } | undefined>;
}

/** Keeps family heads and their history (DynamoDB). */
export interface PublicationStore {
  getHead(region: string, family: string): Promise<FamilyHead | undefined>;
  /**
   * Writes `head` only if the stored head still has `expectedVersion` (undefined: only if there is none).
   * @throws ConcurrentUpdateError when the condition fails.
   */
  putHead(head: FamilyHead, expectedVersion: number | undefined): Promise<void>;
  /**
   * Deletes the head if it still has `expectedVersion` (a first publication that Parameter Store rejected).
   * @throws ConcurrentUpdateError when the condition fails.
   */
  deleteHead(region: string, family: string, expectedVersion: number): Promise<void>;
  /** Writes a record once: appending the same (region, family, sequence, kind) again changes nothing. */
  appendHistory(record: PublicationRecord): Promise<void>;
  /** Newest first. */
  history(region: string, family: string, limit?: number): Promise<PublicationRecord[]>;
  /** Every family head in every region. */
  listHeads(): Promise<FamilyHead[]>;
}
