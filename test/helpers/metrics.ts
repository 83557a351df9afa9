/** One CloudWatch embedded-metric-format document, as Powertools Metrics prints it. */
export interface EmfDocument {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

/** The EMF documents among printed lines (a chunk may hold several lines). */
export function emfDocuments(lines: readonly string[]): EmfDocument[] {
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfDocument);
}

/** Every value of every metric in `documents`, by metric name, in the order printed. */
export function metricValues(documents: readonly EmfDocument[]): Record<string, number[]> {
  const values: Record<string, number[]> = {};
  for (const doc of documents) {
    for (const metric of doc._aws.CloudWatchMetrics.flatMap((m) => m.Metrics)) {
      const value = doc[metric.Name] as number | number[];
      (values[metric.Name] ??= []).push(...(Array.isArray(value) ? value : [value]));
    }
  }
  return values;
}

/**
 * Keeps the EMF lines a function prints (process.stdout, where Powertools writes them, or console.log with
 * POWERTOOLS_DEV) out of the test output, and collects them; other output passes through.
 */
export function captureMetrics(): { documents: () => EmfDocument[]; values: () => Record<string, number[]>; clear: () => void; restore: () => void } {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (String(chunk).includes('"_aws"')) return (lines.push(String(chunk)), true);
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  console.log = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('"_aws"')) lines.push(args[0]);
    else log(...args);
  };
  return {
    documents: () => emfDocuments(lines),
    values: () => metricValues(emfDocuments(lines)),
    clear: () => void lines.splice(0),
    restore: () => {
      process.stdout.write = write;
      console.log = log;
    },
  };
}
