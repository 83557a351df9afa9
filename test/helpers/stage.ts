/**
 * Settings for a local stage whose clock moves days at a time. The runbook worker's recovery tick (every 5 minutes
 * by default) and the activation sweep (hourly) become daily: 46 virtual days are then 92 idle invocations instead
 * of 14,352, which were most of those tests' run time. Both still run beside what a test is about, as deployed.
 */
export const DAILY_BACKGROUND = { runbooks: { tickSchedule: 'rate(1 day)' }, activations: { sweepSchedule: 'rate(1 day)' } } as const;
