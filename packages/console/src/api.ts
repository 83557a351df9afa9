/**
 * The console's JSON API client. With VITE_API_URL unset (the local stage) it calls the same origin's `/api` and
 * sends no credentials; in AWS it calls `${VITE_API_URL}/api` with the signed-in operator's bearer token.
 */
import { bearer, reauthenticate } from './auth.js';

const API_URL = ((import.meta.env.VITE_API_URL as string | undefined) ?? '').replace(/\/+$/, '');

/** An API answer that was not a success, with the API's error code and message (or words saying what went wrong). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The full URL of an API path such as `/now` or `/executions?status=Failed`. */
export function apiUrl(path: string): string {
  return `${API_URL}/api${path}`;
}

export function apiGet<T>(path: string, signal?: AbortSignal): Promise<T> {
  return request<T>('GET', path, undefined, signal);
}

export function apiSend<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return request<T>(method, path, body);
}

/** Any thrown value as an ApiError, for the page to show in words. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, 'ClientError', error instanceof Error ? error.message : String(error));
}

async function request<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const url = apiUrl(path);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = await bearer();
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NetworkError', `Could not reach the opsauto API at ${url}: ${error instanceof Error ? error.message : String(error)}. Is the stage running?`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    if (res.status === 401) void reauthenticate();
    const err = (json ?? {}) as { error?: unknown; message?: unknown };
    const message = typeof err.message === 'string' && err.message ? err.message : `The API answered ${res.status} ${res.statusText}${text && json === undefined ? `: ${text.slice(0, 200)}` : ''}`;
    throw new ApiError(res.status, typeof err.error === 'string' ? err.error : `Http${res.status}`, message);
  }
  if (json === undefined && text) throw new ApiError(res.status, 'BadResponse', `The API answered ${method} ${path} with something that is not JSON.`);
  return json as T;
}
