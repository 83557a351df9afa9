import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger of every function: JSON, service `opsauto`, level from POWERTOOLS_LOG_LEVEL (default INFO).
 * Never log secrets: activation codes, enrollment tokens and parameter values stay out of every line.
 */
export const logger = new Logger({ serviceName: 'opsauto' });
