import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import express from 'express';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, type PageAuth } from './chromium';

/**
 * examples/spa-cross-origin in Debian's Chromium: the page on one origin, the API on another of
 * the same site (127.0.0.1, two ports), CORS with credentials and `trustedOrigins`. A third origin
 * of the same site, trusted by neither, gets nothing.
 */

jest.setTimeout(60_000);

declare const auth: PageAuth & { login(username: string, password: string): Promise<unknown>; logout(): Promise<void> };
declare const document: { body: { dataset: Record<string, string | undefined> } };

const root = join(__dirname, '..', '..');
let child: ChildProcess;
let pageOrigin: string;
let apiOrigin: string;
let other: Server;
let otherOrigin: string;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  child = spawn(process.execPath, [join(root, 'examples', 'spa-cross-origin', 'server.mjs')], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PAGE_PORT: '0', API_PORT: '0', ACCESS_TOKEN_TTL: '60' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await once(lines, 'line')) as [string];
  const started = /^API on (\S+), trusting (\S+)$/.exec(first)!;
  apiOrigin = started[1]!;
  pageOrigin = started[2]!;
  // Another origin of the same site: the browser sends the SameSite=Strict cookie to the API from it.
  other = express()
    .get('/', (_req, res) => res.type('html').send('<!doctype html><title>another origin</title><p>Another app.</p>'))
    .listen(0, '127.0.0.1');
  await once(other, 'listening');
  otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  browser = await launchChromium();
  context = await browser.newContext();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  other?.close();
  child?.kill('SIGTERM');
});

async function openPage(): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${pageOrigin}/`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  return page;
}

const refreshCookie = async () => (await context.cookies(`${apiOrigin}/auth/refresh`)).find((cookie) => cookie.name === 'refresh_token');

describe('a single-page app on another origin (examples/spa-cross-origin)', () => {
  it('logs in from its origin, refreshes, calls the API, and logs out', async () => {
    expect(new URL(pageOrigin).port).not.toBe(new URL(apiOrigin).port);
    const page = await openPage();
    await page.click('#login button');
    await page.locator('#who', { hasText: 'demo' }).waitFor();

    // The refresh cookie is the API's, HttpOnly, SameSite=Strict, and this page cannot read it.
    const cookie = await refreshCookie();
    expect(cookie).toMatchObject({ domain: '127.0.0.1', path: '/auth', httpOnly: true, sameSite: 'Strict' });

    const first = await page.evaluate(() => auth.accessToken);
    expect(await page.evaluate(() => auth.refresh())).toBe(true);
    expect(await page.evaluate(() => auth.accessToken)).not.toBe(first);
    expect((await refreshCookie())!.value).not.toBe(cookie!.value);

    await page.click('#me');
    await page.locator('#out', { hasText: 'GET /api/me -> 200' }).waitFor();
    expect(await page.textContent('#out')).toContain('"name": "demo"');

    // A reload restores the session from the API's cookie.
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    expect(await page.evaluate(() => auth.accessToken)).not.toBeNull();

    await page.click('#logout');
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(await refreshCookie()).toBeUndefined();
    expect(await page.evaluate(() => auth.refresh())).toBe(false);
  });

  it('gives a page of an origin not trusted nothing: no login, no rotation of the cookie', async () => {
    const page = await openPage();
    await page.click('#login button');
    await page.locator('#who', { hasText: 'demo' }).waitFor();
    const before = (await refreshCookie())!.value;

    const stranger = await context.newPage();
    await stranger.goto(`${otherOrigin}/`);
    const attempts = await stranger.evaluate(async (api) => {
      // A JSON login needs a preflight, which the API grants only to the app's origin.
      const login = await fetch(`${api}/auth/login`, {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'demo', password: 'demo-password' }),
      }).then(
        (res) => `answered ${res.status}`,
        (error: Error) => `refused: ${error.name}`,
      );
      // A bodyless POST needs none, and the same-site cookie goes along: the router's Origin check refuses it.
      const refresh = await fetch(`${api}/auth/refresh`, { method: 'POST', credentials: 'include', mode: 'no-cors' }).then(
        (res) => res.type,
      );
      return { login, refresh };
    }, apiOrigin);
    expect(attempts).toEqual({ login: 'refused: TypeError', refresh: 'opaque' });
    expect((await refreshCookie())!.value).toBe(before); // nothing rotated, nothing set

    // What the router answers that origin, seen outside a browser (which would hide it).
    const res = await fetch(`${apiOrigin}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: otherOrigin, 'sec-fetch-site': 'same-site' },
      body: JSON.stringify({ username: 'demo', password: 'demo-password' }),
    });
    expect([res.status, ((await res.json()) as { error: string }).error, res.headers.get('access-control-allow-origin')]).toEqual([
      403,
      'csrf_rejected',
      null,
    ]);

    // The app's page still holds a live session.
    expect(await page.evaluate(() => auth.refresh())).toBe(true);
  });
});
