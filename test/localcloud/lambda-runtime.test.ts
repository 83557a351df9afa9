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
