/**
 * How every function is bundled (SST v2's `nodejs` function props). One constant, read by the stacks and by
 * bench/bundle-init.ts, so the benchmark measures the bundles that are deployed.
 *
 * Minified ESM with the AWS SDK bundled in: the pinned SDK version runs in Lambda too, and a bundled SDK
 * initialises about 3x faster than the runtime's copy loaded file by file (bench/bundle-init.ts measures both).
 *
 * Code splitting (SST v2 passes it to esbuild with an outdir): what a function imports with `await import()` goes
 * into chunks beside the handler, read only when the code that needs it runs. The runbook worker keeps each action's
 * module and the SDK clients of EC2, RDS, S3, SNS, SSM and STS out of its cold start that way.
 */
export const nodejsBundling = {
  format: 'esm',
  minify: true,
  sourcemap: true,
  splitting: true,
} as const;
