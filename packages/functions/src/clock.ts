import type { Clock } from '@opsauto/core';

/**
 * System time, shifted by localcloud's virtual clock when the function runs in the local stage
 * (localcloud sets LOCALCLOUD_CLOCK_OFFSET_MS; in AWS it is never set).
 */
export const systemClock: Clock = {
  now: () => new Date(Date.now() + Number(process.env.LOCALCLOUD_CLOCK_OFFSET_MS ?? 0)),
};
