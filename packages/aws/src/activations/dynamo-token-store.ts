import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError, type EnrollmentToken, type TokenStore } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';
import { batchGetItems, indexPartitionKeys } from '../index-listing.js';
import { pick } from '../items.js';

const TOKEN_TYPE = 'activation-token';
/** gsi1 partition listing every token, newest first. */
const TOKENS_INDEX_PK = 'activation-tokens';
const TOKEN_SK = 'token';
/** A use lost to a racing releaseUse (the condition failed, yet the token reads as usable) is tried again this often. */
const CONSUME_ATTEMPTS = 3;

/** A token's partition: its record (`sk = token`) and the issuer's pointers to what it issued (DynamoIssuanceStore). */
export const tokenPk = (id: string) => `token#${id}`;

const TOKEN_KEYS = ['id', 'name', 'secretHash', 'iamRole', 'namePrefix', 'tags', 'maxUses', 'uses', 'createdAt', 'createdBy', 'expiresAt', 'revokedAt', 'revokedBy'] as const;
const toToken = (item: Record<string, unknown>) => pick<EnrollmentToken>(item, TOKEN_KEYS);

/**
 * TokenStore in the single table: a token is the item `pk = token#<id>`, `sk = token`, listed through gsi1
 * (`activation-tokens`, by creation time). It holds the SHA-256 of the secret, never the token string. A use is one
 * conditional UpdateItem (`uses < maxUses`, not revoked, not expired), so that racing requests never spend more uses
 * than the token has; the refusal of a failed condition is read back from the item (dynalite has no
 * ReturnValuesOnConditionCheckFailure). `expiresAt` is an ISO 8601 string, which the table's TTL (epoch seconds on
 * `expiresAt`) ignores: an expired token stays, for the audit trail.
 */
export class DynamoTokenStore implements TokenStore {
  constructor(
    private readonly clients: AwsClients,
    private readonly tableName: string,
  ) {}

  async create(token: EnrollmentToken): Promise<void> {
    try {
      await this.clients.dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...token, pk: tokenPk(token.id), sk: TOKEN_SK, type: TOKEN_TYPE, gsi1pk: TOKENS_INDEX_PK, gsi1sk: `${token.createdAt}#${token.id}` },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (isAwsError(e, 'ConditionalCheckFailedException')) throw new ConflictError(`token ${token.id} exists`);
      throw e;
    }
  }

  async get(id: string): Promise<EnrollmentToken | undefined> {
    const out = await this.clients.dynamo().send(new GetCommand({ TableName: this.tableName, Key: { pk: tokenPk(id), sk: TOKEN_SK }, ConsistentRead: true }));
    return out.Item ? toToken(out.Item) : undefined;
  }

  async list(): Promise<EnrollmentToken[]> {
    const keys = await indexPartitionKeys(this.clients, this.tableName, { index: 'gsi1', partition: TOKENS_INDEX_PK, newestFirst: true });
    return (await batchGetItems(this.clients, this.tableName, keys)).map(toToken);
  }

  async revoke(id: string, at: string, by: string): Promise<EnrollmentToken> {
    try {
      const out = await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: tokenPk(id), sk: TOKEN_SK },
          // Revoking twice keeps the first time and operator.
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at), revokedBy = if_not_exists(revokedBy, :by)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': at, ':by': by },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toToken(out.Attributes ?? {});
    } catch (e) {
      if (isAwsError(e, 'ConditionalCheckFailedException')) throw new NotFoundError(`no token ${id}`);
      throw e;
    }
  }

  async consumeUse(id: string, now: string): ReturnType<TokenStore['consumeUse']> {
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.clients.dynamo().send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: tokenPk(id), sk: TOKEN_SK },
            UpdateExpression: 'SET #uses = #uses + :one',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#revokedAt) AND #expiresAt > :now AND #uses < #maxUses',
            ExpressionAttributeNames: { '#uses': 'uses', '#maxUses': 'maxUses', '#revokedAt': 'revokedAt', '#expiresAt': 'expiresAt' },
            ExpressionAttributeValues: { ':one': 1, ':now': now },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { ok: true, token: toToken(out.Attributes ?? {}) };
      } catch (e) {
        if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
      }
      const token = await this.get(id);
      if (!token) throw new NotFoundError(`no token ${id}`);
      if (token.revokedAt !== undefined) return { ok: false, refusal: 'revoked' };
      if (token.expiresAt <= now) return { ok: false, refusal: 'expired' };
      if (token.uses >= token.maxUses) return { ok: false, refusal: 'exhausted' };
      // A use was given back between the write and the read: the token is usable again.
      if (attempt === CONSUME_ATTEMPTS) return { ok: false, refusal: 'exhausted' };
    }
  }

  async releaseUse(id: string): Promise<void> {
    try {
      await this.clients.dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: tokenPk(id), sk: TOKEN_SK },
          UpdateExpression: 'SET #uses = #uses - :one',
          // Never below 0; a token that does not exist has nothing to give back.
          ConditionExpression: '#uses > :zero',
          ExpressionAttributeNames: { '#uses': 'uses' },
          ExpressionAttributeValues: { ':one': 1, ':zero': 0 },
        }),
      );
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException')) throw e;
    }
  }
}
