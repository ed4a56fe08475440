// Browser end-to-end test: an operator starts a restore drill (`verify`) from the Temporal Web
// UI's "Start Workflow" form, watches it complete, with a real vsnap worker behind it, and reads
// the drill's report on the run's page. The worker encrypts every payload; the UI shows the
// report because the stack's dev server decodes through the stack's codec server.
//
// Needs the local stack (`npm run stack:up`) and Debian's chromium (`bash scripts/install-test-packages.sh`),
// driven headless by playwright-core; no Playwright browser download. Restores into the `drill`
// cluster, so run it alone, never at the same time as `npm test`:
//
//   node --import tsx --test test/e2e/temporal-ui.test.ts
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { backup } from '../../workflows/backup';
import type { verify } from '../../workflows/verify';
import { start, uniqueId } from '../helpers/runs';
import { stackEnv, startTestWorker, type TestWorker } from '../helpers/stack';

const CHROMIUM = '/usr/bin/chromium';
const FAILURE_SCREENSHOT = '/tmp/vsnap-e2e-failure.png';
const NAMESPACE = 'default';
const UI = (stackEnv.VSNAP_TEMPORAL_UI ?? 'http://127.0.0.1:8233').replace(/\/+$/, '');
const COMPLETION_TIMEOUT_MS = 150_000;
// This machine's network is closed: these flags keep Chromium from waiting on Google services.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TERMINAL_FAILURES = ['failed', 'terminated', 'canceled', 'cancelled', 'timed out', 'timedout'];

/** Takes the failure screenshot and fails with `problem`, naming the screenshot. */
async function failWithScreenshot(page: Page | undefined, problem: string): Promise<never> {
  let where = `no screenshot: the browser page was never opened`;
  if (page) {
    where = await page
      .screenshot({ path: FAILURE_SCREENSHOT, fullPage: true })
      .then(() => `screenshot: ${FAILURE_SCREENSHOT} (page ${page.url()})`)
      .catch((e: unknown) => `screenshot to ${FAILURE_SCREENSHOT} failed: ${String(e)}`);
  }
  assert.fail(`${problem}\n${where}`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Fills the Start Workflow form of `NAMESPACE` and submits it; returns once the server accepted the start. */
async function startWorkflowFromUi(page: Page, workflowId: string, taskQueue: string, input: string): Promise<string> {
  await page.goto(`${UI}/namespaces/${NAMESPACE}/workflows`);
  await page.getByRole('link', { name: 'Start Workflow', exact: true }).click();
  await page.waitForURL(/\/workflows\/start-workflow/);

  await page.locator('#workflowId').fill(workflowId);
  await page.locator('#taskQueue').fill(taskQueue);
  await page.locator('#workflowType').fill('verify');
  // Leaving the task queue field makes the UI look the queue up; it shows a banner (moving the
  // form down) once it sees our worker polling. Wait for it so the later clicks land where they aim.
  await page.getByText('Task Queue is Active').waitFor({ timeout: 30_000 });

  const data = page.locator('[role=textbox][aria-label=Data]');
  await data.click();
  await data.fill(input);
  await page.getByLabel('json/plain').check();
  // Leave the editor: the UI pretty-prints the JSON on blur, which grows the editor and moves the
  // submit button. Do it now rather than in the middle of the click on the button.
  await page.getByTestId('start-workflow').click();
  await page.waitForFunction("!document.activeElement || !document.activeElement.closest('.cm-editor')");
  assert.deepEqual(JSON.parse((await data.textContent()) ?? ''), JSON.parse(input), 'the Data editor holds the input');
  assert.equal(await page.locator('#workflowId').inputValue(), workflowId);
  assert.equal(await page.locator('#taskQueue').inputValue(), taskQueue);
  assert.equal(await page.locator('#workflowType').inputValue(), 'verify');

  const submitted = page.waitForResponse(
    (r) =>
      r.request().method() === 'POST' &&
      new URL(r.url()).pathname === `/api/v1/namespaces/${NAMESPACE}/workflows/${encodeURIComponent(workflowId)}`,
    { timeout: 20_000 },
  );
  await page.getByTestId('start-workflow-button').click();
  const response = await submitted;
  assert.ok(response.ok(), `the UI's start request failed: HTTP ${response.status()} ${await response.text()}`);

  const toast = page.getByRole('link', { name: 'Workflow started successfully' });
  const href = (await toast.getAttribute('href', { timeout: 10_000 })) ?? '';
  assert.ok(href.includes(`/workflows/${encodeURIComponent(workflowId)}/`), `toast links to the workflow: "${href}"`);
  return new URL(href, UI).toString();
}

/** Waits until the workflow page's status badge reads Completed; fails early on a terminal failure. */
async function waitForCompletedInUi(page: Page, workflowId: string): Promise<void> {
  await page.getByTestId('workflow-id-heading').filter({ hasText: workflowId }).waitFor({ timeout: 20_000 });
  const badge = page.getByTestId('execution-status');
  const deadline = Date.now() + COMPLETION_TIMEOUT_MS;
  let lastReload = Date.now();
  let status = '';
  while (Date.now() < deadline) {
    status = ((await badge.textContent({ timeout: 5_000 }).catch(() => '')) ?? '').trim().toLowerCase();
    if (status === 'completed') return;
    if (TERMINAL_FAILURES.includes(status)) break;
    // The page refreshes itself while the run is open; reload now and then in case it stops.
    if (Date.now() - lastReload > 20_000) {
      await page.reload();
      lastReload = Date.now();
    }
    await page.waitForTimeout(500);
  }
  throw new Error(
    `${workflowId}: the UI shows status "${status || '(none)'}", not Completed, ` +
      `after ${Math.round((COMPLETION_TIMEOUT_MS - Math.max(0, deadline - Date.now())) / 1000)}s`,
  );
}

/**
 * The text of the run's Result panel, top to bottom. The panel is a code editor that renders
 * only the lines in view, so it is scrolled through and read a screenful at a time.
 */
interface EditorElement {
  querySelector(selector: string): { scrollTop: number; clientHeight: number } | null;
  querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
}

async function readResultPanel(page: Page): Promise<string> {
  const result = page.locator('.cm-editor').filter({ hasText: '"kind"' }).first();
  await result.waitFor({ timeout: 30_000 });
  // Runs in the page; this project type-checks without the DOM's types, hence the shapes above.
  return result.evaluate(async (node: unknown) => {
    const editor = node as EditorElement;
    const scroller = editor.querySelector('.cm-scroller');
    if (!scroller) throw new Error('the Result panel has no scroller');
    const seen: string[] = [];
    for (let step = 0; step < 200; step++) {
      for (const line of editor.querySelectorAll('.cm-line')) {
        const text = (line.textContent ?? '').trim();
        if (!seen.includes(text)) seen.push(text);
      }
      const before = scroller.scrollTop;
      scroller.scrollTop += scroller.clientHeight / 2;
      if (scroller.scrollTop === before) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return seen.join('\n');
  });
}

describe('Temporal Web UI', () => {
  let worker: TestWorker | undefined;
  let browser: Browser | undefined;

  before(async () => {
    worker = await startTestWorker();
  });

  after(async () => {
    await browser?.close();
    await worker?.stop();
  });

  test('starts a verify drill from the Start Workflow form and shows it Completed', { timeout: 360_000 }, async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: run "bash scripts/install-test-packages.sh" (as root) to install Debian's chromium`,
    );
    assert.ok(worker, 'the test worker started');

    // The drill restores the latest backup of prod: make sure there is one.
    const backupResult = await (await start<typeof backup>(worker, 'backup', { cluster: 'prod' })).result();
    assert.equal(backupResult.cluster, 'prod');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(30_000);

    const workflowId = uniqueId('verify-ui');
    let workflowPage = '';
    try {
      workflowPage = await startWorkflowFromUi(page, workflowId, worker.taskQueue, '{"cluster":"prod"}');
      await page.goto(workflowPage);
      await waitForCompletedInUi(page, workflowId);
    } catch (err) {
      const described = await worker.temporal.client.workflow
        .getHandle(workflowId)
        .describe()
        .then((d) => `server status ${d.status.name}`)
        .catch((e: unknown) => `server: ${errorText(e)}`);
      await failWithScreenshot(page, `UI drill ${workflowId} did not complete: ${errorText(err)} (${described})`);
    }

    const handle = worker.temporal.client.workflow.getHandle<typeof verify>(workflowId);
    const description = await handle.describe();
    assert.equal(description.type, 'verify');
    assert.equal(description.taskQueue, worker.taskQueue);
    const report = await handle.result();
    assert.equal(report.kind, 'verify');
    assert.equal(report.source, 'prod');
    assert.equal(report.target, 'drill');
    if (!report.passed) {
      await failWithScreenshot(page, `the UI drill's report did not pass: ${JSON.stringify(report.checks, null, 2)}`);
    }
    assert.equal(report.passed, true);

    // The report as the operator reads it on the run's page: decoded JSON naming each check,
    // not the base64 ciphertext the worker stored.
    await page.goto(workflowPage);
    let shown = '';
    try {
      shown = await readResultPanel(page);
    } catch (err) {
      await failWithScreenshot(page, `the run's page shows no decoded result: ${errorText(err)}`);
    }
    const missing = report.checks.map((c) => c.name).filter((name) => !shown.includes(`"name": "${name}"`));
    if (missing.length > 0) {
      await failWithScreenshot(page, `the run's Result panel lacks the checks ${JSON.stringify(missing)}`);
    }
    assert.ok(!shown.includes('binary/encrypted'), 'the result is not shown still encrypted');
  });
});
