import { defineConfig, type OpsautoConfig } from '@opsauto/core';

let cached: { raw: string; config: OpsautoConfig } | undefined;

/** The operator's config, passed to every function as JSON in OPSAUTO_CONFIG by the stacks and the local stage. */
export function loadConfig(): OpsautoConfig {
  const raw = process.env.OPSAUTO_CONFIG ?? '{}';
  if (cached?.raw !== raw) cached = { raw, config: defineConfig(JSON.parse(raw) as object) };
  return cached.config;
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}
