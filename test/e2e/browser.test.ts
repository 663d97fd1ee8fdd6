import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  launchChromium,
  logIn,
  openDemo as openDemoAt,
  refreshCookie as refreshCookieAt,
  startHarness,
  type Harness,
  type PageAuth,
} from './chromium';

/**
 * The basic example in Debian's Chromium, driven by playwright-core: the demo page and its
 * browser client against the example app (test/e2e/harness.mjs) with 3-second access tokens and
 * no grace window, so that only the client's coordination of the tabs can keep a session alive
 * (README "Several tabs"). test/e2e/reload.test.ts runs the default options.
 */

const ACCESS_TOKEN_TTL = 3;
/** Screenshots for a person to look at (not kept in the repository). */
const SCREENSHOTS = '/tmp';

declare const auth: PageAuth;
// The few DOM names the page functions use (this project compiles without the DOM library).
declare const document: {
  cookie: string;
  body: { dataset: Record<string, string | undefined> };
  getElementById(id: string): { submit(): void };
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};
declare const location: { hash: string };
declare const navigator: { locks?: unknown };
declare const Navigator: { prototype: object };

// Chromium on a shared, busy machine: a page's steps can take seconds.
jest.setTimeout(60_000);

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

/** The page with automatic refresh off: its token expires when idle, and the next call refreshes it. */
const openDemo = (context: BrowserContext) => openDemoAt(context, base, '/?autoRefresh=off');
/** The page as it comes (automatic refresh on). */
const openDefaultDemo = (context: BrowserContext) => openDemoAt(context, base);
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
    // The name the user typed, and the user id beside it.
    await page.locator('#who', { hasText: 'demo' }).waitFor();
    expect(await page.textContent('#uid')).toBe('user-1');
    expect(await page.textContent('#amr')).toBe('pwd');
    expect(await page.isVisible('#login')).toBe(false);
    expect(await callMe(page)).toEqual([{ status: 200, userId: 'user-1' }]);
    await page.waitForSelector('#sessions tr button');
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

  describe('with its default automatic refresh', () => {
    /** The refresh time of a 3-second token: a quarter of its lifetime before it expires. */
    const DUE_MS = (ACCESS_TOKEN_TTL * 1000 * 3) / 4;

    it('refreshes an idle page before its token expires, says so, and keeps "last used" current', async () => {
      const page = await openDefaultDemo(await newContext());
      await logIn(page);
      const before = (await refreshesSeen()).length;
      await page.waitForSelector('#sessions tr button');
      await page.screenshot({ path: `${SCREENSHOTS}/demo-after-login.png`, fullPage: true });
      // This page's row: sessions of other tests' pages are listed too.
      const row = `#sessions tr[data-session="${await page.evaluate(() => auth.claims!.sid as string)}"] .last-used`;
      const lastUsed = await page.textContent(row);

      // No call from the page: the timer alone refreshes, before the token expires, again and again.
      const countdowns: string[] = [];
      while ((await refreshesSeen()).length < before + 2) {
        countdowns.push((await page.textContent('#countdown'))!);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const seen = (await refreshesSeen()).slice(before);
      expect(new Set(seen.map((refresh) => JSON.stringify(refresh)))).toEqual(
        new Set([JSON.stringify({ origin: base, site: 'same-origin', cookie: true, status: 200 })]),
      );
      expect(countdowns.length).toBeGreaterThan(0);
      expect(countdowns.filter((text) => text.startsWith('expired'))).toEqual([]);
      await page.waitForFunction((n) => Number(document.querySelector('#refreshes')?.textContent) >= n, seen.length);
      // The page says when, and how long before expiry; the next refresh reads "now" while one is under way.
      expect(await page.textContent('#last-refresh')).toMatch(/last at [\d:]+, \d+\.\d s before the old token expired/);
      expect(await page.textContent('#log')).toMatch(/new access token: refreshed \d+\.\d s before expiry/);
      expect(await page.textContent('#next-refresh')).toMatch(/^refreshed automatically (in \d+\.\d s|now) \(at [\d:]+\)$/);
      // The sessions table was listed again after each refresh: "last used" moved on.
      await page.waitForFunction(([selector, old]) => document.querySelector(selector!)?.textContent !== old, [row, lastUsed]);
      await page.screenshot({ path: `${SCREENSHOTS}/demo-after-refresh.png`, fullPage: true });
    });

    it('makes one /refresh per token lifetime for three idle tabs, which all adopt the new token', async () => {
      const context = await newContext();
      const tabs = [await openDefaultDemo(context)];
      await logIn(tabs[0]!);
      tabs.push(await openDefaultDemo(context), await openDefaultDemo(context)); // each restores (one refresh each)
      const tokens = () => Promise.all(tabs.map((tab) => tab.evaluate(() => auth.accessToken)));
      await tabs[0]!.waitForFunction((token) => auth.accessToken === token, (await tokens())[2]);
      const before = (await refreshesSeen()).length;
      const shared = (await tokens())[0];
      await new Promise((resolve) => setTimeout(resolve, DUE_MS + 1000));
      expect((await refreshesSeen()).slice(before)).toEqual([{ origin: base, site: 'same-origin', cookie: true, status: 200 }]);
      const after = await tokens();
      expect(after[0]).not.toBe(shared);
      expect(after).toEqual([after[0], after[0], after[0]]);
    });

    it('stops refreshing after logout: no timer left', async () => {
      const page = await openDefaultDemo(await newContext());
      await logIn(page);
      await page.click('#logout');
      await page.locator('#login').waitFor({ state: 'visible' });
      const before = (await refreshesSeen()).length;
      await new Promise((resolve) => setTimeout(resolve, DUE_MS + 1000));
      expect((await refreshesSeen()).slice(before)).toEqual([]);
    });
  });

  describe('the page', () => {
    it("shows the server's message when the password is wrong", async () => {
      const page = await openDefaultDemo(await newContext());
      await page.fill('#login [name=password]', 'wrong');
      await page.click('#login button');
      await page.locator('#out', { hasText: 'login -> 401' }).waitFor();
      expect(JSON.parse((await page.textContent('#out'))!.split('\n').slice(1).join('\n'))).toEqual({
        error: 'invalid_credentials',
        message: 'The username or password is wrong.',
      });
    });

    it('tells the sessions of one user apart by the end of their ids', async () => {
      const pages = [await openDefaultDemo(await newContext()), await openDefaultDemo(await newContext())];
      for (const page of pages) await logIn(page);
      const page = pages[1]!;
      await page.click('#reload-sessions');
      // Other tests' sessions of the same user are there too: every row tells itself apart.
      await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length >= 2);
      const shown = await page.$$eval('#sessions tr', (rows) =>
        rows.map((row) => [row.querySelector('td')!.textContent, row.querySelector('td')!.getAttribute('title')]),
      );
      const sid = await page.evaluate(() => auth.claims!.sid as string);
      expect(shown.map(([text]) => text)).toEqual(shown.map(([, id]) => `…${id!.slice(-8)}`));
      expect(new Set(shown.map(([text]) => text)).size).toBe(shown.length);
      expect(new Set(shown.map(([, id]) => id!.slice(0, 8))).size).toBe(1); // what the ids share
      expect(await page.textContent('#sid')).toBe(`…${sid.slice(-8)}`);
    });

    it('signs up a new user, who is then signed in with the name typed', async () => {
      const page = await openDefaultDemo(await newContext());
      const name = `user${Date.now()}`;
      await page.fill('#signup [name=username]', name);
      await page.fill('#signup [name=password]', 'a long password');
      await page.click('#signup button');
      await page.locator('#who', { hasText: name }).waitFor();
      expect(await page.textContent('#amr')).toBe('pwd');
      expect(await callMe(page)).toEqual([{ status: 200, userId: expect.stringMatching(/^user-\d+$/) }]);
    });

    it('signs in with a one-time link, once', async () => {
      const page = await openDefaultDemo(await newContext());
      await page.click('#magic button');
      const link = await page.locator('#magic-link a').getAttribute('href');
      expect(link).toMatch(/\/#magic-link=[\w-]{43}$/);
      await page.click('#magic-link a');
      await page.locator('#who', { hasText: 'demo' }).waitFor();
      expect(await page.textContent('#amr')).toBe('otp');
      expect(await page.evaluate(() => location.hash)).toBe(''); // off the address bar

      // The same link, opened again in another browser: spent.
      const other = await (await newContext()).newPage();
      await other.goto(link!);
      await other.locator('#out', { hasText: 'magic link -> 400' }).waitFor();
      expect(await other.textContent('#out')).toContain('This sign-in link is unknown, used or expired');
      expect(await other.evaluate(() => auth.accessToken)).toBeNull();
    });
  });
});
