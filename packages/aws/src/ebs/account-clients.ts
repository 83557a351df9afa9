import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsClients, type ClientSettings } from '../clients.js';

/** Another account the backend works in, through a role it assumes there (`config.staleVolumes.accounts`). */
export interface AccountRole {
  accountId: string;
  roleArn: string;
}

/** The session name the scanner's assumed-role sessions carry (it shows in the other account's CloudTrail). */
export const STALE_VOLUME_SESSION_NAME = 'opsauto-stale-volume-scan';

/** Temporary credentials are renewed this long before they expire, as the SDK's own providers do. */
export const CREDENTIAL_REFRESH_MARGIN_MS = 5 * 60_000;

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** A credentials provider as SDK v3 clients take it. */
export type CredentialsProvider = ((options?: { forceRefresh?: boolean }) => Promise<Credentials>) & { memoized?: boolean };

/**
 * Credentials of a role, from STS AssumeRole with the caller's own credentials, renewed
 * `CREDENTIAL_REFRESH_MARGIN_MS` before they expire by `now` (the virtual clock under localcloud, whose STS
 * expires sessions on that clock; `Date.now` in AWS). Concurrent callers share one AssumeRole call.
 *
 * The provider keeps its own cache and says so (`memoized`): the SDK then asks it before every request instead
 * of caching by the system clock, which would keep using credentials the virtual clock has expired.
 *
 * @example
 * ```ts
 * const credentials = assumeRoleCredentials(clients.get(STSClient), { RoleArn: 'arn:aws:iam::111122223333:role/scan', RoleSessionName: 'opsauto' });
 * const ec2 = new EC2Client({ region: 'eu-west-1', credentials });
 * ```
 */
export function assumeRoleCredentials(
  sts: STSClient,
  params: { RoleArn: string; RoleSessionName: string; DurationSeconds?: number },
  now: () => number = Date.now,
): CredentialsProvider {
  let current: Credentials | undefined;
  let pending: Promise<Credentials> | undefined;
  const assume = async (): Promise<Credentials> => {
    const out = await sts.send(new AssumeRoleCommand(params));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${params.RoleArn} returned no credentials`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  };
  const fresh = (c: Credentials | undefined): c is Credentials => c !== undefined && (!c.expiration || c.expiration.getTime() - now() > CREDENTIAL_REFRESH_MARGIN_MS);
  const provider: CredentialsProvider = async (options) => {
    if (!options?.forceRefresh && fresh(current)) return current;
    pending ??= assume().finally(() => (pending = undefined));
    current = await pending;
    return current;
  };
  provider.memoized = true;
  return provider;
}

/**
 * SDK clients per account: the backend's own account with its own credentials, every configured account with
 * the credentials of its role. One AwsClients per account, built on first use and kept for the life of the
 * Lambda container (so one AssumeRole per account and hour, not one per region or call).
 *
 * @example
 * ```ts
 * const own = new AwsClients(process.env.AWS_REGION!);
 * const accounts = new AccountClients(own, { ownAccount: await ownAccountId(own, context.invokedFunctionArn), roles: config.staleVolumes.accounts });
 * accounts.for('111122223333').get(EC2Client, 'eu-west-1');
 * ```
 */
export class AccountClients {
  private readonly byAccount = new Map<string, AwsClients>();
  private readonly roles: Map<string, string>;

  constructor(
    private readonly own: AwsClients,
    private readonly options: {
      ownAccount: string;
      roles: readonly AccountRole[];
      /** The settings `own` was built with (endpoint, retry strategy): the other accounts' clients use them too. */
      settings?: ClientSettings;
      sessionName?: string;
      /** Epoch ms; renewal of assumed-role credentials follows it. Default `Date.now`. */
      now?: () => number;
    },
  ) {
    this.roles = new Map(options.roles.map((r) => [r.accountId, r.roleArn]));
  }

  get ownAccount(): string {
    return this.options.ownAccount;
  }

  /** The clients that act in `account`. Throws for an account that is neither the own one nor configured. */
  for(account: string): AwsClients {
    if (account === this.options.ownAccount) return this.own;
    let clients = this.byAccount.get(account);
    if (clients) return clients;
    const roleArn = this.roles.get(account);
    if (!roleArn) throw new Error(`no role is configured for account ${account} (staleVolumes.accounts)`);
    const credentials = assumeRoleCredentials(this.own.get(STSClient), { RoleArn: roleArn, RoleSessionName: this.options.sessionName ?? STALE_VOLUME_SESSION_NAME }, this.options.now);
    clients = new AwsClients(this.own.homeRegion, { ...this.options.settings, credentials }, this.own.observer);
    this.byAccount.set(account, clients);
    return clients;
  }
}
