import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Localcloud } from '@opsauto/localcloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud } from '../helpers/localcloud.js';

// The HTTP API's static mount (the console's dist at /console/ on the local stage): files with their content types,
// index.html for the app's own addresses, never a file outside the directory, 503 while nothing is built.

let cloud: Localcloud;
let api: string;
let root: string;
const INDEX = '<!doctype html><title>console</title>';

/** A request sent with its path exactly as written (fetch would resolve `..` before sending). */
function raw(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${api}${path}`, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'static-mount-'));
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'app-1a2b.js'), 'console.log(1)');
  writeFileSync(join(dist, 'assets', 'app-1a2b.css'), 'body{}');
  // Beside the served directory: what a traversal would reach.
  writeFileSync(join(root, 'secret.txt'), 'do not serve');
  cloud = await startTestCloud();
  cloud.httpApi.serveStatic({ prefix: '/console/', directory: dist, missing: 'run npm run build -w @opsauto/console' });
  cloud.httpApi.serveStatic({ prefix: '/unbuilt/', directory: join(root, 'nothing-here'), missing: 'run npm run build -w @opsauto/console' });
  api = `http://127.0.0.1:${await cloud.httpApi.listen(0)}`;
});
afterAll(async () => {
  await cloud.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('static files on the HTTP API', () => {
  it('serves files with their content types', async () => {
    expect(await raw('/console/assets/app-1a2b.js')).toEqual({ status: 200, type: 'text/javascript; charset=utf-8', body: 'console.log(1)' });
    expect(await raw('/console/assets/app-1a2b.css')).toMatchObject({ status: 200, type: 'text/css; charset=utf-8' });
    expect(await raw('/console/')).toEqual({ status: 200, type: 'text/html; charset=utf-8', body: INDEX });
  });

  it("answers index.html for the app's own addresses, which are not files", async () => {
    for (const path of ['/console/executions', '/console/executions/abc-123', '/console/findings?x=1', '/console']) {
      expect(await raw(path), path).toEqual({ status: 200, type: 'text/html; charset=utf-8', body: INDEX });
    }
  });

  it('never serves a file outside the directory, whatever the encoding of ..', async () => {
    for (const path of ['/console/../secret.txt', '/console/..%2fsecret.txt', '/console/%2e%2e%2fsecret.txt', '/console/..%5csecret.txt', '/console/%2e%2e/%2e%2e/etc/passwd', '/console/assets/..%2f..%2fsecret.txt']) {
      const res = await raw(path);
      expect(res.body, path).not.toContain('do not serve');
      expect(res.body, path).not.toContain('root:');
    }
  });

  it('answers 503 naming the build command while the directory has no index.html, and 405 to a POST', async () => {
    expect(await raw('/unbuilt/')).toEqual({ status: 503, type: 'text/plain; charset=utf-8', body: 'run npm run build -w @opsauto/console\n' });
    expect((await raw('/console/', 'POST')).status).toBe(405);
  });
});
