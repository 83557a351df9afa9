import { defineConfig } from 'vite';

/**
 * The console is served under /console/ (the local stage's HTTP API port, or the StaticSite in AWS); every asset
 * URL and every view's address carries that base. CONSOLE_BASE changes it at build time (e.g. `/` for a site that
 * serves the page at its root). JSX is compiled by Vite's own transformer for Preact's automatic runtime, so no Babel.
 */
const base = process.env.CONSOLE_BASE ?? '/console/';
if (!/^\/(.*\/)?$/.test(base)) throw new Error(`CONSOLE_BASE must start and end with /, not ${JSON.stringify(base)}`);

export default defineConfig({
  base,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // `npx vite` (sources, hot reload) sends /api to a running local stage.
  server: { proxy: { '/api': process.env.CONSOLE_API_PROXY ?? 'http://127.0.0.1:3000' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
});
