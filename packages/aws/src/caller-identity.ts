import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from './clients.js';

/** The account of the caller's credentials, from STS GetCallerIdentity (imported by ownAccountId when it needs it). */
export async function callerAccount(clients: AwsClients): Promise<string> {
  const out = await clients.get(STSClient).send(new GetCallerIdentityCommand({}));
  if (!out.Account) throw new Error('STS GetCallerIdentity returned no account');
  return out.Account;
}

/** The caller's identity ARN (a user, or `arn:aws:sts::…:assumed-role/<role>/<session>`), from STS GetCallerIdentity. */
export async function callerArn(clients: AwsClients): Promise<string> {
  const out = await clients.get(STSClient).send(new GetCallerIdentityCommand({}));
  if (!out.Arn) throw new Error('STS GetCallerIdentity returned no ARN');
  return out.Arn;
}
