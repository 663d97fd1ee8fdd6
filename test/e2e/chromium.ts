import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * What the browser tests share: the server (test/e2e/harness.mjs, the basic example's app with
 * short access tokens), Debian's Chromium driven by playwright-core, and the demo page's steps.
 * Needs `npm run build` first (`npm test` does it): the page loads the built client.
 */

const CHROMIUM = '/usr/bin/chromium';
const root = join(__dirname, '..', '..');

// What the page's script sees: `window.auth` is the demo's client.
export type PageAuth = {
  accessToken: string | null;
  claims: Record<string, unknown> | null;
  expiresAt: Date | null;
  fetch(input: string, init?: RequestInit): Promise<Response>;
  refresh(): Promise<boolean>;
};
declare const auth: PageAuth;
declare const document: { body: { dataset: Record<string, string | undefined> } };

export interface RefreshSeen {
  origin: string | null;
  site: string | null;
  cookie: boolean;
  status: number | null;
}

/** What the store decided for each rotation since the server started. */
export interface Rotations {
  rotated: number;
  retried: number;
  reused: number;
  invalid: number;
  /** For each retry inside the grace window: how long after the rotation it came (ms). */
  retryGapsMs: number[];
}

export interface Harness {
  base: string;
  /** Another site: http://127.0.0.2 (for an IP address the site is the whole address). */
  crossSiteBase: string;
  /** Another origin on the same site: 127.0.0.1 on another port. */
  sameSiteBase: string;
  refreshes(): Promise<RefreshSeen[]>;
  rotations(): Promise<Rotations>;
  /** Holds every POST /auth/refresh this long before the app sees it. */
  setRefreshDelay(ms: number): Promise<void>;
  stop(): void;
}

/** Starts the server with these access-token lifetime and grace window (default: the library's). */
export async function startHarness(accessTokenTtl: number, reuseGraceSeconds?: number): Promise<Harness> {
  if (!existsSync(join(root, 'dist', 'esm', 'client', 'index.js')))
    throw new Error('run `npm run build` first: the demo page loads dist/esm/client');
  const child = spawn(process.execPath, [join(__dirname, 'harness.mjs')], {
    cwd: root,
    env: {
      ...process.env,
      E2E_ACCESS_TOKEN_TTL: String(accessTokenTtl),
      E2E_REUSE_GRACE_SECONDS: reuseGraceSeconds === undefined ? '' : String(reuseGraceSeconds),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its stderr (the demo's "reuse detected" warning, which some tests provoke) is shown only if
  // it fails to start.
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [line] = (await Promise.race([
    new Promise((resolve) => createInterface({ input: child.stdout! }).once('line', (text) => resolve([text]))),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`harness exited with ${code}: ${stderr}`)))),
  ])) as [string];
  const ports = JSON.parse(line) as { port: number; crossSitePort: number; sameSitePort: number };
  const base = `http://127.0.0.1:${ports.port}`;
  const get = async <T>(path: string) => (await (await fetch(base + path)).json()) as T;
  return {
    base,
    crossSiteBase: `http://127.0.0.2:${ports.crossSitePort}`,
    sameSiteBase: `http://127.0.0.1:${ports.sameSitePort}`,
    refreshes: () => get<RefreshSeen[]>('/__e2e/refreshes'),
    rotations: () => get<Rotations>('/__e2e/rotations'),
    async setRefreshDelay(ms) {
      const res = await fetch(`${base}/__e2e/refresh-delay/${ms}`, { method: 'PUT' });
      if (res.status !== 204) throw new Error(`refresh-delay: ${res.status}`);
    },
    stop: () => child.kill('SIGTERM'),
  };
}

/**
 * launch() gives the browser a fresh, temporary user-data-dir (and removes it on close); each
 * test takes its own context: no cookie, cache or storage from anything before.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Opens the demo page and waits until it has tried to restore a session. `path`: `'/?autoRefresh=off'`
 * for a page whose token expires when idle, refreshed by the next call.
 */
export async function openDemo(context: BrowserContext, base: string, path = '/'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(base + path);
  await waitUntilReady(page);
  return page;
}

export async function waitUntilReady(page: Page, timeout?: number): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout });
}

/** Logs in through the page's form, as a person would. */
export async function logIn(page: Page): Promise<string> {
  await page.click('#login button');
  await page.waitForFunction(() => auth.accessToken !== null);
  return page.evaluate(() => auth.accessToken!);
}

export async function refreshCookie(context: BrowserContext, base: string) {
  return (await context.cookies(`${base}/auth/refresh`)).find((cookie) => cookie.name === 'refresh_token');
}
