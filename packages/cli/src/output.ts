import type { Command } from 'commander';

/** Whether the user asked for JSON (`--json`). */
export function wantsJson(program: Command): boolean {
  return program.opts<{ json?: boolean }>().json ?? false;
}

/** Prints a result: JSON with --json or when it is not a table, else aligned columns. */
export function print(value: unknown, program: Command, columns?: string[]): void {
  if (wantsJson(program) || !columns || !Array.isArray(value)) {
    console.log(JSON.stringify(value, null, 2));
    return;
  }
  console.log(table(value as Record<string, unknown>[], columns));
}

/**
 * Rows as aligned columns under a header line; objects in cells as compact JSON, absent values empty.
 *
 * @example
 * table([{ function: 'scan', error: 'boom' }], ['function', 'error']);
 * // function  error
 * // scan      boom
 */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean));
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) => values.map((value, i) => value.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

/** An ISO time to the second (`2026-12-03T10:00:00Z`), as the CLI prints times. */
export function isoSeconds(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}
