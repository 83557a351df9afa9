#!/usr/bin/env node
// Runs the CLI built to JavaScript (packages/cli/dist, made by `npm ci` / `npm run build:cli`). When that build
// is missing or older than the sources, runs the TypeScript sources through tsx instead (correct, but seconds
// slower), and says how to get the fast start back.
import { buildProblem } from './freshness.mjs';

const problem = buildProblem();
if (problem === undefined) {
  await import('../dist/main.js');
} else {
  console.error(`opsauto: the JavaScript build is ${problem}, running from source (slow); \`npm run build:cli\` makes it fast again`);
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
