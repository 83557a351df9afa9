import { vi } from 'vitest';

/*
 * Runs before every test file. The files share worker processes (`isolate: false` in vitest.config.ts): the AWS SDK,
 * dynalite and the other dependencies load once per worker instead of once per file, most of the suite's time
 * before. What a file may leave behind is reset here, so each file starts as it would in a fresh process:
 * - our own modules (packages/*, test helpers) are evaluated again, so module state (a function's SDK clients and
 *   the endpoint they were made with, caches, singletons) never crosses from one file's stage to the next;
 * - process.env is put back as it was when the worker started (stages and tests set AWS_ENDPOINT_URL and others);
 * - real timers.
 */
const ORIGINAL_ENV = Symbol.for('opsauto.test.originalEnv');
const store = globalThis as { [ORIGINAL_ENV]?: Record<string, string | undefined> };
const original = (store[ORIGINAL_ENV] ??= { ...process.env });
for (const key of Object.keys(process.env)) if (!(key in original)) delete process.env[key];
for (const [key, value] of Object.entries(original)) if (process.env[key] !== value) process.env[key] = value;

vi.resetModules();
vi.useRealTimers();
