import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { startTestCloud } from '../helpers/localcloud.js';

describe('localcloud HTTP API under hostile input', () => {
  let cloud: Localcloud;
  let api: string;
  let invoked: unknown[];

  beforeEach(async () => {
    cloud = await startTestCloud();
    invoked = [];
    cloud.lambda.register({
      name: 'echo',
      handler: (event) => {
        invoked.push(event);
        return Promise.resolve({ statusCode: 200, body: JSON.stringify({ ok: true }) });
      },
    });
    cloud.httpApi.addRoute({ method: 'POST', path: '/items/{id}', function: 'echo' });
    api = `http://127.0.0.1:${await cloud.httpApi.listen(0)}`;
  });
  afterEach(async () => {
    await cloud.stop();
  });

  it('passes a small body to the function', async () => {
    const res = await fetch(`${api}/items/a1`, { method: 'POST', body: '{"x":1}' });
    expect(res.status).toBe(200);
    expect(invoked).toMatchObject([{ body: '{"x":1}', pathParameters: { id: 'a1' } }]);
  });

  it('refuses a 50 MB body with 413 without invoking the function', async () => {
    const res = await fetch(`${api}/items/a1`, { method: 'POST', body: 'a'.repeat(50 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(invoked).toEqual([]);
  });

  it('answers a path parameter that is not valid percent-encoding with 400 without invoking the function', async () => {
    const res = await fetch(`${api}/items/%E0%A4%A`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(400);
    expect(invoked).toEqual([]);
  });
});
