import { STSClient } from '@aws-sdk/client-sts';
import { AwsClients, type ClientSettings } from '../clients.js';
import { assumeRoleCredentials } from '../ebs/account-clients.js';

/**
 * Clients that act as `roleArn` (STS AssumeRole by `base`'s own credentials, renewed by `now`), with `settings`
 * (endpoint, retry strategy). Imported by AwsActionRunner for the first document that names an assumeRole.
 */
export function assumedRoleClients(base: AwsClients, roleArn: string, sessionName: string, settings: ClientSettings | undefined, now?: () => number): AwsClients {
  const credentials = assumeRoleCredentials(base.get(STSClient), { RoleArn: roleArn, RoleSessionName: sessionName }, now);
  return new AwsClients(base.homeRegion, { ...settings, credentials }, base.observer);
}
