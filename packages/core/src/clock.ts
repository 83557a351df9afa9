/** Time, passed in: core never reads the system clock. */
export interface Clock {
  now(): Date;
}

export const fixedClock = (at: Date | string): Clock => ({ now: () => new Date(at) });
