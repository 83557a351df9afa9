import type { Automation, OpsautoConfig } from '@opsauto/core';
import shipped from '../../opsauto.config.js';
import { DAILY_BACKGROUND } from './stage.js';

/**
 * The shipped config for a local stage on the virtual clock: the recovery tick and the activation sweep made daily
 * (DAILY_BACKGROUND: wake-ups drive the executions; a week on the clock stays a few hundred timers, not two
 * thousand) and every automation `keep` refuses disabled (no schedule or rule), so that moving the clock far starts
 * only what a test is about.
 */
export function shippedConfig(keep: (automation: Automation) => boolean): OpsautoConfig {
  const config = structuredClone(shipped);
  config.runbooks.tickSchedule = DAILY_BACKGROUND.runbooks.tickSchedule;
  config.activations.sweepSchedule = DAILY_BACKGROUND.activations.sweepSchedule;
  for (const a of config.automations) if (!keep(a)) a.enabled = false;
  return config;
}
