import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, logIn, openDemo as openDemoAt, refreshCookie as refreshCookieAt, startHarness, type Harness, type PageAuth } from './chromium';

/**
 * The basic example in Debian's Chromium, driven by playwright-core: the demo page and its
 * browser client against the example app (test/e2e/harness.mjs) with 3-second access tokens and
 * no grace window, so that only the client's coordination of the tabs can keep a session alive
 * (README "Several tabs"). test/e2e/reload.test.ts runs the default options.
 */

const ACCESS_TOKEN_TTL = 3;
const ARTIFACTS = join(__dirname, 'artifacts');

declare const auth: PageAuth;
// The few DOM names the page functions use (this project compiles without the DOM library).
declare const document: { cookie: string; body: { dataset: Record<string, string | undefined> }; getElementById(id: string): { submit(): void } };
declare const navigator: { locks?: unknown };
declare const Navigator: { prototype: object };

let harness: Harness;
let base: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  harness = await startHarness(ACCESS_TOKEN_TTL, 0);
  base = harness.base;
  browser = await launchChromium();
}, 30_000);

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
  harness?.stop();
});

async function newContext(init?: () => void): Promise<BrowserContext> {
  const context = await browser.newContext();
  if (init) await context.addInitScript(init);
  contexts.push(context);
  return context;
}

const openDemo = (context: BrowserContext) => openDemoAt(context, base);
const refreshCookie = (context: BrowserContext) => refreshCookieAt(context, base);
const refreshesSeen = () => harness.refreshes();

/** Waits until the page's access token has expired by the clock (the server allows no skew here). */
async function waitForExpiry(page: Page): Promise<void> {
  await page.waitForFunction(() => auth.expiresAt !== null && Date.now() > auth.expiresAt.getTime() + 100, undefined, {
    timeout: (ACCESS_TOKEN_TTL + 5) * 1000,
    polling: 100,
  });
}

function callMe(page: Page, times = 1): Promise<Array<{ status: number; userId?: string }>> {
  return page.evaluate(
    (n) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const res = await auth.fetch('/api/me');
          return { status: res.status, userId: ((await res.json()) as { userId?: string }).userId };
        }),
      ),
    times,
  );
}

describe('the demo page in Chromium', () => {
  it('logs in through the form and calls a protected route with the Bearer token', async () => {
    const page = await openDemo(await newContext());
    await logIn(page);
    await page.locator('#who', { hasText: 'user-1' }).waitFor();
    expect(await page.isVisible('#login')).toBe(false);
    expect(await callMe(page)).toEqual([{ status: 200, userId: 'user-1' }]);

    // The screenshot, for a person to look at: the countdown, the session list, the log.
    await page.waitForSelector('#sessions tr button');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-after-login.png'), fullPage: true });
    expect(await page.locator('#sessions tr').count()).toBe(1);
    expect(await page.textContent('#countdown')).toMatch(/^expires in \d+\.\d s/);
  });

  it('shows a throttled login: the 429, and a countdown with the button disabled until Retry-After', async () => {
    const page = await openDemo(await newContext());
    // Another username than the demo user's, so the other tests' logins stay under the limit.
    await page.fill('#login input[name=username]', 'mallory');
    await page.fill('#login input[name=password]', 'wrong password');
    for (let i = 1; i <= 5; i++) {
      await page.click('#login button');
      await page.locator('#out', { hasText: 'login -> 401' }).waitFor();
      await page.locator('#out').evaluate((out) => (out.textContent = ''));
    }
    await page.click('#login button');
    await page.locator('#out', { hasText: 'login -> 429' }).waitFor();
    expect(await page.textContent('#out')).toContain('"too_many_attempts"');
    expect(await page.textContent('#wait')).toMatch(/^Too many attempts: try again in 1[45]:\d\d$/);
    expect(await page.isDisabled('#login button')).toBe(true);
  });

  it('keeps the refresh token out of reach of the page: document.cookie does not show it', async () => {
    const context = await newContext();
    const page = await openDemo(context);
    await logIn(page);
    const cookie = await refreshCookie(context);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/auth' });
    expect(cookie!.value.length).toBeGreaterThan(40);
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('refreshes once when the access token has expired, and the protected call succeeds', async () => {
    const page = await openDemo(await newContext());
    const first = await logIn(page);
    await waitForExpiry(page);
    const before = (await refreshesSeen()).length;
    expect(await callMe(page)).toEqual([{ status: 200, userId: 'user-1' }]);
    const seen = (await refreshesSeen()).slice(before);
    expect(seen).toEqual([{ origin: base, site: 'same-origin', cookie: true, status: 200 }]);
    expect(await page.evaluate(() => auth.accessToken)).not.toBe(first);
  });

  it('makes 10 parallel calls after expiry with exactly one /refresh', async () => {
    const page = await openDemo(await newContext());
    await logIn(page);
    await waitForExpiry(page);
    const before = (await refreshesSeen()).length;
    const results = await callMe(page, 10);
    expect(results).toEqual(Array.from({ length: 10 }, () => ({ status: 200, userId: 'user-1' })));
    expect((await refreshesSeen()).slice(before)).toEqual([{ origin: base, site: 'same-origin', cookie: true, status: 200 }]);
  });

  describe('two tabs whose token expires at the same moment', () => {
    // Each refresh takes 300 ms on the server: the second tab surely asks while the first refreshes.
    beforeAll(() => harness.setRefreshDelay(300));
    afterAll(() => harness.setRefreshDelay(0));

    /** Each page calls `/api/me` through the client at the same instant (one clock for the browser and this process). */
    function atOnce(pages: Page[]): Promise<number[]> {
      const at = Date.now() + 300;
      return Promise.all(
        pages.map((page) =>
          page.evaluate(async (when) => {
            await new Promise((resolve) => setTimeout(resolve, when - Date.now()));
            return (await auth.fetch('/api/me')).status;
          }, at),
        ),
      );
    }

    async function twoTabsRefreshOnce(context: BrowserContext): Promise<void> {
      const a = await openDemo(context);
      await logIn(a);
      // The second tab restores the session with one refresh, and shares its token with the first.
      const b = await openDemo(context);
      const shared = await b.evaluate(() => auth.accessToken);
      expect(shared).not.toBeNull();
      await a.waitForFunction((token) => auth.accessToken === token, shared);
      await waitForExpiry(a);

      const before = (await refreshesSeen()).length;
      expect(await atOnce([a, b])).toEqual([200, 200]);

      expect((await refreshesSeen()).slice(before)).toEqual([{ origin: base, site: 'same-origin', cookie: true, status: 200 }]);
      const [tokenA, tokenB] = await Promise.all([a.evaluate(() => auth.accessToken), b.evaluate(() => auth.accessToken)]);
      expect(tokenA).toBe(tokenB);
      expect(tokenA).not.toBe(shared);
    }

    it('cause one /refresh, the token shared over BroadcastChannel (Web Locks)', async () => {
      const context = await newContext();
      await twoTabsRefreshOnce(context);
    });

    it('cause one /refresh without the Web Locks API too (the localStorage lease)', async () => {
      const context = await newContext(() => {
        Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
      });
      const probe = await openDemo(context);
      expect(await probe.evaluate(() => navigator.locks)).toBeUndefined();
      await probe.close();
      await twoTabsRefreshOnce(context);
    });

    it('never cause reuse, even when the token cannot be shared (no BroadcastChannel): the lock alone keeps the session alive', async () => {
      const context = await newContext(() => {
        delete (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel;
      });
      const a = await openDemo(context);
      await logIn(a);
      const b = await openDemo(context); // restores with its own refresh: the tabs hold different tokens
      await waitForExpiry(b);
      const before = (await refreshesSeen()).length;
      expect(await atOnce([a, b])).toEqual([200, 200]);
      // One refresh after the other, the second with the cookie the first one set: both succeed,
      // where two at once with one cookie would have been reuse, and the session revoked.
      expect((await refreshesSeen()).slice(before)).toEqual([
        { origin: base, site: 'same-origin', cookie: true, status: 200 },
        { origin: base, site: 'same-origin', cookie: true, status: 200 },
      ]);
      expect(await Promise.all([callMe(a), callMe(b)])).toEqual([[{ status: 200, userId: 'user-1' }], [{ status: 200, userId: 'user-1' }]]);
      expect(await a.evaluate(() => auth.refresh())).toBe(true);
    });

    it('(control) without any lock, the same two tabs present one cookie twice: reuse, and the session is revoked', async () => {
      const context = await newContext(() => {
        delete (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel;
        Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
        Object.defineProperty(globalThis, 'localStorage', {
          get() {
            throw new Error('storage blocked');
          },
          configurable: true,
        });
      });
      const a = await openDemo(context);
      await logIn(a);
      const b = await openDemo(context);
      await waitForExpiry(b);
      const before = (await refreshesSeen()).length;
      const at = Date.now() + 300;
      await Promise.all(
        [a, b].map((page) =>
          page.evaluate(async (when) => {
            await new Promise((resolve) => setTimeout(resolve, when - Date.now()));
            await auth.fetch('/api/me');
          }, at),
        ),
      );
      const pair = (await refreshesSeen()).slice(before, before + 2);
      expect(pair.map((seen) => seen.status).sort()).toEqual([200, 401]);
      expect(await a.evaluate(() => auth.refresh())).toBe(false);
    });
  });

  it('logs out: the cookie is cleared, and a protected call then fails', async () => {
    const context = await newContext();
    const page = await openDemo(context);
    const token = await logIn(page);
    await page.click('#logout');
    // The page shows the answer of POST /auth/logout, then the login form again.
    await page.locator('#out', { hasText: 'logout -> 204' }).waitFor();
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(await page.evaluate(() => auth.accessToken)).toBeNull();
    expect(await refreshCookie(context)).toBeUndefined();

    const before = (await refreshesSeen()).length;
    expect(await page.evaluate(async () => (await auth.fetch('/api/me')).status)).toBe(401);
    // Signed out, the client does not even try to refresh; the old access token is denylisted.
    expect((await refreshesSeen()).slice(before)).toEqual([]);
    const withOldToken = await page.evaluate(async (old) => {
      const res = await fetch('/api/me', { headers: { authorization: `Bearer ${old}` } });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    }, token);
    expect(withOldToken).toEqual({ status: 401, error: 'invalid_token' });
    expect(await page.evaluate(() => auth.refresh())).toBe(false);
  });

  it('lets no page of another origin make the refresh endpoint rotate the token', async () => {
    const context = await newContext();
    const victim = await openDemo(context);
    await logIn(victim);
    const cookieBefore = (await refreshCookie(context))!.value;
    const before = (await refreshesSeen()).length;

    for (const attackerBase of [harness.crossSiteBase, harness.sameSiteBase]) {
      const attacker = await context.newPage();
      await attacker.goto(`${attackerBase}/`);
      // A script request (it cannot read the answer, but the request is sent)...
      await attacker.evaluate(async (url) => {
        await fetch(url, { method: 'POST', credentials: 'include', mode: 'no-cors' });
      }, `${base}/auth/refresh`);
      // ...and a form posted by a top-level navigation.
      await Promise.all([attacker.waitForURL(`${base}/auth/refresh`), attacker.evaluate(() => document.getElementById('csrf').submit())]);
      await attacker.close();
    }

    const seen = (await refreshesSeen()).slice(before);
    // Another site: the browser withholds the SameSite=Strict cookie, and the Origin check refuses
    // the request all the same (403 csrf_rejected), so its answer can set or clear no cookie.
    const crossSite = { origin: harness.crossSiteBase, site: 'cross-site', cookie: false, status: 403 };
    // Same site, other port: the cookie goes along, and the Origin check refuses it (403 csrf_rejected).
    const sameSite = { origin: harness.sameSiteBase, site: 'same-site', cookie: true, status: 403 };
    expect(seen).toEqual([crossSite, crossSite, sameSite, sameSite]);

    // Nothing rotated and nothing was revoked: the victim's cookie is the same and still works.
    expect((await refreshCookie(context))!.value).toBe(cookieBefore);
    expect(await victim.evaluate(() => auth.refresh())).toBe(true);
    expect((await refreshCookie(context))!.value).not.toBe(cookieBefore);
  });
});
