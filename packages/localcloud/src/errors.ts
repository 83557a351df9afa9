/** An error answered the way the AWS service would: its error code, message and HTTP status. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Further members of the error shape, sent beside the message (e.g. the OpsItemId of OpsItemAlreadyExists). */
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export const validation = (message: string) => new AwsError('ValidationException', message);

/** The shape of an AWS operation name (`DescribeVolumes`): what a request names that AWS has, but localcloud may not emulate. */
export const OPERATION_NAME = /^[A-Z][A-Za-z0-9]{1,127}$/;

/**
 * What localcloud answers for something AWS has and localcloud does not emulate (an operation, a parameter, a
 * value): AWS's generic `UnsupportedOperation` (awsJson and restJson: `UnsupportedOperationException`), with a
 * message naming what is missing; never another API's real error code, which a caller could take for AWS's word.
 *
 * @example notEmulated('query', 'rds:ModifyDBInstance parameter StorageType') // UnsupportedOperation, "localcloud does not emulate rds:ModifyDBInstance parameter StorageType"
 */
export function notEmulated(protocol: 'json' | 'rest-json' | 'ec2' | 'query' | 'rest-xml', what: string): AwsError {
  if (protocol === 'rest-xml') return new AwsError('NotImplemented', `localcloud does not emulate ${what}`, 501);
  return new AwsError(protocol === 'json' || protocol === 'rest-json' ? 'UnsupportedOperationException' : 'UnsupportedOperation', `localcloud does not emulate ${what}`);
}
