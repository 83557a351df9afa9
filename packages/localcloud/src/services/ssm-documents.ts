/**
 * SSM documents, for Automation runbooks above all: CreateDocument, GetDocument (by version number, `$LATEST`,
 * `$DEFAULT` or version name, converted to the DocumentFormat asked for), DescribeDocument, ListDocuments
 * (Filters and the legacy DocumentFilterList), UpdateDocument (a new version), UpdateDocumentDefaultVersion and
 * DeleteDocument. `seedDocuments` serves AWS-owned runbooks (`AWS-*`, Owner Amazon) alongside the account's own.
 *
 * Documents become Active at once (AWS answers CreateDocument with Creating and activates them shortly after).
 */
import { createHash } from 'node:crypto';
import { AwsError, validation } from '../errors.js';
import type { Store } from '../store.js';
import { pageAfter, type Tag } from './filters.js';
import { checkContent, contentFormat, convertContent, guessFormat, type ContentFormat, type DocumentParameter } from './ssm-document-content.js';
import { invalidNextToken, maxResults } from './ssm-paging.js';
import { checkTagCount, validateTags } from './ssm-tag-rules.js';
import type { Operation, RequestContext } from './types.js';

export const DOCUMENTS_SERVICE = 'ssm.documents';

const DOCUMENT_TYPES = [
  'Command', 'Policy', 'Automation', 'Session', 'Package', 'ApplicationConfiguration', 'ApplicationConfigurationSchema', 'DeploymentStrategy', 'ChangeCalendar',
  'Automation.ChangeTemplate', 'ProblemAnalysis', 'ProblemAnalysisTemplate', 'CloudFormation', 'ConformancePackTemplate', 'QuickSetup', 'ManualApprovalPolicy', 'AutoApprovalPolicy',
];
const EMULATED_TYPES = ['Automation', 'Command'];
const NAME = /^[a-zA-Z0-9_\-.]{3,128}$/;
const VERSION_NAME = /^[a-zA-Z0-9_\-.]{1,128}$/;
/** "You can't use the following strings as document name prefixes": they are AWS's. */
const RESERVED_PREFIX = /^(aws|amazon|amzn)/i;
const MAX_VERSIONS = 1000;
/** PlatformTypes are derived from the steps' plugins by AWS; Automation runbooks and the emulated Command documents run on all. */
const PLATFORM_TYPES = ['Windows', 'Linux', 'MacOS'];

export interface DocumentVersionRecord {
  documentVersion: string;
  versionName?: string;
  content: string;
  format: ContentFormat;
  /** SHA-256 of the content, hex, as AWS's Hash. */
  hash: string;
  schemaVersion: string;
  description?: string;
  parameters: DocumentParameter[];
  /** Epoch ms (virtual time), as every time here. */
  createdDate: number;
}

export interface DocumentRecord {
  name: string;
  owner: 'Self' | 'Amazon';
  documentType: string;
  displayName?: string;
  targetType?: string;
  defaultVersion: string;
  /** Version numbers are never reused, even after a version is deleted. */
  nextVersion: number;
  createdDate: number;
  tags: Tag[];
  /** Oldest first; the last one is $LATEST. */
  versions: DocumentVersionRecord[];
  /** ModifyDocumentPermission's sharing: account ids, or `all` (public), each with the version shared. */
  sharedWith?: { accountId: string; version: string }[];
}

/** Plain JSON, persisted by the store. */
export interface DocumentsState {
  documents: Record<string, DocumentRecord>;
}

export function documentsState(store: Store, account: string, region: string): DocumentsState {
  return store.scope<DocumentsState>(DOCUMENTS_SERVICE, account, region, () => ({ documents: {} }));
}

/** A document name or ARN, as every document operation takes it. */
function nameOf(raw: string | undefined): string {
  if (!raw) throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
  const arn = /^arn:aws[a-z-]*:ssm:[^:]*:\d*:document\/(.+)$/.exec(raw);
  return arn ? arn[1] : raw;
}

const notFound = (name: string) => new AwsError('InvalidDocument', `The specified document does not exist: ${name}.`);

/** The document a request names; Amazon's documents too unless `ownOnly`, which answers InvalidDocumentOperation for them. */
export function findDocument(store: Store, account: string, region: string, raw: string | undefined, ownOnly = false): DocumentRecord {
  const name = nameOf(raw);
  const doc = documentsState(store, account, region).documents[name];
  if (!doc) throw notFound(name);
  if (ownOnly && doc.owner !== 'Self') throw new AwsError('InvalidDocumentOperation', `You can't change or delete ${name}: it is owned by Amazon.`);
  return doc;
}

const latestVersion = (doc: DocumentRecord) => doc.versions[doc.versions.length - 1];

function selectVersion(doc: DocumentRecord, documentVersion: string | undefined, versionName: string | undefined): DocumentVersionRecord {
  const bad = (why: string) => new AwsError('InvalidDocumentVersion', `The document version isn't valid or doesn't exist: ${why}`);
  let byNumber: DocumentVersionRecord | undefined;
  if (documentVersion !== undefined) {
    if (documentVersion === '$LATEST') byNumber = latestVersion(doc);
    else if (documentVersion === '$DEFAULT') byNumber = doc.versions.find((v) => v.documentVersion === doc.defaultVersion);
    else if (/^[1-9][0-9]*$/.test(documentVersion)) byNumber = doc.versions.find((v) => v.documentVersion === documentVersion);
    else throw bad(`${documentVersion} is not a version number, $LATEST or $DEFAULT.`);
    if (!byNumber) throw bad(`${doc.name} has no version ${documentVersion}.`);
  }
  if (versionName !== undefined) {
    const byName = doc.versions.find((v) => v.versionName === versionName);
    if (!byName) throw bad(`${doc.name} has no version named ${versionName}.`);
    if (byNumber && byNumber !== byName) throw bad(`version ${documentVersion} of ${doc.name} is not named ${versionName}.`);
    return byName;
  }
  return byNumber ?? (doc.versions.find((v) => v.documentVersion === doc.defaultVersion) as DocumentVersionRecord);
}

function versionRecord(content: string, format: ContentFormat, documentType: string, number: number, now: number, versionName?: string): DocumentVersionRecord {
  const summary = checkContent(content, format, documentType);
  return {
    documentVersion: String(number),
    ...(versionName !== undefined ? { versionName } : {}),
    content,
    format,
    hash: createHash('sha256').update(content).digest('hex'),
    schemaVersion: summary.schemaVersion,
    ...(summary.description !== undefined ? { description: summary.description } : {}),
    parameters: summary.parameters,
    createdDate: now,
  };
}

function checkVersionName(value: string | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!VERSION_NAME.test(value)) {
    throw validation(`1 validation error detected: Value '${value}' at 'versionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{1,128}$`);
  }
  return value;
}

// --- answers -------------------------------------------------------------------------------------------------

const ownerOut = (account: string, doc: DocumentRecord) => (doc.owner === 'Amazon' ? 'Amazon' : account);

function descriptionOut(account: string, doc: DocumentRecord, v: DocumentVersionRecord) {
  return {
    Hash: v.hash,
    HashType: 'Sha256',
    Name: doc.name,
    ...(doc.displayName !== undefined ? { DisplayName: doc.displayName } : {}),
    ...(v.versionName !== undefined ? { VersionName: v.versionName } : {}),
    Owner: ownerOut(account, doc),
    CreatedDate: new Date(doc.createdDate),
    Status: 'Active',
    DocumentVersion: v.documentVersion,
    ...(v.description !== undefined ? { Description: v.description } : {}),
    Parameters: v.parameters,
    PlatformTypes: PLATFORM_TYPES,
    DocumentType: doc.documentType,
    SchemaVersion: v.schemaVersion,
    LatestVersion: latestVersion(doc).documentVersion,
    DefaultVersion: doc.defaultVersion,
    DocumentFormat: v.format,
    ...(doc.targetType !== undefined ? { TargetType: doc.targetType } : {}),
    Tags: doc.tags,
  };
}

function identifierOut(account: string, doc: DocumentRecord) {
  const v = selectVersion(doc, undefined, undefined);
  return {
    Name: doc.name,
    CreatedDate: new Date(doc.createdDate),
    ...(doc.displayName !== undefined ? { DisplayName: doc.displayName } : {}),
    Owner: ownerOut(account, doc),
    ...(v.versionName !== undefined ? { VersionName: v.versionName } : {}),
    PlatformTypes: PLATFORM_TYPES,
    DocumentVersion: v.documentVersion,
    DocumentType: doc.documentType,
    SchemaVersion: v.schemaVersion,
    DocumentFormat: v.format,
    ...(doc.targetType !== undefined ? { TargetType: doc.targetType } : {}),
    Tags: doc.tags,
  };
}

// --- ListDocuments filters -----------------------------------------------------------------------------------

/** A predicate for one ListDocuments filter (`Filters` or the legacy `DocumentFilterList`). */
function documentFilter(key: string, values: string[]): (doc: DocumentRecord) => boolean {
  if (key.startsWith('tag:')) return (doc) => doc.tags.some((t) => t.Key === key.slice(4) && (values.length === 0 || values.includes(t.Value)));
  switch (key) {
    case 'Name':
      // "If you use Name as a key, you can use a name prefix to return a list of documents."
      return (doc) => values.some((v) => doc.name.startsWith(v));
    case 'Owner': {
      if (values.length !== 1) throw validation('Only one Owner can be specified in a request, for example Key=Owner,Values=Self.');
      const [owner] = values;
      // Nothing is shared with the emulated account: Private is its own documents; Public and ThirdParty are empty.
      const owners: Record<string, DocumentRecord['owner'][]> = { Self: ['Self'], Private: ['Self'], Amazon: ['Amazon'], All: ['Self', 'Amazon'], Public: [], ThirdParty: [] };
      const accepted = owners[owner];
      if (!accepted) throw validation(`The Owner filter value ${owner} is not valid. Valid values: ${Object.keys(owners).join(', ')}.`);
      return (doc) => accepted.includes(doc.owner);
    }
    case 'DocumentType':
      return (doc) => values.includes(doc.documentType);
    case 'PlatformTypes':
      return () => values.some((v) => PLATFORM_TYPES.includes(v));
    case 'TargetType':
      return (doc) => doc.targetType !== undefined && values.includes(doc.targetType);
    case 'SearchKeyword':
      return (doc) => values.some((v) => doc.name.toLowerCase().includes(v.toLowerCase()));
    default:
      throw new AwsError('InvalidFilterKey', `The filter key ${key} is not valid. Valid keys: Name, Owner, DocumentType, PlatformTypes, TargetType, SearchKeyword, tag:<key>.`);
  }
}

function listDocuments(
  input: { Filters?: { Key?: string; Values?: string[] }[]; DocumentFilterList?: { key?: string; value?: string }[]; MaxResults?: number; NextToken?: string },
  ctx: RequestContext,
) {
  const limit = maxResults(input.MaxResults, 50, 50);
  const legacyKeys = ['Name', 'Owner', 'PlatformTypes', 'DocumentType'];
  const checks = [
    ...(input.Filters ?? []).map((f) => documentFilter(f.Key ?? '', f.Values ?? [])),
    ...(input.DocumentFilterList ?? []).map((f, i) => {
      if (!legacyKeys.includes(f.key ?? '')) {
        throw validation(`1 validation error detected: Value '${f.key}' at 'documentFilterList.${i + 1}.member.key' failed to satisfy constraint: Member must satisfy enum value set: [${legacyKeys.join(', ')}]`);
      }
      return documentFilter(f.key ?? '', [f.value ?? '']);
    }),
  ];
  const docs = Object.values(documentsState(ctx.store, ctx.account, ctx.region).documents)
    .filter((doc) => checks.every((c) => c(doc)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { page, nextToken } = pageAfter(docs, (d) => d.name, limit, input.NextToken, invalidNextToken);
  return { DocumentIdentifiers: page.map((d) => identifierOut(ctx.account, d)), ...(nextToken ? { NextToken: nextToken } : {}) };
}

// --- writing -------------------------------------------------------------------------------------------------

interface CreateDocumentRequest {
  Content?: string;
  Name?: string;
  DisplayName?: string;
  VersionName?: string;
  DocumentType?: string;
  DocumentFormat?: string;
  TargetType?: string;
  Tags?: { Key?: string; Value?: string }[];
  Requires?: unknown[];
  Attachments?: unknown[];
}

function createDocument(input: CreateDocumentRequest, ctx: RequestContext) {
  const name = input.Name;
  if (!name) throw validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
  if (!NAME.test(name)) throw validation(`1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{3,128}$`);
  if (RESERVED_PREFIX.test(name)) throw validation(`Document names can't begin with aws, amazon or amzn (reserved for AWS): ${name}.`);
  const documentType = input.DocumentType ?? 'Command';
  if (!DOCUMENT_TYPES.includes(documentType)) {
    throw validation(`1 validation error detected: Value '${documentType}' at 'documentType' failed to satisfy constraint: Member must satisfy enum value set: [${DOCUMENT_TYPES.join(', ')}]`);
  }
  if (!EMULATED_TYPES.includes(documentType)) throw validation(`localcloud emulates Automation and Command documents, not ${documentType}.`);
  if (input.Requires?.length || input.Attachments?.length) throw validation('localcloud does not emulate document Requires or Attachments.');
  const format = contentFormat(input.DocumentFormat);
  const versionName = checkVersionName(input.VersionName);
  const tags = validateTags(input.Tags);
  checkTagCount(tags);
  const state = documentsState(ctx.store, ctx.account, ctx.region);
  const now = ctx.clock.nowMs();
  const version = versionRecord(input.Content ?? '', format, documentType, 1, now, versionName);
  if (state.documents[name]) throw new AwsError('DocumentAlreadyExists', `Document with same name ${name} already exists.`);
  const doc: DocumentRecord = {
    name,
    owner: 'Self',
    documentType,
    ...(input.DisplayName !== undefined ? { displayName: input.DisplayName } : {}),
    ...(input.TargetType !== undefined ? { targetType: input.TargetType } : {}),
    defaultVersion: '1',
    nextVersion: 2,
    createdDate: now,
    tags,
    versions: [version],
  };
  state.documents[name] = doc;
  return { DocumentDescription: descriptionOut(ctx.account, doc, version) };
}

function updateDocument(
  input: { Content?: string; Name?: string; DisplayName?: string; VersionName?: string; DocumentVersion?: string; DocumentFormat?: string; TargetType?: string; Attachments?: unknown[] },
  ctx: RequestContext,
) {
  const doc = findDocument(ctx.store, ctx.account, ctx.region, input.Name, true);
  const latest = latestVersion(doc);
  if (input.DocumentVersion !== undefined && input.DocumentVersion !== '$LATEST' && input.DocumentVersion !== latest.documentVersion) {
    throw new AwsError('InvalidDocumentVersion', `Only the latest version of a document can be updated: use $LATEST or ${latest.documentVersion} (got ${input.DocumentVersion}).`);
  }
  if (input.Attachments?.length) throw validation('localcloud does not emulate document Attachments.');
  const versionName = checkVersionName(input.VersionName);
  if (versionName !== undefined && doc.versions.some((v) => v.versionName === versionName)) {
    throw new AwsError('DuplicateDocumentVersionName', `The version name ${versionName} has already been used in ${doc.name}. Specify a different version name, and then try again.`);
  }
  const version = versionRecord(input.Content ?? '', contentFormat(input.DocumentFormat), doc.documentType, doc.nextVersion, ctx.clock.nowMs(), versionName);
  if (version.hash === latest.hash) throw new AwsError('DuplicateDocumentContent', `The content of the document matches version ${latest.documentVersion} of ${doc.name}. Change the content of the document and try again.`);
  if (doc.versions.length >= MAX_VERSIONS) throw new AwsError('DocumentVersionLimitExceeded', `${doc.name} has ${MAX_VERSIONS} versions. Delete one or more document versions and try again.`);
  doc.versions.push(version);
  doc.nextVersion++;
  if (input.DisplayName !== undefined) doc.displayName = input.DisplayName;
  if (input.TargetType !== undefined) doc.targetType = input.TargetType;
  return { DocumentDescription: descriptionOut(ctx.account, doc, version) };
}

function deleteDocument(input: { Name?: string; DocumentVersion?: string; VersionName?: string; Force?: boolean }, ctx: RequestContext) {
  const doc = findDocument(ctx.store, ctx.account, ctx.region, input.Name, true);
  if (input.DocumentVersion === undefined && input.VersionName === undefined) {
    delete documentsState(ctx.store, ctx.account, ctx.region).documents[doc.name];
    return {};
  }
  const version = selectVersion(doc, input.DocumentVersion, input.VersionName);
  if (version.documentVersion === doc.defaultVersion) {
    throw new AwsError('InvalidDocumentOperation', `Version ${version.documentVersion} is the default version of ${doc.name}: make another version the default before deleting it.`);
  }
  doc.versions = doc.versions.filter((v) => v !== version);
  return {};
}

function updateDefaultVersion(input: { Name?: string; DocumentVersion?: string }, ctx: RequestContext) {
  const doc = findDocument(ctx.store, ctx.account, ctx.region, input.Name, true);
  if (!input.DocumentVersion || !/^[1-9][0-9]*$/.test(input.DocumentVersion)) {
    throw new AwsError('InvalidDocumentVersion', `The default version must be a version number (got ${input.DocumentVersion ?? 'none'}).`);
  }
  const version = selectVersion(doc, input.DocumentVersion, undefined);
  doc.defaultVersion = version.documentVersion;
  return { Description: { Name: doc.name, DefaultVersion: version.documentVersion, ...(version.versionName !== undefined ? { DefaultVersionName: version.versionName } : {}) } };
}

export const documentOperations: Record<string, Operation> = {
  CreateDocument: createDocument,
  GetDocument(input: { Name?: string; VersionName?: string; DocumentVersion?: string; DocumentFormat?: string }, ctx: RequestContext) {
    const doc = findDocument(ctx.store, ctx.account, ctx.region, input.Name);
    const v = selectVersion(doc, input.DocumentVersion, input.VersionName);
    const format = input.DocumentFormat === undefined ? v.format : contentFormat(input.DocumentFormat);
    return {
      Name: doc.name,
      CreatedDate: new Date(doc.createdDate),
      ...(doc.displayName !== undefined ? { DisplayName: doc.displayName } : {}),
      ...(v.versionName !== undefined ? { VersionName: v.versionName } : {}),
      DocumentVersion: v.documentVersion,
      Status: 'Active',
      Content: convertContent(v.content, v.format, format),
      DocumentType: doc.documentType,
      DocumentFormat: format,
    };
  },
  DescribeDocument(input: { Name?: string; VersionName?: string; DocumentVersion?: string }, ctx: RequestContext) {
    const doc = findDocument(ctx.store, ctx.account, ctx.region, input.Name);
    return { Document: descriptionOut(ctx.account, doc, selectVersion(doc, input.DocumentVersion, input.VersionName)) };
  },
  ListDocuments: listDocuments,
  UpdateDocument: updateDocument,
  UpdateDocumentDefaultVersion: updateDefaultVersion,
  DeleteDocument: deleteDocument,
};

// --- seeding -------------------------------------------------------------------------------------------------

export interface SeedDocument {
  name: string;
  content: string;
  /** Default: JSON if the content parses as a JSON object, else YAML. */
  format?: ContentFormat;
  /** Default: Amazon for names with AWS's reserved prefixes (`AWS-…`), Self otherwise. */
  owner?: 'Amazon' | 'Self';
  /** Default Automation. */
  documentType?: 'Automation' | 'Command';
}

/**
 * Puts documents straight into the store, for the stage to serve AWS-owned runbooks (`AWS-StopEC2Instance` …, Owner
 * Amazon) and its own. Content is checked as CreateDocument checks it (a RangeError names the document). Seeding a
 * name again with other content adds a version and makes it the default, so the stage can refresh what it serves;
 * the same content again changes nothing. Returns each name with the version it serves.
 *
 * @example
 * seedDocuments(cloud.store, '000000000000', 'us-east-1', [{ name: 'AWS-StopEC2Instance', content: readFileSync(file, 'utf8') }]);
 */
export function seedDocuments(store: Store, account: string, region: string, docs: SeedDocument[]): { name: string; version: string }[] {
  const state = documentsState(store, account, region);
  const now = Date.now() + store.clockOffsetMs;
  const out = docs.map((spec) => {
    const owner = spec.owner ?? (RESERVED_PREFIX.test(spec.name) ? 'Amazon' : 'Self');
    if (!NAME.test(spec.name)) throw new RangeError(`document ${spec.name}: names are 3-128 letters, digits, _ - and .`);
    if (owner === 'Self' && RESERVED_PREFIX.test(spec.name)) throw new RangeError(`document ${spec.name}: names beginning with aws, amazon or amzn are AWS's (owner Amazon)`);
    const documentType = spec.documentType ?? 'Automation';
    const existing = state.documents[spec.name];
    let version: DocumentVersionRecord;
    try {
      version = versionRecord(spec.content, spec.format ?? guessFormat(spec.content), documentType, existing?.nextVersion ?? 1, now);
    } catch (e) {
      throw new RangeError(`document ${spec.name}: ${(e as Error).message}`);
    }
    if (!existing) {
      state.documents[spec.name] = { name: spec.name, owner, documentType, defaultVersion: '1', nextVersion: 2, createdDate: now, tags: [], versions: [version] };
      return { name: spec.name, version: '1' };
    }
    if (latestVersion(existing).hash === version.hash) return { name: spec.name, version: latestVersion(existing).documentVersion };
    existing.versions.push(version);
    existing.nextVersion++;
    existing.defaultVersion = version.documentVersion;
    return { name: spec.name, version: version.documentVersion };
  });
  store.changed();
  return out;
}
