import { SsmParameterPolicies } from '@opsauto/aws';
import { applyParameterPolicies, ForbiddenError, inPaths } from '@opsauto/core';
import * as z from 'zod/mini';
import { clients } from '../clients.js';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { eventHandler } from '../handler.js';
import { logger } from '../logger.js';

const span = z.string().check(z.maxLength(16));

/**
 * What an automation asks of `param-policy-apply` (invoked directly: a runbook's aws:invokeLambdaFunction, Step
 * Functions, `aws lambda invoke`): the fields of `opsauto params policy set|clear`.
 */
export const policyApplyEvent = z.strictObject({
  parameter: z.string().check(z.minLength(1), z.maxLength(2048)),
  expires: z.optional(z.string().check(z.maxLength(64))),
  expiresIn: z.optional(span),
  notifyBefore: z.optional(z.array(span).check(z.maxLength(10))),
  noChangeAfter: z.optional(span),
  replace: z.optional(z.boolean()),
  clear: z.optional(z.boolean()),
  /** Upgrade a standard parameter to the advanced tier (charged, irreversible); without it the answer is `needs-advanced`. */
  allowAdvanced: z.optional(z.boolean()),
});

/**
 * Sets or clears a parameter's policies as `opsauto params policy set|clear` does (applyParameterPolicies: merged
 * with its set, checked before any call, its value, type, key, tags and description kept), for automations. Only
 * parameters below `parameterExpiry.paths`. Answers what it did; a standard parameter without `allowAdvanced` is
 * answered `needs-advanced` with the cost, and nothing is written. The value is never logged or returned.
 */
export const handler = eventHandler(policyApplyEvent, async ({ parameter, allowAdvanced, ...request }) => {
  const { paths } = loadConfig().parameterExpiry;
  if (!inPaths(parameter, paths)) throw new ForbiddenError(`parameter: ${parameter} is outside parameterExpiry.paths (${paths.join(', ')})`, 'parameter');
  const result = await applyParameterPolicies({ parameters: new SsmParameterPolicies(clients), clock: systemClock }, parameter, request, { allowAdvanced: allowAdvanced === true });
  const { plan } = result;
  const answer = {
    status: result.status,
    parameter,
    ...(result.status === 'needs-advanced' ? { note: result.note } : { version: result.version, tier: result.tier }),
    added: plan.added,
    removed: plan.removed,
  };
  logger.info('parameter policies', { parameter, status: answer.status, added: plan.added.length, removed: plan.removed.length });
  return answer;
});
