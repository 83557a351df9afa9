import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { ASYNC_RETRY_DELAYS_MS } from '../../packages/localcloud/src/lambda.js';
import { startTestCloud } from '../helpers/localcloud.js';

describe('localcloud Lambda runtime', () => {
  let cloud: Localcloud;
  beforeEach(async () => {
    cloud = await startTestCloud();
  });
  afterEach(async () => {
    await cloud.stop();
  });

  it('records a final asynchronous failure against the function that failed when others finish at the same moment', async () => {
    // Prepare: both functions wait on one gate, so their ends interleave; "broken" fails on its last attempt.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    cloud.lambda.register({
      name: 'broken',
      handler: async () => {
        await gate;
        throw new Error('broken for good');
      },
    });
    for (const name of ['fine-1', 'fine-2', 'fine-3']) {
      cloud.lambda.register({
        name,
        handler: async () => {
          await gate;
          return 'ok';
        },
      });
    }
    const lastAttempt = ASYNC_RETRY_DELAYS_MS.length + 1;

    // Act
    cloud.lambda.invokeAsync('broken', { which: 'broken' }, 'test', lastAttempt);
    for (const name of ['fine-1', 'fine-2', 'fine-3']) cloud.lambda.invokeAsync(name, { which: name }, 'test', lastAttempt);
    open();
    await cloud.lambda.idle();

    // Assess: one failure, of "broken", with its own event and request id.
    expect(cloud.lambda.failures).toHaveLength(1);
    const [failure] = cloud.lambda.failures;
    expect(failure).toMatchObject({ function: 'broken', ok: false, error: 'broken for good', event: { which: 'broken' }, attempt: lastAttempt });
    const brokenRun = cloud.lambda.invocations.find((i) => i.function === 'broken');
    expect(failure.requestId).toBe(brokenRun!.requestId);
  });

  it("keeps an invocation's request ID on Lambda's retries of it, and gives another delivery of the event its own", async () => {
    // Prepare: a function that fails its first two attempts and tells which request ID it ran under.
    const seen: { id: string }[] = [];
    cloud.lambda.register({
      name: 'flaky',
      handler: (_event, context) => {
        seen.push({ id: context.awsRequestId });
        if (seen.filter((s) => s.id === context.awsRequestId).length < 3) return Promise.reject(new Error('not yet'));
        return Promise.resolve('ok');
      },
    });

    // Act: one event, then the same event delivered again; the clock runs both retries of each.
    cloud.lambda.invokeAsync('flaky', { n: 1 }, 'test');
    cloud.lambda.invokeAsync('flaky', { n: 1 }, 'test');
    await cloud.lambda.idle();
    // Past both retries (1 and 2 minutes apart), each retry waited for before the next is due.
    for (const delay of ASYNC_RETRY_DELAYS_MS) {
      await cloud.advance(delay + 1000);
      await cloud.lambda.idle();
    }

    // Assess: six runs, two request IDs, three runs each.
    expect(seen).toHaveLength(6);
    const ids = [...new Set(seen.map((s) => s.id))];
    expect(ids).toHaveLength(2);
    expect(ids.map((id) => seen.filter((s) => s.id === id).length)).toEqual([3, 3]);
    expect(cloud.lambda.failures).toEqual([]);
  });

  it('records a failure of a function that is not registered under its own name', async () => {
    cloud.lambda.register({ name: 'present', handler: () => Promise.resolve('ok') });

    cloud.lambda.invokeAsync('absent', {}, 'test', ASYNC_RETRY_DELAYS_MS.length + 1);
    cloud.lambda.invokeAsync('present', {}, 'test', ASYNC_RETRY_DELAYS_MS.length + 1);
    await cloud.lambda.idle();

    expect(cloud.lambda.failures.map((f) => f.function)).toEqual(['absent']);
  });

  it('keeps an invocation that says it was idle out of the log, but among the invocations; an idle failure is logged', async () => {
    // Prepare
    const lines: string[] = [];
    const logged = await startTestCloud({ log: (line) => lines.push(line) });
    logged.lambda.register({ name: 'tick', handler: (event: unknown) => Promise.resolve((event as { work?: boolean }).work ? { dispatched: ['x'] } : { dispatched: [], idle: true }) });
    logged.lambda.register({ name: 'idle-then-fails', handler: () => Promise.reject(new Error('down')) });
    try {
      // Act
      await logged.lambda.invoke('tick', {}, 'schedule tick');
      await logged.lambda.invoke('tick', { work: true }, 'schedule tick');
      await logged.lambda.invoke('idle-then-fails', {}, 'schedule tick').catch(() => undefined);
      // Assess
      expect(lines.filter((l) => l.startsWith('λ '))).toEqual([expect.stringMatching(/^λ tick ← schedule tick: ok/), expect.stringMatching(/^λ idle-then-fails ← schedule tick: FAILED/)]);
      expect(logged.lambda.invocations.map((i) => [i.function, i.idle ?? false])).toEqual([
        ['tick', true],
        ['tick', false],
        ['idle-then-fails', false],
      ]);
    } finally {
      await logged.stop();
    }
  });
});
