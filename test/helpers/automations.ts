import type { Automation, OpsautoConfig } from '@opsauto/core';
import shipped from '../../opsauto.config.js';

/**
 * The shipped config for a local stage on the virtual clock: the recovery tick made daily (wake-ups drive the
 * executions; a week on the clock stays a few hundred timers, not two thousand) and every automation `keep` refuses
 * disabled (no schedule or rule), so that moving the clock far starts only what a test is about.
 */
export function shippedConfig(keep: (automation: Automation) => boolean): OpsautoConfig {
  const config = structuredClone(shipped);
  config.runbooks.tickSchedule = 'rate(1 day)';
  for (const a of config.automations) if (!keep(a)) a.enabled = false;
  return config;
}
