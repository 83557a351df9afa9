import { defineConfig } from 'vite';

/**
 * The console is served under /console/ (the local stage's HTTP API port, or the StaticSite in AWS); every asset
 * URL carries that base. JSX is compiled by Vite's own transformer for Preact's automatic runtime, so no Babel.
 */
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
});
