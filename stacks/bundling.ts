/**
 * How every function is bundled (SST v2's `nodejs` function props). One constant, read by the stacks and by
 * bench/bundle-init.ts, so the benchmark measures the bundles that are deployed.
 *
 * Minified ESM with the AWS SDK bundled in: the pinned SDK version runs in Lambda too, and a bundled SDK
 * initialises about 3x faster than the runtime's copy loaded file by file (bench/bundle-init.ts measures both).
 */
export const nodejsBundling = {
  format: 'esm',
  minify: true,
  sourcemap: true,
} as const;
