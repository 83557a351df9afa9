/**
 * SSM errors that carry members besides the message, as AWS sends them in the JSON error body (for example the
 * `OpsItemId` of OpsItemAlreadyExistsException, which a client reads to update the existing item). The members
 * are written beside `__type` and `message` by the server's awsJson error writer.
 */
import { AwsError } from '../errors.js';

export class AwsErrorWithMembers extends AwsError {
  constructor(code: string, message: string, members: Record<string, unknown>, status = 400) {
    super(code, message, status, members);
  }
}
