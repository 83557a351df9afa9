/** A client of localcloud's control API (`/_localcloud/*`). */
export class ControlClient {
  constructor(readonly baseUrl: string) {}

  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/_localcloud/${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new Error(`localcloud is not running at ${this.baseUrl}: start the local stage with npm start (or pass --endpoint)`);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : null;
    if (!res.ok) {
      const p = parsed as { error?: string; errorMessage?: string; errorType?: string } | null;
      throw new Error(p?.error ?? (p?.errorMessage ? `${p.errorType ?? 'Error'}: ${p.errorMessage}` : `HTTP ${res.status}`));
    }
    return parsed as T;
  }
}

/** localcloud's URL: --endpoint, else LOCALCLOUD_URL, else 127.0.0.1:LOCALCLOUD_PORT (4566). */
export function localcloudUrl(endpoint?: string): string {
  return endpoint ?? process.env.LOCALCLOUD_URL ?? `http://127.0.0.1:${process.env.LOCALCLOUD_PORT ?? '4566'}`;
}
