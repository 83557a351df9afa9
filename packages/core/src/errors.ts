/** A conditional write lost a race: someone else changed the record first. Callers re-read and retry. */
export class ConcurrentUpdateError extends Error {
  override name = 'ConcurrentUpdateError';
}

/** The request names something that does not exist (maps to 404 / a CLI error). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The request is understood but not allowed in the current state (maps to 409 / a CLI error). */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** Input that fails validation; `field` names what is wrong (maps to 400). */
export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The caller may not do this (a runbook not allowed to be started by name, a role not allowed to be assumed). */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
