/**
 * The console in headless chromium (Debian's, through playwright-core) against packages/console/dist and a fake API
 * of the console contract (test/helpers/console.ts): every view renders by its address, nav links move between
 * views, buttons POST their signal or clock advance, errors show in words, the page stays live. The fake can fail any
 * route on demand and holds a rate-controlled parent; test/e2e/console-stage.e2e.test.ts drives the same page against
 * a real local stage (and writes the screenshots in docs/console/). The page is built once per run, by
 * test/global-setup-console.ts.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, seedState, startConsoleServer, type ConsoleServer } from '../helpers/console.js';

let browser: Browser;
let server: ConsoleServer;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  server = await startConsoleServer(seedState());
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});
afterEach(async () => {
  await page?.close();
  await server?.close();
});

const open = (path: string) => page.goto(`${server.url}/console/${path}`);

describe('console views', () => {
  it('Now shows waiting and running executions with their buttons, the failure queue and the next automations', async () => {
    await open('');
    const view = page.getByTestId('view-now');
    await expect.poll(() => view.getByTestId('waiting').getByTestId('execution-row').count()).toBe(1);
    const waiting = view.getByTestId('waiting').getByTestId('execution-row');
    expect(await waiting.getAttribute('data-execution-id')).toBe('exec-approve-0001');
    expect(await waiting.getByRole('button').allTextContents()).toEqual(['Approve', 'Deny', 'Cancel']);
    expect(await view.getByTestId('running').getByTestId('execution-row').count()).toBe(1);
    expect(await view.getByTestId('failures').textContent()).toContain('RequestLimitExceeded: Request limit exceeded.');
    const automations = await view.getByTestId('automation-row').allTextContents();
    expect(automations[0]).toContain('office-hours-stop');
    expect(automations[0]).toContain('Europe/Berlin');
    expect(automations[0]).toContain('2026-12-03 18:00 CET');
    expect(automations[2]).toContain('one-off-migration');
    expect(automations[2]).toContain('never again');
    expect(await page.getByTestId('nav-local').count()).toBe(1);
  });

  it('Executions lists the executions, filters by the query string and the form, and pages', async () => {
    await open('executions');
    await expect.poll(() => page.getByTestId('execution-row').count()).toBe(4);
    await page.getByLabel('Runbook').fill('AWS-RestartEC2Instance');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.url()).toBe(`${server.url}/console/executions?runbook=AWS-RestartEC2Instance`);
    await expect.poll(() => page.getByTestId('execution-row').count()).toBe(2);
    expect(server.state.requests).toContain('GET /api/executions?runbook=AWS-RestartEC2Instance&limit=50');
    await open('executions?status=Success&target=vol-0old0000000000001');
    await expect.poll(() => page.getByTestId('execution-row').count()).toBe(1);
    expect(await page.getByLabel('Status').inputValue()).toBe('Success');
  });

  it('an execution shows its step timeline, and a rate-controlled parent its children against MaxErrors', async () => {
    await open('executions/exec-approve-0001');
    await expect.poll(() => page.getByTestId('step-row').count()).toBe(2);
    const first = await page.getByTestId('step-row').first().textContent();
    expect(first).toContain('snapshot');
    expect(first).toContain('2026-12-03 08:50:00 UTC');
    expect(first).toContain('{"SnapshotId":"snap-0123"}');
    await open('executions/exec-parent-0003');
    await expect.poll(() => page.getByTestId('max-errors').textContent()).toBe('3 failed of 2 allowed (MaxErrors 2): no new child starts');
    expect(await page.getByTestId('children').locator('.seg').count()).toBe(3);
    expect(await page.getByTestId('failure-message').textContent()).toBe('3 of 9 targets failed (MaxErrors 2)');
    expect(await page.getByTestId('child-row').allTextContents()).toEqual(['exec-child-0001i-01Success2026-12-03 07:00:00 UTC30 s', 'exec-child-0002i-02Failed2026-12-03 07:01:00 UTC30 s', 'exec-child-0003i-03Success2026-12-03 07:02:00 UTC30 s']);
  });

  it('Findings shows the stale volumes, the totals and the history chart', async () => {
    await open('findings');
    await expect.poll(() => page.getByTestId('volume-row').count()).toBe(2);
    expect(await page.getByTestId('total-waste').textContent()).toContain('$33.60');
    expect(await page.getByTestId('total-saved').textContent()).toContain('$6.40');
    const top = await page.getByTestId('volume-row').first().textContent();
    expect(top).toContain('vol-0stale000000000002');
    expect(top).toContain('oi-0000000002');
    expect(await page.getByTestId('savings-chart').locator('canvas').count()).toBe(1);
  });

  it('Images shows each family per region: current image, history with rollbacks, warnings', async () => {
    await open('images');
    await expect.poll(() => page.getByTestId('image-region').count()).toBe(2);
    expect(await page.getByTestId('current-image').textContent()).toBe('ami-0current000000001');
    expect(await page.locator('.rolled-back').textContent()).toContain('ami-0broken0000000002');
    expect(await page.getByTestId('image-warnings').textContent()).toBe('No image published in eu-west-1 yet');
  });

  it('Parameters shows a 30-day calendar of deadlines and the notifications', async () => {
    await open('parameters');
    await expect.poll(() => page.getByTestId('deadline').count()).toBe(3);
    expect(await page.locator('td[data-date="2026-12-08"]').textContent()).toContain('/prod/db/password');
    expect(await page.getByTestId('calendar').locator('thead th').allTextContents()).toEqual(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
    expect(await page.getByTestId('notifications').textContent()).toContain('escalated');
    expect(server.state.requests).toContain('GET /api/parameters?days=30');
  });

  it('Activations shows tokens without secrets, issuances, nodes registered and failed boots', async () => {
    await open('activations');
    await expect.poll(() => page.getByTestId('issuance-row').count()).toBe(2);
    expect(await page.getByTestId('token-row').textContent()).toContain('3 / 20');
    expect(await page.getByTestId('nodes-registered').textContent()).toContain('1');
    expect(await page.getByTestId('failed-boots').textContent()).toContain('token expired');
  });

  it('each view links to the next through the nav bar without a page load', async () => {
    await open('');
    await page.getByTestId('view-now').waitFor();
    for (const view of ['executions', 'findings', 'images', 'parameters', 'activations', 'local', 'now']) {
      await page.getByTestId(`nav-${view}`).click();
      await page.getByTestId(`view-${view}`).waitFor();
      expect(page.url()).toBe(`${server.url}/console/${view === 'now' ? '' : view}`);
      expect(await page.getByTestId(`nav-${view}`).getAttribute('aria-current')).toBe('page');
    }
  });

  it('an unknown address shows a page that links back', async () => {
    await open('nowhere');
    await page.getByTestId('view-not-found').waitFor();
    expect(await page.getByRole('link', { name: 'Now' }).count()).toBeGreaterThan(0);
  });
});

describe('console actions', () => {
  it('approving a waiting execution POSTs the signal and the execution moves to running', async () => {
    await open('');
    const waiting = page.getByTestId('waiting');
    await waiting.getByTestId('signal-approve').click();
    await expect.poll(() => server.state.signals).toEqual([{ executionId: 'exec-approve-0001', signal: 'approve' }]);
    await expect.poll(() => page.getByTestId('running').getByTestId('execution-row').count()).toBe(2);
    expect(await waiting.getByTestId('execution-row').count()).toBe(0);
  });

  it('a refused signal shows the API message in the page', async () => {
    server.state.failures.set('/executions/exec-running-0002/signal', { status: 409, body: { error: 'InvalidAutomationSignalException', message: 'Execution exec-running-0002 is Cancelling and cannot take the signal cancel now' } });
    await open('executions/exec-running-0002');
    await page.getByTestId('signal-cancel').click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Execution exec-running-0002 is Cancelling and cannot take the signal cancel now');
  });

  it('the Local view advances the virtual clock, and the findings show the volume the daily scan found', async () => {
    await open('local');
    await expect.poll(() => page.getByTestId('clock-now').textContent()).toBe('2026-12-03 09:00:00 UTC');
    expect(await page.getByTestId('fault-rule').count()).toBe(1);
    await page.getByTestId('advance-1d').click();
    await expect.poll(() => page.getByTestId('clock-result').textContent()).toBe('Clock at 2026-12-04T09:00:00.000Z; ran stale-scan ×1.');
    await expect.poll(() => page.getByTestId('clock-now').textContent()).toBe('2026-12-04 09:00:00 UTC');
    await page.getByTestId('clear-faults').click();
    await expect.poll(() => page.getByTestId('fault-rule').count()).toBe(0);
    expect(server.state.faultRules).toEqual([]);
    await page.getByTestId('nav-findings').click();
    await expect.poll(() => page.getByTestId('volume-row').count()).toBe(3);
    expect(await page.locator('[data-volume-id="vol-0newscan00000001"]').count()).toBe(1);
  });

  it('the Local view is not offered when the API says the stage is not local', async () => {
    server.state.local = false;
    await open('');
    await page.getByTestId('view-now').getByTestId('stage').waitFor();
    await page.getByTestId('nav-activations').waitFor();
    expect(await page.getByTestId('nav-local').count()).toBe(0);
    expect(await page.getByTestId('failures').textContent()).toBe('Failure queueFailed invocations wait in the SQS queue opsauto-prod-failed-invocations; the console does not read it.');
    await open('local');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('The local routes exist only on the local stage');
  });
});

describe('console errors and liveness', () => {
  it('an API error shows its message in words, with the code and status, not a blank page', async () => {
    server.state.failures.set('/images', { status: 503, body: { error: 'ServiceUnavailable', message: 'The image catalogue table could not be read' } });
    await open('images');
    await expect.poll(() => page.getByTestId('error').textContent()).toBe('Could not load images: The image catalogue table could not be read (ServiceUnavailable, HTTP 503)');
  });

  it('an unknown execution shows the 404 message', async () => {
    await open('executions/exec-missing');
    await expect.poll(() => page.getByTestId('error').textContent()).toContain('No execution exec-missing');
  });

  it('an API that stops answering is explained, and the last data stays', async () => {
    await open('findings');
    await page.getByTestId('volume-row').first().waitFor();
    await server.close();
    await expect.poll(() => page.getByTestId('error').textContent(), { timeout: 10_000 }).toContain('Could not reach the opsauto API');
    // The last data stays under the error.
    expect(await page.getByTestId('volume-row').count()).toBe(2);
    server = await startConsoleServer(seedState());
  });

  it('the view polls its API every 2 s while the tab is visible, not at all while it is hidden', async () => {
    const setHidden = (hidden: boolean) => page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} }); document.dispatchEvent(new Event('visibilitychange'));`);
    const findingsAsked = () => server.state.requests.filter((r) => r === 'GET /api/findings').length;
    await page.clock.install();
    await open('findings');
    await expect.poll(() => page.getByTestId('volume-row').count()).toBe(2);
    const first = findingsAsked();
    server.state.volumes.pop();
    await page.clock.runFor(2_000);
    await expect.poll(() => page.getByTestId('volume-row').count()).toBe(1);
    expect(findingsAsked()).toBe(first + 1);
    await setHidden(true);
    await page.clock.runFor(30_000);
    expect(findingsAsked()).toBe(first + 1);
    await setHidden(false);
    await expect.poll(findingsAsked).toBe(first + 2);
  });
});
