/**
 * The console page: the gzipped size of its built JavaScript and CSS, and how long it takes to load in headless
 * chromium (Debian's /usr/bin/chromium through playwright-core) from a real local stage, against a static one-file
 * HTML page loaded from the same server in the same run.
 *
 * The stage is the one the browser tests use (test/helpers/console-stage.ts: the console API's real handler over
 * localcloud, a small seeded fleet); it serves the page at /console/ and, for this run, the static page at
 * /bench-static/ through the same static-file code. Each load is a fresh browser context (no cache), the console and
 * the static page interleaved, BENCH_REPS times (10). Two times per console load, both from the page's own clock
 * (performance.now(), 0 = navigation start): `load` (the load event's end) and `firstView` (when the Now view first
 * shows the seeded fleet: a MutationObserver installed before any script sees the waiting execution's row). The
 * baseline is the static page's `load`. Medians. Targets (issue 15): JavaScript ≤ 200 KB gzipped (all chunks, the
 * sign-in chunk loaded only in AWS included); first view < 1 s.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { buildConsole, DIST, launchChromium } from '../test/helpers/console.js';
import { startConsoleStage } from '../test/helpers/console-stage.js';
import { median, writeResult } from './report.js';

const REPS = Number(process.env.BENCH_REPS ?? 10);
const JS_TARGET_KB = 200;
const FIRST_VIEW_TARGET_MS = 1000;

interface Asset {
  file: string;
  bytes: number;
  gzipBytes: number;
}

function assets(): Asset[] {
  const dir = join(DIST, 'assets');
  return readdirSync(dir)
    .filter((f) => ['.js', '.css'].includes(extname(f)))
    .map((file) => {
      const body = readFileSync(join(dir, file));
      return { file, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
    });
}

const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;

/** Page-side code (a string: the bench is type-checked without the DOM library) that notes when `selector` shows. */
const firstViewProbe = (selector: string) => `
  new MutationObserver((_, observer) => {
    if (document.querySelector(${JSON.stringify(selector)})) { window.__firstView = performance.now(); observer.disconnect(); }
  }).observe(document, { childList: true, subtree: true });
`;

const STATIC_PAGE = '<!doctype html><html><head><title>static</title></head><body><p id="x">static page</p></body></html>';

async function load(browser: Browser, url: string, viewSelector?: string): Promise<{ load: number; firstView?: number }> {
  const waitForView = viewSelector !== undefined;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    if (waitForView) await page.addInitScript(firstViewProbe(viewSelector));
    await page.goto(url, { waitUntil: 'load' });
    // Page-side code as strings: the bench is type-checked without the DOM library.
    if (waitForView) await page.waitForFunction("typeof window.__firstView === 'number'");
    return await page.evaluate<{ load: number; firstView?: number }>("({ load: performance.getEntriesByType('navigation')[0].loadEventEnd, firstView: window.__firstView })");
  } finally {
    await context.close();
  }
}

export async function run(): Promise<boolean> {
  buildConsole();
  const files = assets();
  const js = files.filter((f) => f.file.endsWith('.js'));
  const css = files.filter((f) => f.file.endsWith('.css'));
  const entry = readFileSync(join(DIST, 'index.html'), 'utf8');
  const initial = js.filter((f) => entry.includes(f.file));
  const sum = (list: Asset[], key: 'bytes' | 'gzipBytes') => list.reduce((s, f) => s + f[key], 0);
  const sizes = {
    jsGzipKB: kb(sum(js, 'gzipBytes')),
    jsInitialGzipKB: kb(sum(initial, 'gzipBytes')),
    jsKB: kb(sum(js, 'bytes')),
    cssGzipKB: kb(sum(css, 'gzipBytes')),
    files: files.map((f) => ({ file: f.file, kb: kb(f.bytes), gzipKB: kb(f.gzipBytes) })),
  };
  console.table(sizes.files);

  const { stage, fleet, stop } = await startConsoleStage();
  const staticDir = mkdtempSync(join(tmpdir(), 'console-bench-static-'));
  writeFileSync(join(staticDir, 'index.html'), STATIC_PAGE);
  stage.cloud.httpApi.serveStatic({ prefix: '/bench-static/', directory: staticDir, missing: 'the static page is missing' });
  const staticUrl = `${stage.apiUrl}/bench-static/`;
  const consoleUrl = `${stage.apiUrl}/console/`;
  const view = `[data-testid="waiting"] [data-execution-id="${fleet.waitingId}"]`;
  const browser = await launchChromium();
  try {
    const staticLoads: number[] = [];
    const consoleLoads: number[] = [];
    const firstViews: number[] = [];
    await load(browser, staticUrl); // warm the server and the browser
    await load(browser, consoleUrl, view);
    for (let rep = 0; rep < REPS; rep++) {
      staticLoads.push((await load(browser, staticUrl)).load);
      const c = await load(browser, consoleUrl, view);
      consoleLoads.push(c.load);
      firstViews.push(c.firstView ?? Number.NaN);
    }
    const base = median(staticLoads);
    const round = (n: number) => Math.round(n * 10) / 10;
    const rows: { page: string; what: string; value: number; ratio: number | ''; target: string; ok: boolean | '' }[] = [
      { page: 'static 1-file HTML (baseline)', what: 'load ms (median)', value: round(base), ratio: 1, target: '', ok: '' },
      { page: 'console /console/', what: 'load ms (median)', value: round(median(consoleLoads)), ratio: round(median(consoleLoads) / base), target: '', ok: '' },
      { page: 'console /console/', what: 'first view with the fleet ms (median)', value: round(median(firstViews)), ratio: round(median(firstViews) / base), target: `< ${FIRST_VIEW_TARGET_MS} ms`, ok: median(firstViews) < FIRST_VIEW_TARGET_MS },
      { page: 'console JS (all chunks)', what: 'gzipped KB', value: sizes.jsGzipKB, ratio: '', target: `≤ ${JS_TARGET_KB} KB`, ok: sizes.jsGzipKB <= JS_TARGET_KB },
    ];
    console.table(rows);
    writeResult('console', {
      reps: REPS,
      targets: { jsGzipKB: JS_TARGET_KB, firstViewMs: FIRST_VIEW_TARGET_MS },
      sizes,
      loads: { staticLoadMs: round(base), consoleLoadMs: round(median(consoleLoads)), firstViewMs: round(median(firstViews)), loadRatio: round(median(consoleLoads) / base), firstViewRatio: round(median(firstViews) / base) },
      samples: { staticLoads: staticLoads.map(round), consoleLoads: consoleLoads.map(round), firstViews: firstViews.map(round) },
      api: 'local stage (test/helpers/console-stage.ts)',
    });
    return rows.every((r) => r.ok !== false);
  } finally {
    await browser.close();
    await stop();
    rmSync(staticDir, { recursive: true, force: true });
  }
}
