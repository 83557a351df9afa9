import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClockMoveCancelled, MAX_ADVANCE_MS, VirtualClock, type Localcloud } from '@opsauto/localcloud';
import { startTestCloud } from '../helpers/localcloud.js';

const DAY = 86_400_000;

let cloud: Localcloud | undefined;
afterEach(async () => {
  await cloud?.stop();
  cloud = undefined;
});

const postClock = (url: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${url}/_localcloud/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });

describe('moving the virtual clock through the control API', () => {
  it.each([
    [{ advance: 'P3650D' }, /^advance moves the clock at most 366 days \(P366D\) at once, not 3650 days: move in several steps$/],
    [{ advance: 'P367D' }, /at most 366 days \(P366D\) at once, not 367 days/],
    [{ set: '2999-01-01T00:00:00Z' }, /^set moves the clock forward at most 366 days at once, not \d+(\.\d)? days: move in several steps$/],
  ])('answers 400 naming the maximum and leaves the clock where it was when asked for %j', async (body, message) => {
    // Prepare
    cloud = await startTestCloud();
    const before = cloud.clock.offset;
    // Act
    const res = await postClock(cloud.url, body);
    // Assess
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
    expect(cloud.clock.offset).toBe(before);
  });

  it('moves forward to {"atLeast": time} running what falls due, never back, without waiting for running invocations', async () => {
    // Prepare: a function that is running (as a sleeping Python function is while it asks) does not hold the move.
    cloud = await startTestCloud();
    const start = cloud.clock.nowMs();
    const ran: number[] = [];
    cloud.clock.at(start + 10_000, () => void ran.push(cloud!.clock.nowMs()));
    let release = () => undefined as void;
    cloud.lambda.register({ name: 'busy', handler: () => new Promise((resolve) => (release = () => resolve(null))) });
    const busy = cloud.lambda.invoke('busy', {}, 'test');
    // Act
    const ahead = await postClock(cloud.url, { atLeast: new Date(start + 60_000).toISOString() });
    const behind = await postClock(cloud.url, { atLeast: new Date(start).toISOString() });
    const bad = await postClock(cloud.url, { atLeast: 'soon' });
    release();
    await busy;
    // Assess
    expect(ahead.status).toBe(200);
    expect(Date.parse(((await ahead.json()) as { now: string }).now)).toBeGreaterThanOrEqual(start + 60_000);
    // Once, at its due time: the virtual clock runs on with real time, so a loaded machine may read a few ms later.
    expect(ran).toHaveLength(1);
    expect(ran[0]).toBeGreaterThanOrEqual(start + 10_000);
    expect(ran[0]).toBeLessThan(start + 60_000);
    expect(Date.parse(((await behind.json()) as { now: string }).now)).toBeGreaterThanOrEqual(start + 60_000);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('atLeast must be an ISO-8601 time');
  });

  it('moves the full maximum when asked for exactly 366 days', async () => {
    // Prepare
    const clock = new VirtualClock(() => 0);
    // Act
    await clock.advance(MAX_ADVANCE_MS);
    // Assess
    expect(clock.nowMs()).toBe(366 * DAY);
  });

  it('stops the move where it got to when the client goes away in the middle of it', async () => {
    // Prepare: a schedule every virtual minute; its fifth run makes the client give up on a 300-day move.
    const lines: string[] = [];
    cloud = await startTestCloud({ log: (line) => lines.push(line) });
    const start = cloud.clock.nowMs();
    const client = new AbortController();
    let runs = 0;
    cloud.lambda.register({
      name: 'every-minute',
      handler: () => {
        if (++runs === 5) client.abort();
        return Promise.resolve(null);
      },
    });
    cloud.scheduler.add({ name: 'every-minute', expression: 'rate(1 minute)', target: 'every-minute' });
    // Act
    const request = postClock(cloud.url, { advance: 'P300D' }, client.signal);
    // Assess
    await expect(request).rejects.toThrow(/abort/i);
    await vi.waitFor(() => expect(lines.some((l) => l.startsWith('clock: the clock move was cancelled at '))).toBe(true), { timeout: 20_000, interval: 20 });
    const reached = cloud.clock.nowMs() - start;
    expect(reached).toBeGreaterThanOrEqual(5 * 60_000);
    // 300 days of minutes would be 432,000 runs; the move stopped within a few after the client left.
    expect(reached).toBeLessThan(DAY);
    expect(runs).toBeLessThan(1440);
    expect(cloud.clock.pendingTimers).toBeGreaterThan(0);
  });

  it('throws ClockMoveCancelled, with the timers before it run and the clock at the last of them, when the signal aborts', async () => {
    // Prepare
    const clock = new VirtualClock(() => 0);
    const stop = new AbortController();
    const ran: number[] = [];
    for (const minute of [1, 2, 3, 4]) clock.at(minute * 60_000, () => void (ran.push(minute), minute === 2 && stop.abort()));
    // Act
    const move = clock.advance(DAY, undefined, stop.signal);
    // Assess
    await expect(move).rejects.toBeInstanceOf(ClockMoveCancelled);
    expect(ran).toEqual([1, 2]);
    expect(clock.nowMs()).toBe(2 * 60_000);
    expect(clock.pendingTimers).toBe(2);
  });
});

describe('what ran since a time (GET /_localcloud/invocations and failures with ?since=)', () => {
  it('keeps the records started then or later, and answers 400 naming since when it is no time', async () => {
    // Prepare: one run yesterday (virtual time), one today that fails after its retries.
    cloud = await startTestCloud();
    cloud.lambda.register({ name: 'ok', handler: () => Promise.resolve({}) });
    cloud.lambda.register({ name: 'broken', handler: () => Promise.reject(new Error('boom')) });
    await cloud.lambda.invoke('ok', {});
    await cloud.advance('1d');
    const since = cloud.clock.now().toISOString();
    cloud.lambda.invokeAsync('broken', {}, 'test');
    await cloud.lambda.idle(); // its retries are armed once the first attempt has failed
    await cloud.advance('5m');
    // Act
    const get = async (path: string) => {
      const res = await fetch(`${cloud!.url}/_localcloud/${path}`);
      return { status: res.status, body: (await res.json()) as { function?: string; attempt?: number; error?: string }[] & { error?: string } };
    };
    const all = await get('invocations');
    const recent = await get(`invocations?since=${encodeURIComponent(since)}`);
    const failures = await get(`failures?since=${encodeURIComponent(since)}`);
    const later = await get(`failures?since=${encodeURIComponent(cloud.clock.now().toISOString())}`);
    const bad = await get('invocations?since=yesterday');
    // Assess
    expect(all.body.map((r) => r.function)).toEqual(['ok', 'broken', 'broken', 'broken']);
    expect(recent.body.map((r) => [r.function, r.attempt])).toEqual([['broken', 1], ['broken', 2], ['broken', 3]]);
    expect(failures.body.map((r) => [r.function, r.attempt])).toEqual([['broken', 3]]);
    expect(later.body).toEqual([]);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('since must be an ISO-8601 time, not "yesterday"');
  });
});
