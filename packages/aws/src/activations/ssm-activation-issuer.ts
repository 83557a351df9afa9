import { CreateActivationCommand, DeleteActivationCommand, DescribeActivationsCommand, paginateDescribeActivations, SSMClient } from '@aws-sdk/client-ssm';
import { ISSUANCE_TAG, type ActivationIssuer, type ActivationRequest, type FoundActivation } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';

/**
 * CreateActivation or DeleteActivation failed. Carries what a caller decides on (the AWS error code as `name`, the
 * HTTP status, whether the SDK deems it retryable) and a message that never holds an activation code: a service
 * error's own message is kept (an error response holds no code), while a failure to read a successful response (whose
 * body would hold the code) is reported by its kind only. No `cause` and no raw response are attached.
 */
export class ActivationServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatusCode: number | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ActivationServiceError';
  }
}

/** Whether the SDK's error is one AWS answered with an error response (its message holds no response body). */
function serviceError(e: unknown): { name: string; message: string; status: number | undefined; retryable: boolean } | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as { name?: unknown; message?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = err.$metadata?.httpStatusCode;
  const isService = (err.$fault === 'client' || err.$fault === 'server') && typeof status === 'number' && status >= 400;
  if (!isService) return undefined;
  return {
    name: typeof err.name === 'string' ? err.name : 'UnknownError',
    message: typeof err.message === 'string' ? err.message : '',
    status,
    retryable: err.$fault === 'server' || err.$retryable !== undefined || /Throttl|TooManyUpdates|InternalServerError|ServiceUnavailable/.test(String(err.name)),
  };
}

/** The error an operation's failure becomes: the service's words, or the failure's kind when no response was read. */
function sanitised(operation: string, e: unknown): ActivationServiceError {
  const s = serviceError(e);
  if (s) return new ActivationServiceError(s.name, `${operation} failed: ${s.name}: ${s.message}`, s.status, s.retryable);
  const name = typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string' ? (e as { name: string }).name : 'Error';
  return new ActivationServiceError(name, `${operation} failed before AWS's answer could be read (${name})`, undefined, true);
}

/**
 * ActivationIssuer over SSM: CreateActivation with the request's role, RegistrationLimit, expiry, instance name,
 * description and tags (as AWS's list of Key/Value), in the issuer's region; DeleteActivation, where an activation
 * that is already gone (InvalidActivationId, or InvalidActivation: "might have been deleted") is no failure. Errors
 * are ActivationServiceError, free of the activation code. `registrations` reads an activation's RegistrationsCount
 * (DescribeActivations filtered by its id; 0 once it is gone); `findIssued` lists an instance name's activations
 * that carry an issuance's ISSUANCE_TAG (DescribeActivations filtered by DefaultInstanceName, every page).
 *
 * @example
 * const issuer = new SsmActivationIssuer(clients, 'eu-west-1');
 * const { activationId, activationCode } = await issuer.create(activationRequest(token, 'rack7-db-01', now, 3_600_000));
 */
export class SsmActivationIssuer implements ActivationIssuer {
  constructor(
    private readonly clients: AwsClients,
    private readonly region?: string,
  ) {}

  async create(request: ActivationRequest): Promise<{ activationId: string; activationCode: string }> {
    let out;
    try {
      out = await this.ssm().send(
        new CreateActivationCommand({
          IamRole: request.iamRole,
          RegistrationLimit: request.registrationLimit,
          ExpirationDate: new Date(request.expirationDate),
          DefaultInstanceName: request.defaultInstanceName,
          Description: request.description,
          Tags: Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
    } catch (e) {
      throw sanitised('CreateActivation', e);
    }
    if (!out.ActivationId || !out.ActivationCode) throw new ActivationServiceError('IncompleteResponse', 'CreateActivation answered without an ActivationId or ActivationCode', undefined, true);
    return { activationId: out.ActivationId, activationCode: out.ActivationCode };
  }

  async delete(activationId: string): Promise<void> {
    try {
      await this.ssm().send(new DeleteActivationCommand({ ActivationId: activationId }));
    } catch (e) {
      if (isAwsError(e, 'InvalidActivationId', 'InvalidActivation')) return;
      throw sanitised(`DeleteActivation of ${activationId}`, e);
    }
  }

  async registrations(activationId: string): Promise<number> {
    let out;
    try {
      out = await this.ssm().send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [activationId] }] }));
    } catch (e) {
      throw sanitised(`DescribeActivations of ${activationId}`, e);
    }
    return out.ActivationList?.find((a) => a.ActivationId === activationId)?.RegistrationsCount ?? 0;
  }

  async findIssued(instanceName: string, ref: string): Promise<FoundActivation[]> {
    const found: FoundActivation[] = [];
    try {
      const pages = paginateDescribeActivations({ client: this.ssm() }, { Filters: [{ FilterKey: 'DefaultInstanceName', FilterValues: [instanceName] }] });
      for await (const page of pages) {
        for (const a of page.ActivationList ?? []) {
          if (!a.ActivationId || !a.Tags?.some((t) => t.Key === ISSUANCE_TAG && t.Value === ref)) continue;
          found.push({
            activationId: a.ActivationId,
            expiresAt: (a.ExpirationDate ?? new Date(0)).toISOString(),
            createdAt: (a.CreatedDate ?? new Date(0)).toISOString(),
            registrations: a.RegistrationsCount ?? 0,
          });
        }
      }
    } catch (e) {
      throw sanitised(`DescribeActivations of ${instanceName}`, e);
    }
    return found;
  }

  private ssm(): SSMClient {
    return this.clients.get(SSMClient, this.region);
  }
}
