/**
 * Sharing of SSM documents (DescribeDocumentPermission, ModifyDocumentPermission; SSM API reference): with
 * accounts by id, or publicly as `All` (kept and answered as `all`). Share is the one permission type. Only the
 * account's own documents can be shared; public sharing is refused while the account's
 * `/ssm/documents/console/public-sharing-permission` service setting is `Disable` (block public sharing).
 */
import { AwsError, validation } from '../errors.js';
import { findDocument, type DocumentRecord } from './ssm-documents.js';
import { invalidNextToken, maxResults } from './ssm-paging.js';
import { PUBLIC_SHARING_SETTING, serviceSettingValue } from './ssm-service-settings.js';
import type { Operation, RequestContext } from './types.js';

/** Accounts one document may be shared with privately (Systems Manager service quotas). */
export const MAX_SHARED_ACCOUNTS = 1000;
/** AccountIdsToAdd and AccountIdsToRemove take at most 20 ids each (the API model). */
const MAX_IDS_PER_CALL = 20;
const ACCOUNT_ID = /^(?:[aA][lL][lL]|\d{12})$/;
const PUBLIC = 'all';

function checkPermissionType(type: unknown): void {
  if (type !== 'Share') throw new AwsError('InvalidPermissionType', 'The permission type is not supported. Share is the only supported permission type.');
}

/** The ids of AccountIdsToAdd or AccountIdsToRemove, checked as the API model does, `All` in any case as `all`. */
function accountIds(raw: unknown, member: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw validation(`1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must be a list`);
  if (raw.length > MAX_IDS_PER_CALL) {
    throw validation(`1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${MAX_IDS_PER_CALL}`);
  }
  return raw.map((id: unknown) => {
    if (typeof id !== 'string' || !ACCOUNT_ID.test(id)) {
      throw validation(`1 validation error detected: Value '${String(id)}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: (?i)all|[0-9]{12}`);
    }
    return id.toLowerCase();
  });
}

/** The version a share names: a version number of the document, `$DEFAULT` or `$LATEST`; default `$DEFAULT`. */
function sharedVersion(doc: DocumentRecord, raw: unknown): string {
  if (raw === undefined || raw === null) return '$DEFAULT';
  if (raw === '$DEFAULT' || raw === '$LATEST') return raw;
  if (typeof raw === 'string' && doc.versions.some((v) => v.documentVersion === raw)) return raw;
  throw new AwsError('InvalidDocumentVersion', `The document version isn't valid or doesn't exist: ${doc.name} has no version ${JSON.stringify(raw)}.`);
}

export const documentPermissionOperations: Record<string, Operation> = {
  DescribeDocumentPermission(input: { Name?: string; PermissionType?: unknown; MaxResults?: unknown; NextToken?: unknown }, ctx: RequestContext) {
    const doc = findDocument(ctx.store, ctx.account, ctx.region, input.Name);
    checkPermissionType(input.PermissionType);
    const max = maxResults(input.MaxResults as number | undefined, 200, 200);
    const shares = doc.owner === 'Self' ? (doc.sharedWith ?? []) : [];
    let start = 0;
    if (input.NextToken !== undefined && input.NextToken !== null) {
      start = typeof input.NextToken === 'string' && /^\d+$/.test(input.NextToken) ? Number(input.NextToken) : -1;
      if (start < 0 || start >= shares.length) throw invalidNextToken();
    }
    const page = shares.slice(start, start + max);
    const next = start + max < shares.length ? String(start + max) : undefined;
    return {
      AccountIds: page.map((s) => s.accountId),
      AccountSharingInfoList: page.map((s) => ({ AccountId: s.accountId, SharedDocumentVersion: s.version })),
      ...(next ? { NextToken: next } : {}),
    };
  },
  ModifyDocumentPermission(
    input: { Name?: string; PermissionType?: unknown; AccountIdsToAdd?: unknown; AccountIdsToRemove?: unknown; SharedDocumentVersion?: unknown },
    ctx: RequestContext,
  ) {
    const doc = findDocument(ctx.store, ctx.account, ctx.region, input.Name);
    checkPermissionType(input.PermissionType);
    if (doc.owner !== 'Self') throw new AwsError('InvalidDocumentOperation', `You can't share ${doc.name}: it is owned by Amazon.`);
    const toAdd = accountIds(input.AccountIdsToAdd, 'accountIdsToAdd');
    const toRemove = accountIds(input.AccountIdsToRemove, 'accountIdsToRemove');
    if (toAdd.length === 0 && toRemove.length === 0) throw validation('You must specify a value for AccountIdsToAdd or AccountIdsToRemove.');
    const version = sharedVersion(doc, input.SharedDocumentVersion);
    // Removal has the higher priority: an id in both lists ends up removed.
    const adding = toAdd.filter((id) => !toRemove.includes(id));
    if (adding.includes(PUBLIC) && serviceSettingValue(ctx.store, ctx.account, ctx.region, PUBLIC_SHARING_SETTING) === 'Disable') {
      throw new AwsError(
        'InvalidPermissionType',
        `Public sharing of documents is blocked for this account in ${ctx.region} (service setting ${PUBLIC_SHARING_SETTING} is Disable).`,
      );
    }
    const kept = (doc.sharedWith ?? []).filter((s) => !toRemove.includes(s.accountId) && !adding.includes(s.accountId));
    const shares = [...kept, ...[...new Set(adding)].map((accountId) => ({ accountId, version }))];
    if (shares.filter((s) => s.accountId !== PUBLIC).length > MAX_SHARED_ACCOUNTS) {
      throw new AwsError('DocumentPermissionLimit', `The document ${doc.name} can be shared with at most ${MAX_SHARED_ACCOUNTS} accounts.`);
    }
    doc.sharedWith = shares;
    return {};
  },
};
