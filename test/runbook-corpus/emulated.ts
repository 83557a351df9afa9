import { emulatedOperations as listEmulated } from '@opsauto/localcloud';

/**
 * `service:Operation` for every operation localcloud serves, read from its service definitions (see
 * packages/localcloud/src/services/registry.ts), so that the survey's "emulated" column stays true as operations
 * and services are added.
 *
 * @example
 * (await emulatedOperations()).has('ec2:DescribeInstances') // true
 */
export function emulatedOperations(): Promise<Set<string>> {
  return Promise.resolve(new Set(listEmulated()));
}
