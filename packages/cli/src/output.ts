import type { Command } from 'commander';

/** Prints a result: JSON with --json or when it is not a table, else aligned columns. */
export function print(value: unknown, program: Command, columns?: string[]): void {
  if (program.opts<{ json?: boolean }>().json || !columns || !Array.isArray(value)) {
    console.log(JSON.stringify(value, null, 2));
    return;
  }
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean));
  const rows = (value as Record<string, unknown>[]).map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  console.log([line(columns), ...rows.map(line)].join('\n'));
}
