import type { Localcloud } from '@opsauto/localcloud';
import { MAX_ADVANCE_MS, parseDuration } from '@opsauto/localcloud/clock.js';
import { CONSOLE_DIST } from './console-build.js';

/** What the local stage answers at /console/ while the console is not built. */
export const CONSOLE_NOT_BUILT = 'The console is not built: run npm run build -w @opsauto/console, then reload this page.';

/** localcloud's error sentence, or a generic one. */
const errorText = (value: unknown): string => (typeof value === 'string' ? value : 'the fault rules are not valid');

type Answer = { status: number; body: unknown } | undefined;
const error = (status: number, code: string, message: string): Answer => ({ status, body: { error: code, message } });

/**
 * The local stage's console: the built page at /console/ and the local-only routes `/api/local/clock` and
 * `/api/local/faults`, which wrap localcloud's /_localcloud/clock and /_localcloud/faults (docs/console-api.md).
 * The HTTP API listens on 127.0.0.1 only: no authorizer here, as the CLI's own control calls have none.
 */
export function serveConsole(cloud: Localcloud, dist = CONSOLE_DIST): void {
  cloud.httpApi.serveStatic({ prefix: '/console/', directory: dist, missing: CONSOLE_NOT_BUILT });
  const control = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${cloud.url}/_localcloud/${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    return { status: res.status, body: await res.json() };
  };
  cloud.httpApi.addLocalRoute(async ({ method, path, body }) => {
    if (!path.startsWith('/api/local/')) return undefined;
    let parsed: Record<string, unknown> = {};
    if (body) {
      try {
        parsed = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return error(400, 'BadRequest', 'body: is not valid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return error(400, 'BadRequest', 'body: must be a JSON object');
    }
    if (path === '/api/local/clock') {
      if (method === 'GET') {
        const { body: clock } = await control('GET', 'clock');
        return { status: 200, body: clock };
      }
      if (method !== 'POST') return error(405, 'MethodNotAllowed', 'use GET or POST on /api/local/clock');
      const unknown = Object.keys(parsed).find((k) => k !== 'advance');
      if (unknown !== undefined) return error(400, 'BadRequest', `body.${unknown.slice(0, 64)}: is not a field; give {"advance":"1d"}`);
      if (typeof parsed.advance !== 'string') return error(400, 'BadRequest', 'body.advance: must be a duration such as 1d, 6h or P1D');
      let ms: number;
      try {
        ms = parseDuration(parsed.advance);
      } catch (e) {
        return error(400, 'BadRequest', `body.advance: ${(e as Error).message}`);
      }
      if (!(ms > 0)) return error(400, 'BadRequest', 'body.advance: must be a positive duration');
      if (ms > MAX_ADVANCE_MS) return error(400, 'BadRequest', 'body.advance: at most 366 days at once');
      const before = cloud.lambda.invocations.length;
      const moved = await control('POST', 'clock', { advance: `${ms}ms` });
      if (moved.status !== 200) return moved;
      const ran: Record<string, number> = {};
      for (const r of cloud.lambda.invocations.slice(before)) ran[r.function] = (ran[r.function] ?? 0) + 1;
      return { status: 200, body: { ...(moved.body as object), ran } };
    }
    if (path === '/api/local/faults') {
      if (method === 'GET' || method === 'DELETE') return control(method, 'faults');
      if (method === 'POST') {
        const answer = await control('POST', 'faults', parsed);
        return answer.status === 200 ? answer : { status: answer.status, body: { error: 'BadRequest', message: errorText((answer.body as { error?: unknown }).error) } };
      }
      return error(405, 'MethodNotAllowed', 'use GET, POST or DELETE on /api/local/faults');
    }
    return error(404, 'NotFound', `no route ${method} ${path.slice(0, 200)}`);
  });
}
