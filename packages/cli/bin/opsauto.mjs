#!/usr/bin/env node
// The CLI is TypeScript run from source: tsx registers the loader, then main.ts parses argv.
import { register } from 'tsx/esm/api';
register();
await import('../src/main.ts');
