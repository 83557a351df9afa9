/** What the publisher needs to know of an image. */
export interface ImageInfo {
  imageId: string;
  region: string;
  name: string;
  /** ISO-8601, as EC2 reports it. */
  creationDate: string;
  /** EC2 image state: pending | available | invalid | deregistered | transient | failed | error | disabled. */
  state: string;
  tags: Record<string, string>;
  /** The account that owns the image, as EC2 reports it. */
  ownerId: string;
}

/**
 * The current publication of one family in one region, kept in DynamoDB and updated with optimistic locking.
 * `highWater*` is the newest image ever published: only a newer image moves the family forward, so a rollback
 * (which points `imageId` back on purpose) is not undone by a late event for the image rolled back from.
 */
export interface FamilyHead {
  region: string;
  family: string;
  parameterName: string;
  imageId: string;
  creationDate: string;
  highWaterImageId: string;
  highWaterCreationDate: string;
  /** pending: claimed, parameter not yet confirmed; published: the parameter holds `imageId`. */
  status: 'pending' | 'published';
  kind: PublicationKind;
  imageName?: string;
  parameterVersion?: number;
  updatedAt: string;
  /** What was published before this claim, restored if Parameter Store rejects the claimed image. */
  previous?: Pick<FamilyHead, 'imageId' | 'creationDate' | 'highWaterImageId' | 'highWaterCreationDate' | 'kind' | 'imageName' | 'parameterVersion'>;
  /** The writer allowed to put the parameter for this head, and since when: others wait instead of writing too. */
  putBy?: string;
  putAt?: string;
  /** Set when the published image is deregistered or disabled; cleared when another image is published. */
  warning?: string;
  warningImageId?: string;
  /** Optimistic lock: incremented by every write. */
  version: number;
}

export type PublicationKind = 'publish' | 'rollback';

/** One line of a family's history: a publication, a rollback, a warning, or an image Parameter Store rejected. */
export interface PublicationRecord {
  region: string;
  family: string;
  /** The head version this record belongs to: unique per family, so writing it twice is harmless. */
  sequence: number;
  kind: PublicationKind | 'warning' | 'rejected';
  imageId: string;
  imageName?: string;
  creationDate?: string;
  parameterName: string;
  parameterVersion?: number;
  at: string;
  source: string;
  note?: string;
}

/** Where a request to publish came from, for the history. */
export type PublicationSource = 'ec2-ami-state-change' | 'image-builder' | 'runbook' | 'rollback';
