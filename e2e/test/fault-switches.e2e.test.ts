import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { SupervisorView } from '@mini-blog/common/events';
import { readCredential } from '@mini-blog/common/auth';
import { SERVICE_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { startTemporarySystem, type TemporarySystem } from '@mini-blog/launcher';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser, SKIP_BROWSER_TESTS } from './support/browser';

/**
 * The services panel and its "Break it" switches in Chromium, against the whole system started
 * with --faults, on each transport: every switch from its button, its effect where a reader sees
 * it (the panel's lag, parked events and restarts; a comment pending on the blog), and its undo.
 * Screenshots of the panel go to artifacts/.
 */

const ARTIFACTS = path.resolve(__dirname, '../../artifacts');
const LIVE_TIMEOUT_MS = 20_000;

jest.setTimeout(240_000);

const describeInBrowser = SKIP_BROWSER_TESTS ? describe.skip : describe;

/** The panel's columns, after the service's name: Up, Ready, Restarts, Lag, Parked, Switches, Process. */
const COLUMNS = { up: 0, ready: 1, restarts: 2, lag: 3, parked: 4, switches: 5 } as const;

for (const transport of ['http', 'jetstream'] as const) {
  describeInBrowser(`the services panel and its fault switches (${transport})`, () => {
    let run: TemporarySystem;
    let browser: Browser;
    let panel: Page;
    let blog: Page;
    let url: string;
    let admin: string;

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      run = await startTemporarySystem(`switches-e2e-${transport}-`, {
        faultSwitches: true,
        ...(transport === 'jetstream' ? { transport: { transport: 'jetstream', natsNodes: 1 } } : {}),
      });
      url = run.system.url;
      admin = readCredential(run.system.credentialsDir, 'admin')[0]!;
      browser = await launchBrowser();
      panel = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      blog = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      await panel.goto(`${url}/services`);
      await blog.goto(url);
    });

    afterAll(async () => {
      await browser?.close();
      await run?.stop();
    });

    const row = (name: string): Locator => panel.locator(`tr[data-service="${name}"]`);
    const cell = (name: string, column: keyof typeof COLUMNS): Locator => row(name).locator('td').nth(COLUMNS[column]);
    /** On JetStream a service's consumer is named after its slot: its row is the service's. */
    const until = async (check: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + LIVE_TIMEOUT_MS;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const textOf = async (locator: Locator) => ((await locator.textContent()) ?? '').trim();
    const number = async (locator: Locator) => Number(await textOf(locator));
    const button = (name: string) => panel.getByRole('button', { name, exact: true });

    async function createPost(title: string): Promise<string> {
      const res = await fetch(`${url}/posts/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    }

    async function comment(title: string, content: string): Promise<Locator> {
      const card = blog.getByRole('article', { name: title, exact: true });
      await card.waitFor({ timeout: LIVE_TIMEOUT_MS });
      await card.getByRole('textbox').fill(content);
      await card.getByRole('textbox').press('Enter');
      await card.getByRole('button', { name: 'Add comment' }).waitFor();
      return card;
    }

    it('shows every service up and ready, with its lag, parked events and restarts', async () => {
      const names = [...SERVICE_NAMES, ...(transport === 'jetstream' ? ['nats-0'] : [])];
      for (const name of names)
        await until(async () => (await textOf(cell(name, 'ready'))) === 'Ready', `${name} ready`);
      expect(await textOf(panel.getByRole('heading', { name: 'Break it' }))).toBe('Break it');
      for (const name of SUBSCRIBER_NAMES) {
        expect(await textOf(cell(name, 'up'))).toBe('Up');
        expect(await number(cell(name, 'restarts'))).toBe(0);
        expect(await textOf(cell(name, 'lag'))).toMatch(/^\d+$/);
      }
    });

    it('asks for the admin credential, refuses another, and unlocks with it', async () => {
      await panel.getByLabel('Admin credential').fill('not-the-admin-credential');
      await button('Unlock').click();
      await panel.getByText('The admin credential was refused').waitFor();

      await panel.getByLabel('Admin credential').fill(admin);
      await button('Unlock').click();

      await button('Undo everything').waitFor();
    });

    it('stop: the service is down until started again, and posting fails meanwhile', async () => {
      await button('Stop posts').click();
      await until(async () => (await textOf(cell('posts', 'up'))) === 'Stopped', 'posts to be stopped');
      const refused = await fetch(`${url}/posts/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'while posts is down' }),
      });
      expect(refused.status).toBe(502);

      await button('Start posts').click();

      await until(async () => (await textOf(cell('posts', 'ready'))) === 'Ready', 'posts to be ready again');
      expect(await number(cell('posts', 'restarts'))).toBe(0);
    });

    it('a service killed with kill -9 comes back by itself, its restart counted', async () => {
      process.kill(run.system.services.comments.pid!, 'SIGKILL');

      await until(async () => (await number(cell('comments', 'restarts'))) === 1, 'the restart to show');
      await until(async () => (await textOf(cell('comments', 'ready'))) === 'Ready', 'comments ready again');
      expect(await textOf(cell('comments', 'up'))).toContain('exited SIGKILL');
    });

    it("pause: query's lag grows while its deliveries are held; resumed, it catches up", async () => {
      await button('Pause query').click();
      await until(async () => (await textOf(cell('query', 'switches'))) === 'paused', 'the switch to show');

      await createPost('Held back by the pause');
      await createPost('Held back too');

      await until(async () => (await number(cell('query', 'lag'))) >= 2, 'the lag to grow');
      expect(await blog.getByRole('article', { name: 'Held back by the pause' }).count()).toBe(0);

      await button('Resume query').click();

      await until(async () => (await number(cell('query', 'lag'))) === 0, 'query to catch up');
      await blog.getByRole('article', { name: 'Held back by the pause' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
    });

    it('delay: a comment stays pending while moderation gets it late, then is approved', async () => {
      const title = 'A post for the delay';
      await createPost(title);
      await button('Delay 500 ms moderation').click();
      await until(async () => (await textOf(cell('moderation', 'switches'))) === '+500 ms', 'the switch to show');

      const card = await comment(title, 'Slowly but surely');

      await card.getByText('This comment is awaiting moderation').waitFor();
      await card.getByText('Slowly but surely').waitFor({ timeout: LIVE_TIMEOUT_MS });
      await button('No delay moderation').click();
      await until(async () => (await textOf(cell('moderation', 'switches'))) === '–', 'the switch to go');
    });

    it('fail: the comment parks at moderation and stays pending; undone, it is moderated', async () => {
      const title = 'A post for the failure';
      await createPost(title);
      await button('Fail moderation').click();
      await until(async () => (await textOf(cell('moderation', 'switches'))) === 'failing', 'the switch to show');

      const card = await comment(title, 'Held at the door');

      await until(async () => (await number(cell('moderation', 'parked'))) >= 1, 'the event to park');
      await card.getByText('This comment is awaiting moderation').waitFor();
      await panel.screenshot({ path: path.join(ARTIFACTS, `services-${transport}-failing.png`), fullPage: true });

      await button('Stop failing moderation').click();

      await card.getByText('Held at the door').waitFor({ timeout: LIVE_TIMEOUT_MS });
      expect(await card.getByText('This comment is awaiting moderation').count()).toBe(0);
      if (transport === 'http')
        await until(async () => (await number(cell('moderation', 'parked'))) === 0, 'the parked record to go');
    });

    it('slow log: every write waits, so a post takes that long more; back to normal, it does not', async () => {
      await button('Slow the log (200 ms)').click();
      await button('Log back to normal').waitFor();

      let started = Date.now();
      await createPost('Written slowly');
      const slow = Date.now() - started;
      await button('Log back to normal').click();
      await button('Slow the log (200 ms)').waitFor();
      started = Date.now();
      await createPost('Written quickly');

      expect(slow).toBeGreaterThanOrEqual(200);
      expect(Date.now() - started).toBeLessThan(slow);
    });

    it('undoes every switch and starts every stopped service with one click', async () => {
      await button('Pause comments').click();
      await button('Resume comments').waitFor();
      await button('Stop query').click();
      await until(async () => (await textOf(cell('query', 'up'))) === 'Stopped', 'query to stop');
      await panel.screenshot({ path: path.join(ARTIFACTS, `services-${transport}-broken.png`), fullPage: true });

      await button('Undo everything').click();

      await until(async () => (await textOf(cell('query', 'ready'))) === 'Ready', 'query to be back');
      await until(async () => (await textOf(cell('comments', 'switches'))) === '–', 'the pause to go');
      const view = (await (await fetch(`${url}/launcher/services`)).json()) as SupervisorView;
      expect(view.faults).toEqual({ deliveries: {}, log: { slowMs: 0 } });
      expect(view.services.every((service) => service.state === 'running')).toBe(true);
      await panel.screenshot({ path: path.join(ARTIFACTS, `services-${transport}.png`), fullPage: true });
    });
  });
}
