import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_NAMES } from '@mini-blog/common/registry';
import { COMMENT_TRACE_HOPS, startOtlpReceiver, type OtlpReceiver } from '@mini-blog/common/testing';
import { startTracing } from '@mini-blog/common/tracing';
import { startTemporarySystem, type TemporarySystem } from '@mini-blog/launcher';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, SKIP_BROWSER_TESTS } from './support/browser';

/**
 * The trace view in a real browser, on each transport: a new comment's trace from the click to the
 * live stream, every hop in order, its events linked to the event flow and back; the same trace at
 * an OTLP endpoint, the browser's spans in it (sent through the gateway); each view with one
 * h1 that focus moves to, usable at 390 px, and axe-core finding no violation. Screenshots of the
 * trace view at desktop width and at 390 px go to artifacts/.
 */

const ARTIFACTS = path.resolve(__dirname, '../../artifacts');
const LIVE_TIMEOUT_MS = 20_000;
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

jest.setTimeout(180_000);

// The gateway runs in this process: its hops are spans too, as in `npm start`.
startTracing({ service: 'gateway', role: 'gateway' });

const describeInBrowser = SKIP_BROWSER_TESTS ? describe.skip : describe;

/** axe-core's violations on the page as it is now: `rule: target, target` per rule. */
async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated rather than added as a script tag: the app's Content-Security-Policy allows no inline script.
  if (!(await page.evaluate("typeof window.axe === 'object'"))) await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(
    "window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target.join(' ')) })))",
  )) as { id: string; targets: string[] }[];
  return violations.map((violation) => `${violation.id}: ${violation.targets.join(', ')}`);
}

describeInBrowser.each(['http', 'jetstream'] as const)('the trace view on the %s transport', (transport) => {
  let running: TemporarySystem;
  let receiver: OtlpReceiver;
  let browser: Browser;
  let page: Page;
  const content = `Traced in the browser on ${transport}`;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    receiver = await startOtlpReceiver();
    const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    running = await startTemporarySystem('mini-blog-trace-view-', {
      ...(transport === 'jetstream' ? { transport: { transport: 'jetstream', natsNodes: 1 } } : {}),
      env: Object.fromEntries(SERVICE_NAMES.map((name) => [name, otlp])),
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(running.system.url);
  });
  afterAll(async () => {
    await browser?.close();
    await running?.stop();
    await receiver?.close();
  });

  it('shows one h1 on the posts view and no axe-core violation', async () => {
    await page.getByRole('heading', { level: 1, name: 'Posts' }).waitFor();

    expect(await page.locator('h1').count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
  });

  it("opens a new comment's trace: every hop from the click to the live stream, in order, with durations", async () => {
    const title = `A post on ${transport}`;
    await page.getByLabel('Title').fill(title);
    await page.getByRole('button', { name: 'Publish' }).click();
    const card = page.getByRole('article', { name: title, exact: true });
    await card.waitFor();
    await card.getByRole('textbox').fill(content);
    await card.getByRole('textbox').press('Enter');
    await card.getByText(content).waitFor({ timeout: LIVE_TIMEOUT_MS });

    await card.getByRole('link', { name: 'Trace of this comment' }).click();

    const heading = page.getByRole('heading', { level: 1, name: 'Trace' });
    await heading.waitFor();
    expect(await page.evaluate('document.activeElement?.tagName')).toBe('H1');
    const hops = page.getByRole('list', { name: 'Hops in order' }).getByRole('listitem');
    const expected = COMMENT_TRACE_HOPS;
    await expectEventually(
      async () => JSON.stringify(await hops.allTextContents()) === JSON.stringify(expected),
      async () => `the hops ${JSON.stringify(expected)}, shown: ${JSON.stringify(await hops.allTextContents())}`,
    );
    const spans = page.getByRole('list', { name: /^Spans, / }).getByRole('listitem');
    for (const [service, name] of [
      ['browser', 'add comment'],
      ['gateway', 'POST gateway → comments'],
      ['comments', 'publish CommentCreated'],
      ['moderation', 'process CommentCreated'],
      ['query', 'push change'],
      ['browser', 'live change received'],
    ])
      expect(await page.locator(`[data-service="${service}"][data-span="${name}"]`).count()).toBeGreaterThan(0);
    expect(await spans.first().locator('.waterfall__duration').textContent()).toMatch(/\d+(\.\d)? m?s/);
    expect(await page.locator('h1').count()).toBe(1);
    expect(await page.getByText(content).count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, `trace-view-${transport}.png`), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
  });

  it("sends the same trace to the OTLP endpoint: the browser's spans, through the gateway, with the services'", async () => {
    const traceId = (await page.locator('code.trace-id').textContent())!;

    const spans = await receiver.trace(
      traceId,
      [
        ['browser', 'add comment'],
        ['browser', 'live change received'],
        ['comments', 'POST /posts/:id/comments'],
        ['query', 'push change'],
      ],
      LIVE_TIMEOUT_MS,
    );
    const find = (service: string, name: string) =>
      spans.find((span) => span.service === service && span.name === name)!;

    const click = find('browser', 'add comment');
    expect(click.parentSpanId ?? '').toBe('');
    // The fetch instrumentation's span of the request, the click's child.
    expect(spans.filter((span) => span.service === 'browser' && span.parentSpanId === click.spanId)).toEqual([
      expect.objectContaining({ name: 'POST', kind: 3 }),
    ]);
    expect(find('browser', 'live change received').parentSpanId).toBe(find('query', 'push change').spanId);
  });

  it('fits a phone: the trace view at 390 px needs no sideways scrolling and axe-core finds nothing', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.getByRole('list', { name: 'Hops in order' }).waitFor();

      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await page.screenshot({ path: path.join(ARTIFACTS, `trace-view-390-${transport}.png`), fullPage: true });
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await page.setViewportSize({ width: 1100, height: 900 });
    }
  });

  it('links the events the trace published to the event flow, which shows the publisher and the public payload, and links back', async () => {
    await page.getByRole('link', { name: /CommentCreated$/ }).click();

    await page.getByRole('heading', { level: 1, name: 'Event flow' }).waitFor();
    expect(await page.evaluate('document.activeElement?.tagName')).toBe('H1');
    const detail = page.locator('.event-detail').first();
    await detail.getByText('Published by').waitFor();
    expect(await detail.locator('dd').first().textContent()).toBe('comments');
    // A new comment is pending in its CommentCreated: the public payload has no content.
    expect(await detail.locator('pre').textContent()).toContain('"content": ""');
    expect(await detail.getByRole('link', { name: 'Its trace' }).count()).toBe(1);
    expect(await detail.getByRole('link', { name: 'Its comment' }).count()).toBe(1);
    expect(await page.locator('h1').count()).toBe(1);
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await page.setViewportSize({ width: 1100, height: 900 });
    }
    expect(await axeViolations(page)).toEqual([]);

    await detail.getByRole('link', { name: 'Its trace' }).click();
    await page.getByRole('list', { name: 'Hops in order' }).waitFor();
  });
});

async function expectEventually(check: () => Promise<boolean>, what: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + LIVE_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${await what()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
