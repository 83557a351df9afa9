import { DynamoIssuanceStore, DynamoTokenStore } from '@opsauto/aws';
import { enrollmentToken, NotFoundError, ValidationError, type EnrollmentToken, type TokenOptions } from '@opsauto/core';
import { hybridNodeRoleName } from '@opsauto/functions';
import type { Command } from 'commander';
import { print } from '../output.js';
import { LOCAL_STAGE, stageContext, type GlobalOptions, type StageContext } from '../stage-context.js';

/** The flag of each option `enrollmentToken` names in its errors. */
const FLAGS: Record<string, string> = { name: '--name', role: '--role', maxUses: '--max-uses', expiresIn: '--expires-in', namePrefix: '--name-prefix', tag: '--tag' };
const TOKEN_ID = /^tok_[a-z2-7]{16}$/;

/** Who acts: in AWS the caller's own identity (STS); on the local stage OPSAUTO_IDENTITY, else `cli`. */
async function operator(ctx: StageContext): Promise<string> {
  if (ctx.stage === LOCAL_STAGE) return process.env.OPSAUTO_IDENTITY?.trim() || 'cli';
  const { callerArn } = await import('@opsauto/aws/caller-identity.js');
  return callerArn(ctx.clients);
}

function limitOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`--limit must be a whole number from 1 to 1000 (got ${value})`);
  return n;
}

function tokenIdOf(value: string, what: string): string {
  if (!TOKEN_ID.test(value)) throw new Error(`${what} must be a token id (tok_ and 16 characters of a-z, 2-7; see opsauto tokens list), got ${JSON.stringify(value)}`);
  return value;
}

/** A token's record without the hash of its secret (what an operator may see). */
function withoutHash(token: EnrollmentToken): Omit<EnrollmentToken, 'secretHash'> {
  const rest: Partial<EnrollmentToken> = { ...token };
  delete rest.secretHash;
  return rest as Omit<EnrollmentToken, 'secretHash'>;
}

/** A token as an operator sees it: never its hash, with what it can do now. */
function shown(token: EnrollmentToken, now: Date): Omit<EnrollmentToken, 'secretHash'> & { status: string } {
  const rest = withoutHash(token);
  const status = token.revokedAt !== undefined ? 'revoked' : Date.parse(token.expiresAt) <= now.getTime() ? 'expired' : token.uses >= token.maxUses ? 'exhausted' : 'active';
  return { ...rest, status };
}

/**
 * `opsauto tokens create|list|revoke` (enrollment tokens for booting servers) and `opsauto activations list` (what
 * they issued). A token is printed once, when it is made; the table keeps only the hash of its secret.
 *
 * @example
 * opsauto tokens create --name rack-7 --max-uses 50 --expires-in 7d --name-prefix rack7- --tag env=onprem
 */
export function tokensCommands(program: Command): void {
  const tokens = program.command('tokens');

  tokens
    .command('create')
    .description('make an enrollment token (printed once, stored as a hash) for servers to get activations with')
    .requiredOption('--name <name>', 'a label (1-64 characters), put on each activation and node as opsauto:token')
    .option('--role <name>', "the IAM service role of the activations (default: the stage's <app>-<stage>-hybrid-node; others must be in config activations.iamRoles)")
    .option('--max-uses <n>', 'how many activations it may issue, 1-100000 (default: config activations.tokenMaxUses)')
    .option('--expires-in <span>', 'how long it may be used: 7d, 12h, at most 365d (default: config activations.tokenExpiresIn)')
    .option('--name-prefix <prefix>', "servers' hostnames must start with this (lowercase)")
    .option('--tag <key=value>', 'a tag for each activation and node (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (opts: { name: string; role?: string; maxUses?: string; expiresIn?: string; namePrefix?: string; tag: string[] }) => {
      const ctx = await stageContext(program);
      const { activations } = ctx.config;
      const options: TokenOptions = {
        name: opts.name,
        ...(opts.role !== undefined ? { role: opts.role } : {}),
        ...(opts.maxUses !== undefined ? { maxUses: opts.maxUses } : {}),
        ...(opts.expiresIn !== undefined ? { expiresIn: opts.expiresIn } : {}),
        ...(opts.namePrefix !== undefined ? { namePrefix: opts.namePrefix } : {}),
        tags: opts.tag,
      };
      let made: ReturnType<typeof enrollmentToken>;
      try {
        made = enrollmentToken(
          options,
          { defaultRole: hybridNodeRoleName(ctx.tableName), allowedRoles: activations.iamRoles, maxUses: activations.tokenMaxUses, expiresIn: activations.tokenExpiresIn },
          ctx.clock.now(),
          await operator(ctx),
        );
      } catch (e) {
        if (e instanceof ValidationError && e.field && FLAGS[e.field] && e.message.startsWith(`${e.field}: `)) throw new ValidationError(`${FLAGS[e.field]}: ${e.message.slice(e.field.length + 2)}`, e.field);
        throw e;
      }
      const { token, record } = made;
      await new DynamoTokenStore(ctx.clients, ctx.tableName).create(record);
      const warning = 'This token is shown once and cannot be shown again: keep it now (a secrets store, the image build). opsauto keeps only its hash.';
      if (program.opts<GlobalOptions>().json) {
        print({ ...withoutHash(record), token, warning }, program);
        return;
      }
      const limits = `role ${record.iamRole}, ${record.maxUses} uses, expires ${record.expiresAt}${record.namePrefix ? `, hostnames ${record.namePrefix}*` : ''}`;
      const tags = Object.entries(record.tags).map(([k, v]) => `${k}=${v}`);
      console.log(`token ${record.id} (${record.name}) created: ${limits}${tags.length ? `, tags ${tags.join(' ')}` : ''}`);
      console.log(token);
      console.error(warning);
    });

  tokens
    .command('list')
    .description('enrollment tokens, newest first: scope, uses, expiry, revocation (never a secret or hash)')
    .action(async () => {
      const ctx = await stageContext(program);
      const now = ctx.clock.now();
      const all = (await new DynamoTokenStore(ctx.clients, ctx.tableName).list()).map((t) => shown(t, now));
      if (program.opts<GlobalOptions>().json) return print(all, program);
      const rows = all.map((t) => ({
        ...t,
        prefix: t.namePrefix,
        role: t.iamRole,
        uses: `${t.uses}/${t.maxUses}`,
        expires: t.expiresAt,
        revoked: t.revokedAt ? `${t.revokedAt} by ${t.revokedBy ?? '?'}` : '',
      }));
      print(rows, program, ['id', 'name', 'role', 'prefix', 'uses', 'expires', 'status', 'revoked']);
    });

  tokens
    .command('revoke <id>')
    .description('stop a token at once: servers using it get 403 (activations it issued stay until they expire or are swept)')
    .action(async (id: string) => {
      tokenIdOf(id, 'the token to revoke');
      const ctx = await stageContext(program);
      const at = ctx.clock.now().toISOString();
      let token: EnrollmentToken;
      try {
        token = await new DynamoTokenStore(ctx.clients, ctx.tableName).revoke(id, at, await operator(ctx));
      } catch (e) {
        if (e instanceof NotFoundError) throw new Error(`no token ${id} on stage ${ctx.stage} (see opsauto tokens list)`);
        throw e;
      }
      if (program.opts<GlobalOptions>().json) return print(shown(token, ctx.clock.now()), program);
      if (token.revokedAt === at) console.log(`token ${id} (${token.name}) revoked at ${at}: servers using it now get 403`);
      else console.log(`token ${id} (${token.name}) was already revoked at ${token.revokedAt} by ${token.revokedBy}: nothing changed`);
    });

  program
    .command('activations')
    .command('list')
    .description('activations issued to servers, newest first: hostname, source IP, node, expiry, deletion (never a code)')
    .option('--token <id>', "only this token's")
    .option('--limit <n>', 'at most this many (1-1000)', '20')
    .action(async (opts: { token?: string; limit: string }) => {
      const limit = limitOf(opts.limit);
      if (opts.token !== undefined) tokenIdOf(opts.token, '--token');
      const ctx = await stageContext(program);
      const issued = await new DynamoIssuanceStore(ctx.clients, ctx.tableName).list({ ...(opts.token !== undefined ? { tokenId: opts.token } : {}), limit });
      if (program.opts<GlobalOptions>().json) return print(issued, program);
      const rows = issued.map((i) => ({ ...i, token: `${i.tokenName} (${i.tokenId})`, issued: i.issuedAt, expires: i.expiresAt, node: i.managedNodeId, deleted: i.deletedAt }));
      print(rows, program, ['issued', 'hostname', 'sourceIp', 'activationId', 'token', 'expires', 'node', 'deleted']);
    });
}
