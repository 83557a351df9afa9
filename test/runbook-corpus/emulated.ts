import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Which operations localcloud serves, read from its service definitions' `operations` maps (every module of
// packages/localcloud/src/services that exports one), so that the survey's "emulated" column stays true as
// operations and services are added.

const SERVICES_DIR = fileURLToPath(new URL('../../packages/localcloud/src/services/', import.meta.url));

interface ServiceLike {
  name: string;
  operations: Record<string, unknown>;
}

function isService(value: unknown): value is ServiceLike {
  return typeof value === 'object' && value !== null && typeof (value as ServiceLike).name === 'string' && typeof (value as ServiceLike).operations === 'object';
}

/**
 * `service:Operation` for every operation localcloud serves.
 *
 * @example
 * (await emulatedOperations()).has('ec2:DescribeInstances') // true
 */
export async function emulatedOperations(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const file of readdirSync(SERVICES_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort()) {
    const mod = (await import(new URL(file, new URL(`file://${SERVICES_DIR}`)).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) if (isService(value)) for (const op of Object.keys(value.operations)) out.add(`${value.name}:${op}`);
  }
  return out;
}
