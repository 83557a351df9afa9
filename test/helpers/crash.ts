import type { EngineDeps } from '@opsauto/core';
import { seeded } from '../core/ami/fakes.js';

// Process death for the crash suite. A kill is the death of one invocation (a Lambda's process) at a seeded point:
// at its k-th call to any dependency, either before the call takes effect or right after it took effect but before
// the caller sees the answer. After the kill nothing of that invocation lands any more: every later call of it throws
// before it reaches the dependency. Calls are counted across every invocation of one run, so that kill points spread
// over the whole run.

/** The error a killed invocation sees; it never reaches a dependency. */
export class Killed extends Error {
  override name = 'Killed';
}

export type KillMode = 'before' | 'after';

/** Where a kill landed: the run-wide call number, the dependency call, and whether its effect landed. */
export interface KillRecord {
  call: number;
  name: string;
  mode: KillMode;
}

/** The kill points of one run: call number → mode, or a rule that picks calls by number and name. */
export type KillPlan = Map<number, KillMode> | ((call: number, name: string) => KillMode | undefined);

/**
 * Seeds from the environment: CRASH_SEED=n replays one seed, CRASH_SEEDS=n runs seeds 1..n (default `fallback`).
 *
 * @example
 * crashSeeds(60) // [1, 2, …, 60], or [17] with CRASH_SEED=17
 */
export function crashSeeds(fallback: number): number[] {
  const one = process.env.CRASH_SEED;
  if (one !== undefined && one !== '') {
    if (!/^\d+$/.test(one)) throw new RangeError(`CRASH_SEED must be a whole number, not ${one}`);
    return [Number(one)];
  }
  const count = Number(process.env.CRASH_SEEDS ?? fallback);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`CRASH_SEEDS must be a whole number of at least 1, not ${process.env.CRASH_SEEDS}`);
  return Array.from({ length: count }, (_, i) => i + 1);
}

/**
 * One to three kills at distinct calls among the first `totalCalls` (the calls of a run without a kill), each before
 * or after its call, drawn from `seed`.
 */
export function killPlan(seed: number, totalCalls: number): Map<number, KillMode> {
  const random = seeded(seed * 7919 + 13);
  const plan = new Map<number, KillMode>();
  const kills = 1 + Math.floor(random() * 3);
  while (plan.size < Math.min(kills, totalCalls)) plan.set(1 + Math.floor(random() * totalCalls), random() < 0.5 ? 'before' : 'after');
  return plan;
}

/** Counts every dependency call of a run and kills invocations where the plan says. */
export class Killer {
  calls = 0;
  readonly kills: KillRecord[] = [];
  constructor(private readonly plan: KillPlan = new Map()) {}

  /** A new invocation (a fresh process): alive until a planned kill hits one of its calls. */
  invocation(): Invocation {
    return new Invocation(this);
  }

  /** @internal */
  modeOf(call: number, name: string): KillMode | undefined {
    return typeof this.plan === 'function' ? this.plan(call, name) : this.plan.get(call);
  }
}

/** One invocation's process: every dependency call goes through `call`. */
export class Invocation {
  dead = false;
  constructor(private readonly killer: Killer) {}

  async call<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    if (this.dead) throw new Killed(`${name} after the process died`);
    const n = ++this.killer.calls;
    const mode = this.killer.modeOf(n, name);
    if (mode === 'before') return this.die(n, name, mode);
    const result = await fn();
    // A call in flight when a sibling call (Promise.all) killed the process lands, but nobody sees its answer.
    if (this.dead) throw new Killed(`${name} answered after the process died`);
    if (mode === 'after') return this.die(n, name, mode);
    return result;
  }

  /** `target` with every method going through `call` (named `<prefix>.<method>`); async iterators page by page. */
  wrap<T extends object>(target: T, prefix: string, iterators: readonly string[] = []): T {
    return new Proxy(target, {
      get: (t, key, receiver) => {
        const value = Reflect.get(t, key, receiver) as unknown;
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        const method = value as (...args: unknown[]) => unknown;
        const name = `${prefix}.${key}`;
        if (iterators.includes(key)) return (...args: unknown[]) => this.pages(name, () => method.apply(t, args) as AsyncIterable<unknown>);
        return (...args: unknown[]) => this.call(name, () => method.apply(t, args) as Promise<unknown>);
      },
    });
  }

  private async *pages<P>(name: string, open: () => AsyncIterable<P>): AsyncIterable<P> {
    const iterator = open()[Symbol.asyncIterator]();
    for (;;) {
      const next = await this.call(name, () => iterator.next());
      if (next.done) return;
      yield next.value;
    }
  }

  private die(call: number, name: string, mode: KillMode): never {
    this.dead = true;
    this.killer.kills.push({ call, name, mode });
    throw new Killed(`killed ${mode} call ${call} (${name})`);
  }
}

/**
 * A plan that kills once, at the `nth` call named `name` (1-based), `mode` it; for named reproducers that must not
 * depend on how many calls come before.
 *
 * @example
 * killAt('store.pendingSignals', 1, 'before') // the first read of signals never happens
 */
export function killAt(name: string, nth: number, mode: KillMode): KillPlan {
  let seen = 0;
  return (_call, called) => (called === name && ++seen === nth ? mode : undefined);
}

/** The kills of a run, for a failure message: `#12 store.save after, #40 action.start before`. */
export const describeKills = (kills: readonly KillRecord[]): string => kills.map((k) => `#${k.call} ${k.name} ${k.mode}`).join(', ') || 'none';

/**
 * The runbook engine's dependencies as one invocation's process sees them: every store call, action, dispatch,
 * wake-up, publish and runbook load goes through the invocation (and dies with it), and so does a sleep.
 */
export function engineThrough(base: EngineDeps, inv: Invocation): EngineDeps {
  return {
    ...base,
    store: inv.wrap(base.store, 'store'),
    actions: inv.wrap(base.actions, 'action'),
    dispatch: (ids) => inv.call('dispatch', () => base.dispatch(ids)),
    wakeUp: (id, at) => inv.call('wakeUp', () => base.wakeUp(id, at)),
    publish: (entries) => inv.call('publish', () => base.publish(entries)),
    loadRunbook: (name, version) => inv.call('loadRunbook', () => base.loadRunbook(name, version)),
    sleep: (ms) => (inv.dead ? Promise.reject(new Killed('sleep after the process died')) : base.sleep(ms)),
  };
}
