import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@mini-blog/common/testing';
import { startSystem, type RunningSystem } from '@mini-blog/launcher';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, SKIP_BROWSER_TESTS } from './support/browser';

/**
 * The course's earlier client called each service on its own port from another origin. A page on
 * an allowed origin can do that here too, in a real browser (preflight included); a page on any
 * other origin is stopped by the browser before its request reaches the service.
 */

jest.setTimeout(120_000);

const describeInBrowser = SKIP_BROWSER_TESTS ? describe.skip : describe;

/** An empty page on its own origin (127.0.0.1 on a free port): the origin is all the test needs. */
async function servePage(): Promise<{ origin: string; server: http.Server }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>another app</title>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Runs `fetch` in the page; answers its status and JSON body, or the error the browser raised. */
function fetchFrom(page: Page, url: string, init: { method: string; body?: unknown }) {
  return page.evaluate(
    async ({ url, method, body }) => {
      try {
        const res = await fetch(url, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as unknown };
      } catch (err) {
        return { error: String(err) };
      }
    },
    { url, method: init.method, body: init.body },
  );
}

describeInBrowser('calls from another origin (CORS)', () => {
  let system: RunningSystem;
  let dataDir: string;
  let browser: Browser;
  let allowed: { origin: string; server: http.Server };
  let other: { origin: string; server: http.Server };
  const logs: string[] = [];

  beforeAll(async () => {
    allowed = await servePage();
    other = await servePage();
    dataDir = mkdtempSync(path.join(tmpdir(), 'mini-blog-cors-'));
    const cors = { CORS_ORIGINS: allowed.origin };
    try {
      system = await startSystem({
        port: 0,
        dataDir,
        env: { posts: cors, comments: cors, query: cors },
        log: (service, line) => logs.push(`${service} | ${line}`),
      });
    } catch (err) {
      throw new Error(`the system did not start: ${String(err)}\n${logs.slice(-40).join('\n')}`);
    }
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    for (const page of [allowed, other]) page?.server.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function pageAt(origin: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(origin);
    return page;
  }

  it('lets an allowed origin create a post on posts, comment on comments and read query, each on its own port', async () => {
    const page = await pageAt(allowed.origin);
    const { posts, comments, query } = system.services;

    const created = await fetchFrom(page, `${posts.url}/posts/create`, {
      method: 'POST',
      body: { title: 'from another app' },
    });
    expect(created).toMatchObject({ status: 201, body: { title: 'from another app' } });
    const postId = (created as { body: { id: string } }).body.id;

    const commented = await fetchFrom(page, `${comments.url}/posts/${postId}/comments`, {
      method: 'POST',
      body: { content: 'hello' },
    });
    expect(commented).toMatchObject({ status: 201 });

    await waitFor(async () => {
      const read = (await fetchFrom(page, `${query.url}/posts`, { method: 'GET' })) as {
        body?: Record<string, { comments: unknown[] }>;
      };
      return read.body?.[postId]?.comments.length === 1;
    }, 'the post and its comment in query, read from the page');
    await page.close();
  });

  it('stops every other origin in the browser, before the request reaches the service', async () => {
    const page = await pageAt(other.origin);
    const refused = await fetchFrom(page, `${system.services.posts.url}/posts/create`, {
      method: 'POST',
      body: { title: 'from a stranger' },
    });
    expect(refused).toEqual({ error: expect.stringContaining('Failed to fetch') });
    await page.close();

    // A post created afterwards is applied after anything the refused request could have stored.
    const allowedPage = await pageAt(allowed.origin);
    const later = await fetchFrom(allowedPage, `${system.services.posts.url}/posts/create`, {
      method: 'POST',
      body: { title: 'a later post' },
    });
    const laterId = (later as { body: { id: string } }).body.id;
    let titles: string[] = [];
    await waitFor(async () => {
      const read = (await fetchFrom(allowedPage, `${system.services.query.url}/posts`, { method: 'GET' })) as {
        body?: Record<string, { title: string }>;
      };
      titles = Object.values(read.body ?? {}).map((post) => post.title);
      return read.body?.[laterId] !== undefined;
    }, 'the later post in query');
    expect(titles).not.toContain('from a stranger');
    await allowedPage.close();
  });
});
