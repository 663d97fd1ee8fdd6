import type { Browser, BrowserContext, Page, Request as PageRequest } from 'playwright-core';
import { launchChromium, logIn, openDemo, refreshCookie, startHarness, waitUntilReady, type Harness, type PageAuth } from './chromium';

/**
 * Tabs reloaded or closed while their refresh is in flight, in Debian's Chromium, with the
 * library's and the client's default options (README "Several tabs"): the server may rotate a
 * token whose answer the page never reads.
 */

const ACCESS_TOKEN_TTL = 2;

declare const auth: PageAuth;
declare const window: {
  setInterval(run: () => void, ms: number): void;
  fetch(input: Request, init?: RequestInit): Promise<Response>;
};
declare const document: { body: { dataset: Record<string, string | undefined> } | null };

let harness: Harness;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  harness = await startHarness(ACCESS_TOKEN_TTL);
  browser = await launchChromium();
}, 30_000);

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  await harness.setRefreshDelay(0);
});

afterAll(async () => {
  await browser?.close();
  harness?.stop();
});

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  contexts.push(context);
  return context;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('a refresh whose page goes away, in Chromium (what the client builds on)', () => {
  it("stores the answer's new cookie after the page closed or left when the fetch has keepalive, and loses it without", async () => {
    const context = await newContext();
    // Long enough that the page is gone before the answer is written, however busy the machine.
    await harness.setRefreshDelay(1500);
    const cookie = async () => (await refreshCookie(context, harness.base))?.value;
    const leaves = { closed: (page: Page) => page.close(), 'navigated away': (page: Page) => page.goto(`${harness.crossSiteBase}/`) };
    const stored: Record<string, boolean> = {};
    for (const [how, leave] of Object.entries(leaves)) {
      for (const keepalive of [true, false]) {
        // The page sends POST /auth/refresh itself and goes away while the server holds it; the
        // server then rotates and answers with the new cookie. Does the browser store it?
        // Automatic refresh off: no refresh but this test's own may change the cookie meanwhile.
        const page = await openDemo(context, harness.base, '/?autoRefresh=off');
        if (!(await page.evaluate(() => auth.accessToken))) await logIn(page);
        const before = await cookie();
        const n = (await harness.refreshes()).length;
        await page.evaluate(
          (k) => void fetch('/auth/refresh', { method: 'POST', credentials: 'include', keepalive: k }).catch(() => undefined),
          keepalive,
        );
        await until(async () => (await harness.refreshes()).length > n, 'the refresh to arrive');
        await leave(page);
        await until(async () => (await harness.refreshes())[n]!.status !== null, 'the server to answer');
        expect((await harness.refreshes())[n]!.status).toBe(200);
        const deadline = Date.now() + 1500; // the answer is written: give the browser ample time
        while ((await cookie()) === before && Date.now() < deadline) await sleep(50);
        stored[`${how}, keepalive: ${keepalive}`] = (await cookie()) !== before;
      }
    }
    expect(stored).toEqual({
      'closed, keepalive: true': true,
      'closed, keepalive: false': false,
      'navigated away, keepalive: true': true,
      'navigated away, keepalive: false': false,
    });
  }, 60_000);
});

describe('tabs reloaded or closed while their refresh is in flight', () => {
  const TABS = 5;
  const REFRESH_DELAY_MS = 200;
  const CHURN_LIMIT_MS = 15_000;
  const MIN_ACTIONS = 3; // within CHURN_LIMIT_MS, even on a busy machine

  // Every page calls the API through the client every 250 ms, and so refreshes when due.
  function callApiInALoop(): void {
    window.setInterval(() => {
      if (document.body?.dataset.ready === 'true' && auth.accessToken) auth.fetch('/api/me').catch(() => undefined);
    }, 250);
  }

  // A browser that drops the answer of a request whose page went away (as Chromium does without
  // keepalive, and browsers that do not keep keepalive requests): only the grace window helps.
  function dropKeepalive(): void {
    const send = window.fetch;
    window.fetch = (input, init) => send(new Request(input, { ...init, keepalive: false }));
  }

  // `wanted`: how many reloads and closes, each aimed at a tab whose /refresh the server holds.
  it.each([
    ['in Chromium as it is (the refresh outlives its page)', false, 9],
    ['where the answer dies with its page (no keepalive): the grace window covers it', true, 6],
  ])(
    'with the default options, nobody is logged out, %s',
    async (_, withoutKeepalive, wanted) => {
      const t0 = Date.now();
      const context = await newContext();
      await context.addInitScript(callApiInALoop);
      if (withoutKeepalive) await context.addInitScript(dropKeepalive);
      await harness.setRefreshDelay(REFRESH_DELAY_MS);
      const pages: Page[] = [await openDemo(context, harness.base)];
      await logIn(pages[0]!);
      while (pages.length < TABS) pages.push(await openDemo(context, harness.base));
      const before = await harness.rotations();
      const refreshesBefore = (await harness.refreshes()).length;

      // Each /refresh a tab sends, while the server holds it, makes that tab reload (or, every
      // third time, close, and a new tab open), until `wanted` of them have happened. Where answers
      // die with their page, every other refresh is spared: a chain of lost answers all presents
      // the first rotated token, and would outlast any grace window.
      let actions = 0;
      let spare = false;
      const aimed = new Set<Page>();
      const pending: Array<Promise<unknown>> = [];
      const aim = (request: PageRequest) => {
        if (request.method() !== 'POST' || new URL(request.url()).pathname !== '/auth/refresh' || actions >= wanted) return;
        const page = request.frame().page();
        if (aimed.has(page) || !pages.includes(page)) return;
        if (spare) return void (spare = false);
        spare = withoutKeepalive;
        aimed.add(page);
        const action = ++actions;
        const act = async () => {
          await sleep(40 + ((action * 37) % 120)); // 40-160 ms: the server holds the request 200 ms
          if (action % 3 === 0) {
            pages.splice(pages.indexOf(page), 1);
            await page.close();
            pages.push(await openDemo(context, harness.base));
          } else {
            await page.reload({ waitUntil: 'commit' });
          }
        };
        pending.push(act().finally(() => aimed.delete(page)));
      };
      context.on('request', aim);
      const started = Date.now();
      while (actions < wanted && Date.now() - started < CHURN_LIMIT_MS) await sleep(100);
      const churned = Date.now();
      context.off('request', aim);
      await Promise.all(pending);
      for (const page of pages) await waitUntilReady(page, 15_000);

      // Nobody was logged out: the server saw no reuse and refused no refresh...
      const rotations = await harness.rotations();
      expect(rotations.reused - before.reused).toBe(0);
      expect((await harness.refreshes()).slice(refreshesBefore).filter((seen) => seen.status === 401)).toEqual([]);
      // ...and every tab still holds the session.
      const states = await Promise.all(
        pages.map((page) =>
          page.evaluate(async () => ({
            signedIn: auth.accessToken !== null,
            refreshed: await auth.refresh(),
            status: (await auth.fetch('/api/me')).status,
          })),
        ),
      );
      expect(states).toEqual(Array(TABS).fill({ signedIn: true, refreshed: true, status: 200 }));
      expect(actions).toBeGreaterThanOrEqual(MIN_ACTIONS);
      // Without keepalive the reloads did cut answers off: some tab then presented the token just
      // rotated, and the grace window gave it the same successor.
      if (withoutKeepalive) expect(rotations.retried - before.retried).toBeGreaterThan(0);
      const gaps = rotations.retryGapsMs.slice(before.retryGapsMs.length);
      console.log(
        `${((Date.now() - t0) / 1000).toFixed(1)} s, churn ${((churned - started) / 1000).toFixed(1)} s, ${actions} actions; ${withoutKeepalive ? 'without' : 'with'} keepalive: ${rotations.rotated - before.rotated} rotations, ${gaps.length} grace retries (${gaps.join(', ')} ms after the rotation)`,
      );
    },
    90_000,
  );
});
