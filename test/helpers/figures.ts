import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the reliability suite's counts go: one JSON object a line, read by `npm run figures`. */
export const RELIABILITY_FIGURES = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/reliability.jsonl');

/** One count of one reliability test file, as `npm run figures` reads it. */
export interface FigureRecord {
  /** The test file's name, e.g. `faults.test.ts`. */
  file: string;
  /** What is counted, read after a number (`6 phases`) or before a string (`seed 1414`). */
  key: string;
  value: number | string;
  at: string;
}

/**
 * Records a count the reliability suite checks (cases, seeds, deliveries, phases, faults injected) for the README's
 * "Performance and reliability" table. Does nothing unless `OPSAUTO_FIGURES=1` (as `npm run figures` runs the
 * suite), so an ordinary `npm test` writes nothing. Appends one line (`OPSAUTO_FIGURES_FILE` or
 * bench/results/reliability.jsonl): test files running in parallel workers never overwrite each other, and a key
 * recorded twice for a file counts as its last value.
 *
 * @example
 * afterAll(() => recordFigure(import.meta.url, 'deliveries', deliveries));
 */
export function recordFigure(file: string, key: string, value: number | string): void {
  if (process.env.OPSAUTO_FIGURES !== '1') return;
  const name = file.startsWith('file:') ? basename(fileURLToPath(file)) : basename(file);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`recordFigure: ${name} ${key}: value must be a finite number, got ${value}`);
  const target = process.env.OPSAUTO_FIGURES_FILE || RELIABILITY_FIGURES;
  mkdirSync(dirname(target), { recursive: true });
  const record: FigureRecord = { file: name, key, value, at: new Date().toISOString() };
  appendFileSync(target, `${JSON.stringify(record)}\n`);
}
