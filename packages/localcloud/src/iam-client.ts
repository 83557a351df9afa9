/**
 * A typed client of localcloud's IAM control API, for the CLI and the local stage: register what a role may do,
 * read the calls that were refused.
 */
import type { Denial, RolePermissions } from './iam.js';

async function control<T>(endpoint: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(new URL(path, endpoint), {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`localcloud ${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** Registers (or replaces) the IAM actions `roleArn` may do; calls with its keys to any other action are refused. */
export async function allowRoleActions(endpoint: string, permissions: RolePermissions): Promise<void> {
  await control(endpoint, 'POST', '/_localcloud/iam/roles', permissions);
}

/** The roles registered so far. */
export async function listRolePermissions(endpoint: string): Promise<RolePermissions[]> {
  return (await control<{ roles: RolePermissions[] }>(endpoint, 'GET', '/_localcloud/iam/roles')).roles;
}

/** The calls refused so far (oldest first). */
export async function listDenials(endpoint: string): Promise<Denial[]> {
  return (await control<{ denials: Denial[] }>(endpoint, 'GET', '/_localcloud/iam/denials')).denials;
}
