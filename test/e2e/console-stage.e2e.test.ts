/**
 * The console in headless chromium (Debian's, through playwright-core) against a real local stage: the page its HTTP
 * API serves at /console/, the console API's real handler, localcloud behind it on a virtual clock. The fleet is
 * made the way operators and the jobs make it (test/helpers/console-stage.ts): an execution waiting for approval, a
 * stale volume found by the daily scans, an AMI family, a parameter with an expiry policy, a token with an issuance. Every view shows those real values; the Approve button moves the execution on; the Local view's +1d
 * runs the daily scan, which finds a volume the Findings view then lists; deleting the filed volume and +1d shows its
 * monthly cost as saved; a bad address shows the API's 404 in words.
 * Waits are for elements and conditions, never for time.
 *
 * OPSAUTO_SCREENSHOTS=1 writes a screenshot of each view to docs/console/<view>.png (shown in docs/console.md).
 * The page is built once per run by test/global-setup-console.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteVolumeCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../packages/cli/src/project.js';
import type { Stage } from '../../packages/cli/src/stage.js';
import { launchChromium } from '../helpers/console.js';
import { clientConfig } from '../helpers/localcloud.js';
import { startConsoleStage, type ConsoleFleet, type ConsoleStage } from '../helpers/console-stage.js';

const SHOTS = process.env.OPSAUTO_SCREENSHOTS === '1';
const SHOT_DIR = join(projectRoot, 'docs/console');

let running: ConsoleStage;
let stage: Stage;
let fleet: ConsoleFleet;
let browser: Browser;
let page: Page;

async function api(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stage.apiUrl}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  running = await startConsoleStage();
  ({ stage, fleet } = running);
  browser = await launchChromium();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await running?.stop();
});
beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});
afterEach(async () => {
  await page?.close();
});

const open = (path: string) => page.goto(`${stage.apiUrl}/console/${path}`);

/** The view is on screen with no error in it. */
async function noError(): Promise<void> {
  expect(await page.getByTestId('error').count()).toBe(0);
}

async function shot(name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SHOT_DIR, `${name}.png`), fullPage: true });
}

describe('the console on the local stage shows the seeded fleet', () => {
  it('Now: the execution waiting for approval with its buttons, and the next automations', async () => {
    await open('');
    const waiting = page.getByTestId('view-now').getByTestId('waiting').locator(`[data-execution-id="${fleet.waitingId}"]`);
    await waiting.waitFor();
    expect(await waiting.getByRole('button').allTextContents()).toEqual(['Approve', 'Deny', 'Cancel']);
    expect(await page.getByTestId('stage').textContent()).toContain('local');
    const automation = await page.getByTestId('automation-row').textContent();
    expect(automation).toContain(fleet.automation);
    expect(automation).toContain('Europe/Berlin');
    expect(automation).toMatch(/-01-01 03:00 \(UTC\+01:00\)/);
    // The nav learns the stage is local from its own /api/now request.
    await page.getByTestId('nav-local').waitFor();
    await noError();
    await shot('now');
  });

  it('Executions: the list holds the waiting execution, and its page the step timeline', async () => {
    await open('executions');
    await page.locator(`[data-testid="execution-row"][data-execution-id="${fleet.waitingId}"]`).waitFor();
    expect(await page.locator(`[data-execution-id="${fleet.waitingId}"]`).first().textContent()).toContain('Waiting');
    await noError();
    await shot('executions');
    await open(`executions/${fleet.waitingId}`);
    await expect.poll(() => page.getByTestId('step-row').count()).toBe(1);
    const step = await page.getByTestId('step-row').first().textContent();
    expect(step).toContain('askOps');
    expect(step).toContain('aws:approve');
    expect(await page.getByTestId('status').first().textContent()).toContain('Waiting');
    await noError();
    await shot('execution');
  });

  it('Findings: the stale volume with its monthly cost and OpsItem, and the totals', async () => {
    await open('findings');
    const row = page.locator(`[data-testid="volume-row"][data-volume-id="${fleet.staleVolumeId}"]`);
    await row.waitFor();
    const text = await row.textContent();
    // gp3 in us-east-1: $0.08 per GiB-month, 100 GiB.
    expect(text).toContain('$8.00');
    expect(text).toMatch(/oi-/);
    expect(await page.getByTestId('total-waste').textContent()).toContain('$8.00');
    expect(await page.locator(`[data-volume-id="${fleet.lateVolumeId}"]`).count()).toBe(0);
    expect(await page.getByTestId('savings-chart').locator('canvas').count()).toBe(1);
    await noError();
  });

  it('Images: the AMI family with its current image', async () => {
    await open('images');
    await expect.poll(() => page.getByTestId('current-image').first().textContent()).toBe(fleet.imageId);
    expect(await page.getByTestId('image-family').first().textContent()).toContain('console-web');
    await noError();
    await shot('images');
  });

  it('Parameters: the expiry and its reminder in the 30-day calendar, never the value', async () => {
    await open('parameters');
    await expect.poll(() => page.getByTestId('deadline').count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('calendar').textContent()).toContain(fleet.parameter.name);
    expect(await page.content()).not.toContain(fleet.parameter.value);
    await noError();
    await shot('parameters');
  });

  it('Parameters a page at a time: More appends the next page of deadlines, and the next poll of the first page keeps it', async () => {
    const all = ((await api('/api/parameters?days=30')).body.deadlines as unknown[]).length;
    await open('parameters?limit=1');
    await expect.poll(() => page.getByTestId('deadline').count()).toBe(1);

    const firstPage = (r: { url(): string }) => r.url().includes('/api/parameters?days=30&limit=1') && !r.url().includes('nextToken');
    await page.getByTestId('more').click();
    await expect.poll(() => page.getByTestId('deadline').count()).toBe(2);
    await page.waitForResponse(firstPage);
    await page.waitForResponse(firstPage);

    expect(await page.getByTestId('deadline').count()).toBe(2);
    expect(await page.getByTestId('more').count()).toBe(all > 2 ? 1 : 0);
    await noError();
  });

  it('Activations: the token (no secret) and its issuance', async () => {
    await open('activations');
    const token = page.getByTestId('token-row');
    await token.waitFor();
    expect(await token.textContent()).toContain(fleet.tokenName);
    expect(await token.textContent()).toContain('1 / 3');
    expect(await page.getByTestId('issuance-row').textContent()).toContain(fleet.hostname);
    await noError();
    await shot('activations');
  });

  it('Local: the virtual clock, days ahead of the wall clock, and no fault rules', async () => {
    await open('local');
    const clock = page.getByTestId('clock-now');
    await clock.waitFor();
    const shown = Date.parse((await clock.textContent())!.replace(' UTC', 'Z').replace(' ', 'T'));
    expect(shown).toBeGreaterThanOrEqual(Date.now() + 86_400_000);
    expect(await page.getByTestId('fault-rule').count()).toBe(0);
    await noError();
    await shot('local');
  });
});

describe('the console on the local stage acts', () => {
  it('approving the waiting execution from the Now page moves it on to Success', async () => {
    await open('');
    const waiting = page.getByTestId('waiting').locator(`[data-execution-id="${fleet.waitingId}"]`);
    await waiting.getByTestId('signal-approve').click();
    await page.getByTestId('signal-sent').waitFor();
    await expect
      .poll(async () => {
        await stage.cloud.settle();
        return (await api(`/api/executions/${fleet.waitingId}`)).body.execution;
      })
      .toMatchObject({ status: 'Success', steps: [expect.objectContaining({ name: 'askOps', status: 'Success', outputs: expect.objectContaining({ ApprovalStatus: 'Approved' }) }), expect.anything()] });
    // The page follows: the execution leaves the waiting list.
    await expect.poll(() => waiting.count()).toBe(0);
    await noError();
  });

  it('+1d on the Local view runs the daily scan, and Findings then lists the volume it found', async () => {
    const before = (await api('/api/local/clock')).body.now as string;
    await open('local');
    await page.getByTestId('clock-now').waitFor();
    await page.getByTestId('advance-1d').click();
    const result = page.getByTestId('clock-result');
    await result.waitFor();
    expect(await result.textContent()).toContain('stale-volume-scan ×1');
    expect(Date.parse((await api('/api/local/clock')).body.now as string) - Date.parse(before)).toBeGreaterThanOrEqual(86_400_000);
    await page.getByTestId('nav-findings').click();
    const row = page.locator(`[data-testid="volume-row"][data-volume-id="${fleet.lateVolumeId}"]`);
    await row.waitFor();
    // gp2 in us-east-1: $0.10 per GiB-month, 50 GiB; no OpsItem yet (the scan saw it less than a day old).
    expect(await row.textContent()).toContain('$5.00');
    expect(await page.getByTestId('volume-row').count()).toBe(2);
    await noError();
    // After the scan: both volumes, and the history chart a day longer.
    await shot('findings');
  });

  it('deleting the filed stale volume and +1d: the scan resolves its OpsItem, and Findings shows its monthly cost as saved', async () => {
    await open('findings');
    await page.getByTestId('total-saved').waitFor();
    expect(await page.getByTestId('total-saved').textContent()).toContain('$0.00');
    const ec2 = new EC2Client(clientConfig(stage.cloud));
    try {
      await ec2.send(new DeleteVolumeCommand({ VolumeId: fleet.staleVolumeId }));
    } finally {
      ec2.destroy();
    }
    await page.getByTestId('nav-local').click();
    await page.getByTestId('advance-1d').click();
    await page.getByTestId('clock-result').waitFor();
    await page.getByTestId('nav-findings').click();
    // gp3 in us-east-1, 100 GiB: $8.00 a month saved, and no longer listed as waste.
    await expect.poll(async () => page.getByTestId('total-saved').textContent()).toContain('$8.00');
    expect(await page.locator(`[data-testid="volume-row"][data-volume-id="${fleet.staleVolumeId}"]`).count()).toBe(0);
    expect(((await api('/api/findings')).body.totals as Record<string, number>).remediatedMonthlySavingsUsd).toBe(8);
    await noError();
  });

  it('an unknown execution shows the API 404 in words', async () => {
    await open('executions/does-not-exist');
    await expect.poll(() => page.getByTestId('error').textContent()).toContain('no execution does-not-exist');
    await shot('error');
  });
});
