import type { AwsClients } from './clients.js';

/**
 * The backend's own account: from the Lambda context's `invokedFunctionArn` when there is one (no call), else
 * from STS GetCallerIdentity. Call it once per container. The STS client is imported only when it is asked, so a
 * function that has its ARN never loads it.
 */
export async function ownAccountId(clients: AwsClients, invokedFunctionArn?: string): Promise<string> {
  const fromArn = invokedFunctionArn?.split(':')[4];
  if (fromArn && /^\d{12}$/.test(fromArn)) return fromArn;
  const { callerAccount } = await import('./caller-identity.js');
  return callerAccount(clients);
}
