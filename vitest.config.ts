import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the CLI and the console page if their builds are stale, before any test spawns or serves them.
    globalSetup: ['test/global-setup.ts', 'test/global-setup-console.ts'],
    // Files share a worker process, so that the SDK and the other dependencies load once per worker rather than once
    // per file; test/setup.ts gives every file fresh modules of ours and the worker's original environment.
    isolate: false,
    setupFiles: ['test/setup.ts'],
    // One worker per core (vitest's default leaves one core out: a single worker on a 2-core machine).
    maxWorkers: '100%',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests talk to localcloud on random ports; the SDK must not pick up a developer's real endpoint or CA bundle.
    env: { AWS_CA_BUNDLE: '', AWS_ENDPOINT_URL: '', AWS_PROFILE: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
