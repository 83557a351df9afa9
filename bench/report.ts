import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The machine a figure was measured on: Node's version, the CPU model and count, and the load averages (1, 5 and 15
 * minutes) at the end of the run, which say whether other work shared the cores.
 */
export function machine(): { node: string; cpus: number; cpuModel: string; loadavg: number[] } {
  const cores = cpus();
  return { node: process.version, cpus: cores.length, cpuModel: cores[0]?.model.trim() ?? 'unknown', loadavg: loadavg().map((l) => Math.round(l * 100) / 100) };
}

/** Writes bench/results/<name>.json with the machine it ran on (read by `npm run figures`). */
export function writeResult(name: string, result: object): void {
  const dir = join(projectRoot, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ name, at: new Date().toISOString(), ...machine(), ...result }, null, 2));
  console.log(`wrote ${file}`);
}
