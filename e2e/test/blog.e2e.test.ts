import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { startSystem, type RunningSystem } from '@mini-blog/launcher';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser, SKIP_BROWSER_TESTS } from './support/browser';

/**
 * The blog in a real browser (Chromium driven by playwright-core) against the whole
 * system as `npm start` runs it. Screenshots of the feed and of the event flow go to artifacts/.
 */

const ARTIFACTS = path.resolve(__dirname, '../../artifacts');
/** Moderation and the live stream take well under a second; this is the ceiling for a slow CI machine. */
const LIVE_TIMEOUT_MS = 20_000;

jest.setTimeout(120_000);

const describeInBrowser = SKIP_BROWSER_TESTS ? describe.skip : describe;

describeInBrowser('the blog in a browser', () => {
  let system: RunningSystem;
  let dataDir: string;
  let browser: Browser;
  let page: Page;
  /** Every service's log lines, shown when the system does not start. */
  const logs: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = mkdtempSync(path.join(tmpdir(), 'mini-blog-e2e-'));
    try {
      system = await startSystem({ port: 0, dataDir, log: (service, line) => logs.push(`${service} | ${line}`) });
    } catch (err) {
      throw new Error(`the system did not start: ${String(err)}\n${logs.slice(-40).join('\n')}`);
    }
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(system.url);
    // Set once: if the page reloaded, it would be gone.
    await page.evaluate('window.loadedOnce = true');
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const postCard = (title: string): Locator => page.getByRole('article', { name: title, exact: true });
  const notReloaded = () => page.evaluate("'loadedOnce' in window");

  async function publish(title: string): Promise<Locator> {
    await page.getByLabel('Title').fill(title);
    await page.getByRole('button', { name: 'Publish' }).click();
    const card = postCard(title);
    await card.waitFor();
    return card;
  }

  async function addComment(card: Locator, content: string): Promise<void> {
    await card.getByRole('textbox').fill(content);
    await card.getByRole('textbox').press('Enter');
    await card.getByRole('button', { name: 'Add comment' }).waitFor();
  }

  it('creates a post, which appears on top of the feed', async () => {
    await publish('Hello from the browser');

    await expectText(page.getByRole('article').first().getByRole('heading'), 'Hello from the browser');
  });

  it('shows a comment awaiting moderation, then approved, without a reload', async () => {
    const card = postCard('Hello from the browser');
    // With moderation stopped, "awaiting moderation" stays long enough to be seen for sure.
    await system.services.moderation.stop();
    try {
      await addComment(card, 'What a lovely day');
      await card.getByText('This comment is awaiting moderation').waitFor();
    } finally {
      system.services.moderation.start();
    }
    await system.waitReady('moderation');

    await card.getByText('What a lovely day').waitFor({ timeout: LIVE_TIMEOUT_MS });
    expect(await card.getByText('This comment is awaiting moderation').count()).toBe(0);
    expect(await notReloaded()).toBe(true);
  });

  it("shows a comment with 'orange' as rejected, without its content, without a reload", async () => {
    const card = postCard('Hello from the browser');

    await addComment(card, 'I do not like orange');

    await card.getByText('This comment has been rejected').waitFor({ timeout: LIVE_TIMEOUT_MS });
    expect(await card.getByText('I do not like orange').count()).toBe(0);
    expect(await notReloaded()).toBe(true);
  });

  it('shows a title that looks like HTML as text, and runs nothing', async () => {
    const title = '<img src=x onerror=alert(1)>';

    const card = await publish(title);

    await expectText(card.getByRole('heading'), title);
    expect(await card.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'feed.png'), fullPage: true });
  });

  it('lists the events of this test in the event flow, with every subscriber caught up', async () => {
    const postIds = await Promise.all(
      (await page.getByRole('article').all()).map((card) => card.getAttribute('data-post-id')),
    );
    expect(postIds).toHaveLength(2);

    await page.getByRole('link', { name: 'Event flow' }).click();
    const log = page.getByRole('table');
    await log.waitFor();

    for (const id of postIds) await log.getByText(`PostCreated:${id}`).waitFor({ timeout: LIVE_TIMEOUT_MS });
    for (const type of ['CommentCreated', 'CommentModerated', 'CommentUpdated']) {
      expect(await log.getByText(type, { exact: true }).count()).toBe(2);
    }
    const states = page.getByRole('list', { name: 'Subscribers' }).getByRole('listitem').locator('.chip');
    await expectEventually(async () => {
      const texts = await states.allTextContents();
      return texts.length === SUBSCRIBER_NAMES.length && texts.every((text) => text === 'Caught up');
    }, 'every subscriber of the registry to be caught up');
    await expectEventually(
      async () => (await log.getByText('not delivered yet').count()) === 0,
      'every event delivered to every subscriber',
    );
    expect(await page.getByText('What a lovely day').count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'event-flow.png'), fullPage: true });
  });
});

async function expectText(locator: Locator, text: string): Promise<void> {
  expect(await locator.textContent()).toBe(text);
}

async function expectEventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + LIVE_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
