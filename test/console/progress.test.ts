import { describe, expect, it } from 'vitest';
import { authConfigFrom } from '../../packages/console/src/auth.js';
import { childrenProgress, errorLimitOf } from '../../packages/console/src/progress.js';
import { stepBars } from '../../packages/console/src/timeline.js';

const children = (over: Partial<Parameters<typeof childrenProgress>[0]> = {}) => ({ total: 10, success: 6, failed: 1, running: 2, pending: 1, maxConcurrency: '2', maxErrors: '1', ...over });

describe('childrenProgress', () => {
  it('splits the bar into succeeded, failed, running and pending shares', () => {
    const p = childrenProgress(children());
    expect(p.segments).toEqual([
      { kind: 'success', count: 6, percent: 60 },
      { kind: 'failed', count: 1, percent: 10 },
      { kind: 'running', count: 2, percent: 20 },
      { kind: 'pending', count: 1, percent: 10 },
    ]);
    expect(p.done).toBe(7);
    expect(p.percentDone).toBe(70);
  });

  it('counts failures against MaxErrors: at the limit launching goes on, past it it stops', () => {
    expect(childrenProgress(children()).exceeded).toBe(false);
    expect(childrenProgress(children()).label).toBe('1 failed of 1 allowed (MaxErrors 1)');
    const over = childrenProgress(children({ failed: 2, success: 5 }));
    expect(over.exceeded).toBe(true);
    expect(over.label).toBe('2 failed of 1 allowed (MaxErrors 1)');
  });

  it('takes the limit from errorsLeft when the API gives it, else resolves MaxErrors against the targets', () => {
    expect(childrenProgress(children({ maxErrors: '10%', total: 50, success: 40, running: 5, pending: 3, failed: 2 })).errorLimit).toBe(5);
    expect(childrenProgress(children({ maxErrors: '10%', errorsLeft: 1, failed: 3 })).errorLimit).toBe(4);
    expect(childrenProgress(children({ failed: 3, errorsLeft: -1 })).exceeded).toBe(true);
  });

  it('rounds shares to a tenth and copes with no children', () => {
    expect(childrenProgress(children({ total: 3, success: 1, failed: 1, running: 1, pending: 0 })).segments.map((s) => s.percent)).toEqual([33.3, 33.3, 33.3, 0]);
    const none = childrenProgress(children({ total: 0, success: 0, failed: 0, running: 0, pending: 0, maxErrors: '0' }));
    expect(none.segments.every((s) => s.percent === 0)).toBe(true);
    expect(none.exceeded).toBe(false);
  });
});

describe('errorLimitOf', () => {
  it('resolves a count or a percentage rounded down, as StartAutomationExecution does', () => {
    expect(errorLimitOf('10%', 50)).toBe(5);
    expect(errorLimitOf('1%', 3)).toBe(0);
    expect(errorLimitOf('3', 50)).toBe(3);
    expect(errorLimitOf(2, 50)).toBe(2);
    expect(errorLimitOf('', 50)).toBe(0);
  });
});

describe('stepBars', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();

  it('places each step on the execution span; a running step reaches the end; a step not started has no bar', () => {
    const bars = stepBars([{ startedAt: t(0), endedAt: t(30) }, { startedAt: t(30) }, {}], t(0), t(60));
    expect(bars).toEqual([{ left: 0, width: 50 }, { left: 50, width: 50 }, undefined]);
  });

  it('keeps an instant step visible and never runs past the end', () => {
    const [instant, late] = stepBars([{ startedAt: t(10), endedAt: t(10) }, { startedAt: t(59), endedAt: t(90) }], t(0), t(60));
    expect(instant).toEqual({ left: 16.7, width: 0.5 });
    expect(late).toEqual({ left: 98.3, width: 1.7 });
  });
});

describe('authConfigFrom', () => {
  const vars = { VITE_API_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com', VITE_USER_POOL_ID: 'eu-west-1_AbC123', VITE_USER_POOL_CLIENT_ID: 'client1', VITE_COGNITO_DOMAIN: 'ops.auth.eu-west-1.amazoncognito.com' };

  it('needs no login without an API URL or a user pool (the local stage)', () => {
    expect(authConfigFrom({}, 'http://127.0.0.1:3000/console/')).toBeUndefined();
    expect(authConfigFrom({ VITE_API_URL: vars.VITE_API_URL }, 'x')).toBeUndefined();
  });

  it('reads the pool, its region, the client and the hosted UI domain', () => {
    expect(authConfigFrom(vars, 'https://d1.cloudfront.net/console/')).toEqual({
      poolId: 'eu-west-1_AbC123',
      clientId: 'client1',
      region: 'eu-west-1',
      domain: 'https://ops.auth.eu-west-1.amazoncognito.com',
      redirectUri: 'https://d1.cloudfront.net/console/',
    });
    expect(authConfigFrom({ ...vars, VITE_COGNITO_DOMAIN: 'https://login.example.com/' }, 'r')?.domain).toBe('https://login.example.com');
  });

  it('takes VITE_AUTH_DOMAIN and VITE_REGION, as the Api stack names them', () => {
    const c = authConfigFrom({ ...vars, VITE_COGNITO_DOMAIN: undefined, VITE_AUTH_DOMAIN: 'https://opsauto-prod-console.auth.us-east-2.amazoncognito.com', VITE_REGION: 'us-east-2', VITE_USER_POOL_ID: 'us-east-2_X' }, 'r');
    expect(c).toMatchObject({ domain: 'https://opsauto-prod-console.auth.us-east-2.amazoncognito.com', region: 'us-east-2' });
  });

  it('names the setting that is missing', () => {
    expect(() => authConfigFrom({ ...vars, VITE_USER_POOL_CLIENT_ID: undefined }, 'r')).toThrow('VITE_USER_POOL_CLIENT_ID must be set');
    expect(() => authConfigFrom({ ...vars, VITE_COGNITO_DOMAIN: '' }, 'r')).toThrow('VITE_COGNITO_DOMAIN (or VITE_AUTH_DOMAIN) must be set with VITE_USER_POOL_ID');
  });
});
