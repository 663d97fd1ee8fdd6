import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import express from 'express';
import {
  AuthClientError,
  createAuthClient,
  type AuthClientErrorCode,
  type AuthClientOptions,
  type SessionInfo,
  type SessionsResponse,
  type TokenStorage,
} from '../../src/client/index.js';
import { MemoryTokenStore, type AuthErrorCode, type RefreshTokenStore, type SessionInfo as ServerSessionInfo } from '../../src/index.js';
import { makeApp, PASSWORD, SECRET, type TestApp } from '../helpers/app.js';

/**
 * The client against a real server on a loopback port, through Node's global fetch: the app of
 * test/helpers (the router at /auth, /me with revocation checks, an injected server clock) behind
 * a middleware that counts what arrives.
 */

const MINUTE = 60_000;

interface Harness {
  t: TestApp;
  base: string;
  /** Requests received, by `METHOD /path`. */
  hits: Record<string, number>;
  /** Status of every POST /auth/refresh, in order of answer. */
  refreshes: number[];
  /** Make the store fail every rotation (a 503 from /refresh). */
  storeDown: { value: boolean };
}

const servers: Server[] = [];
const stores: MemoryTokenStore[] = [];

async function listen(app: express.Express): Promise<{ server: Server; base: string }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function startServer(): Promise<Harness> {
  const storeDown = { value: false };
  const memory = new MemoryTokenStore();
  const store = new Proxy(memory, {
    get(target, property, receiver) {
      if (property === 'rotate')
        return (...args: Parameters<RefreshTokenStore['rotate']>) =>
          storeDown.value ? Promise.reject(new Error('store down')) : target.rotate(...args);
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const t = await makeApp({ store, refreshToken: { transport: 'body' } });
  const hits: Record<string, number> = {};
  const refreshes: number[] = [];
  const app = express();
  app.use((req, res, next) => {
    const key = `${req.method} ${req.path}`;
    hits[key] = (hits[key] ?? 0) + 1;
    if (key === 'POST /auth/refresh') res.on('finish', () => refreshes.push(res.statusCode));
    next();
  });
  // Refuses every token, as a server whose key changed would.
  app.get('/always-invalid', (_req, res) => {
    res.status(401).json({ error: 'invalid_token', message: 'no' });
  });
  app.get('/other-401', (_req, res) => {
    res.status(401).json({ error: 'missing_token', message: 'no' });
  });
  // Echoes the body of an authenticated POST.
  app.post('/echo', t.auth.requireAccessToken(), express.text({ type: '*/*' }), (req, res) => {
    res.json({ body: req.body, userId: req.auth!.userId });
  });
  // Step-up (README "Step-up for sensitive routes"): a sign-in older than 5 minutes is refused.
  app.get('/recent-sign-in', t.auth.requireAccessToken({ maxAuthAge: '5m' }), (req, res) => {
    res.json({ userId: req.auth!.userId });
  });
  app.use(t.app);
  const { base } = await listen(app);
  stores.push(memory);
  return { t, base, hits, refreshes, storeDown };
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

function client(h: Harness, options: AuthClientOptions = {}) {
  const expired = jest.fn();
  const auth = createAuthClient({ baseUrl: h.base, transport: 'body', onSessionExpired: expired, ...options });
  return { auth, expired };
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

/** Moves the server's clock past the access token's 15 minutes (the refresh token lives 14 days). */
function expireOnServer(h: Harness): void {
  h.t.clock.now += 16 * MINUTE;
}

describe('createAuthClient (Node, against a real server)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startServer();
  });

  describe('login()', () => {
    it('resolves to the claims and keeps the access token in memory; fetch() sends it as Bearer', async () => {
      const { auth } = client(h);
      const claims = await auth.login('alice', PASSWORD);
      expect(claims).toMatchObject({ sub: 'u-alice', sid: expect.any(String), roles: ['admin'], scope: 'read write' });
      expect(auth.accessToken).toMatch(/^ey/);
      expect(auth.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 14 * MINUTE);
      const res = await auth.fetch('/me');
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ userId: 'u-alice', sessionId: claims.sid });
    });

    it('rejects with an AuthClientError carrying the server code and status', async () => {
      const { auth } = client(h);
      const error = await auth.login('alice', 'wrong').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthClientError);
      expect(error).toMatchObject({ code: 'invalid_credentials', status: 401 });
      expect(auth.accessToken).toBeNull();
    });

    it('rejects a throttled login with too_many_attempts and retryAfter in seconds, from Retry-After', async () => {
      const { auth } = client(h);
      const username = `throttled-${Math.random()}`;
      for (let i = 0; i < 5; i++)
        await expect(auth.login(username, 'wrong')).rejects.toMatchObject({ code: 'invalid_credentials', retryAfter: undefined });
      const error = await auth.login(username, 'wrong').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthClientError);
      expect(error).toMatchObject({ code: 'too_many_attempts', status: 429, retryAfter: 900 });
      expect(auth.accessToken).toBeNull();
    });
  });

  describe('proactive refresh', () => {
    it.each([
      // 15-minute tokens: 30 s before expiry by default; a leeway over a quarter of the lifetime is capped.
      [undefined, 14.4, 14.6],
      [60, 13.9, 14.1],
      [600, 11.1, 11.4],
    ])('with refreshLeewaySeconds %p, does not refresh at %p minutes and does at %p', async (leeway, before, after) => {
      const clock = { now: Date.now() };
      const start = clock.now;
      const { auth } = client(h, { now: () => clock.now, refreshLeewaySeconds: leeway });
      await auth.login('alice', PASSWORD);
      clock.now = start + before * MINUTE;
      expect((await auth.fetch('/me')).status).toBe(200);
      expect(h.refreshes).toEqual([]);
      clock.now = start + after * MINUTE;
      expect((await auth.fetch('/me')).status).toBe(200);
      expect(h.refreshes).toEqual([200]);
    });
  });

  describe('autoRefresh', () => {
    /** A server whose access tokens live 2 s: the client's timer is due after 1.5 s (a quarter before expiry). */
    async function shortLived(transport: 'cookie' | 'body' = 'body') {
      const t = await makeApp({ accessToken: { secret: SECRET, expiresIn: 2 }, refreshToken: { transport } });
      const refreshes: number[] = [];
      const app = express();
      app.use((req, res, next) => {
        if (req.method === 'POST' && req.path === '/auth/refresh') res.on('finish', () => refreshes.push(res.statusCode));
        next();
      });
      app.use(t.app);
      stores.push(t.store as MemoryTokenStore);
      return { t, refreshes, base: (await listen(app)).base };
    }
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it('is off by default outside browsers: an idle client does not refresh', async () => {
      const s = await shortLived();
      const auth = createAuthClient({ baseUrl: s.base, transport: 'body' });
      await auth.login('alice', PASSWORD);
      await sleep(1800);
      expect(s.refreshes).toEqual([]);
    });

    it('refreshes an idle session shortly before its token expires, again and again, and stops when the session ends', async () => {
      const s = await shortLived();
      const auth = createAuthClient({ baseUrl: s.base, transport: 'body', autoRefresh: true });
      await auth.login('alice', PASSWORD);
      const first = auth.accessToken;
      await sleep(1700);
      expect(s.refreshes).toEqual([200]);
      expect(auth.accessToken).not.toBe(first);
      expect(auth.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 1000);
      await sleep(1500);
      expect(s.refreshes).toEqual([200, 200]);
      await auth.logout();
      await sleep(1800);
      expect(s.refreshes).toEqual([200, 200]); // no timer left behind
    });

    it('stops with stop(), keeping the session', async () => {
      const s = await shortLived();
      const auth = createAuthClient({ baseUrl: s.base, transport: 'body', autoRefresh: true });
      await auth.login('alice', PASSWORD);
      auth.stop();
      await sleep(1800);
      expect(s.refreshes).toEqual([]);
      expect(await auth.refresh()).toBe(true);
      expect(s.refreshes).toEqual([200]);
    });

    // Tabs sharing one timed refresh: test/e2e/browser.test.ts (the Web Locks API is the browser's).
  });

  describe('transport', () => {
    it('refuses a mismatch before logging in: transport_mismatch, and no session on the server', async () => {
      const { auth } = client(h, { transport: 'cookie' }); // the server sends the refresh token in the body
      const error = await auth.login('alice', PASSWORD).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthClientError);
      expect(error).toMatchObject({ code: 'transport_mismatch', status: 400 });
      expect(auth.accessToken).toBeNull();
      expect(await h.t.auth.listSessions('u-alice')).toEqual([]);
    });
  });

  describe('single flight', () => {
    it('50 concurrent calls with a token due for refresh make exactly one /refresh', async () => {
      const clock = { now: Date.now() };
      const { auth } = client(h, { now: () => clock.now });
      await auth.login('alice', PASSWORD);
      clock.now += 15 * MINUTE; // the client's clock: the token is due
      const results = await Promise.all(Array.from({ length: 50 }, () => auth.fetch('/me')));
      expect(results.map((res) => res.status)).toEqual(Array(50).fill(200));
      expect(h.refreshes).toEqual([200]);
      expect(h.hits['GET /me']).toBe(50); // refreshed before sending: no 401, no replay
    });

    it('50 concurrent calls answered 401 invalid_token make exactly one /refresh, and each is replayed once', async () => {
      const { auth, expired } = client(h);
      await auth.login('alice', PASSWORD);
      const first = auth.accessToken;
      expireOnServer(h); // the server's clock: the token has expired, the client does not know
      const results = await Promise.all(Array.from({ length: 50 }, () => auth.fetch('/me')));
      expect(results.map((res) => res.status)).toEqual(Array(50).fill(200));
      expect(h.refreshes).toEqual([200]);
      expect(h.hits['GET /me']).toBe(100);
      expect(auth.accessToken).not.toBe(first);
      expect(expired).not.toHaveBeenCalled();
    });
  });

  describe('replay', () => {
    it('replays once, not twice: a second 401 is returned as it is', async () => {
      const { auth, expired } = client(h);
      await auth.login('alice', PASSWORD);
      const res = await auth.fetch('/always-invalid');
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({ error: 'invalid_token', message: 'no' });
      expect(h.hits['GET /always-invalid']).toBe(2);
      expect(h.refreshes).toEqual([200]);
      expect(expired).not.toHaveBeenCalled();
      expect(auth.accessToken).not.toBeNull();
    });

    it('neither refreshes nor replays on a 401 other than invalid_token, nor on a 403', async () => {
      const { auth } = client(h);
      await auth.login('bob', PASSWORD);
      expect((await auth.fetch('/other-401')).status).toBe(401);
      expect((await auth.fetch('/admin')).status).toBe(403);
      expect(h.hits['GET /other-401']).toBe(1);
      expect(h.hits['GET /admin']).toBe(1);
      expect(h.refreshes).toEqual([]);
    });

    it('hands back a 401 insufficient_user_authentication (step-up) without refreshing: a new login() passes', async () => {
      const { auth, expired } = client(h);
      await auth.login('alice', PASSWORD);
      expect((await auth.fetch('/recent-sign-in')).status).toBe(200);
      h.t.clock.now += 6 * MINUTE; // the sign-in is 6 minutes old; the access token lives 15
      const res = await auth.fetch('/recent-sign-in');
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="insufficient_user_authentication", max_age=300');
      expect(await json(res)).toMatchObject({ error: 'insufficient_user_authentication' });
      expect(h.hits['GET /recent-sign-in']).toBe(2);
      expect(h.hits['POST /auth/refresh']).toBeUndefined();
      expect(expired).not.toHaveBeenCalled();
      expect(auth.accessToken).not.toBeNull(); // the session goes on for every other route
      await auth.login('alice', PASSWORD);
      expect((await auth.fetch('/recent-sign-in')).status).toBe(200);
      expect(h.hits['POST /auth/refresh']).toBeUndefined();
    });

    it('replays a request whose body is a stream, with the same body', async () => {
      const { auth } = client(h);
      await auth.login('alice', PASSWORD);
      expireOnServer(h);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('streamed '));
          controller.enqueue(new TextEncoder().encode('body'));
          controller.close();
        },
      });
      const res = await auth.fetch('/echo', {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain' },
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ body: 'streamed body', userId: 'u-alice' });
      expect(h.hits['POST /echo']).toBe(2);
      expect(h.refreshes).toEqual([200]);
    });
  });

  describe('when the session ends elsewhere', () => {
    it('calls onSessionExpired once and returns the 401 when the refresh is refused (logout-all from another client)', async () => {
      const a = client(h);
      const b = client(h);
      await a.auth.login('alice', PASSWORD);
      await b.auth.login('alice', PASSWORD);
      await b.auth.logoutAll();
      expect(b.auth.accessToken).toBeNull();

      const results = await Promise.all(Array.from({ length: 5 }, () => a.auth.fetch('/me')));
      for (const res of results) {
        expect(res.status).toBe(401);
        expect(await json(res)).toMatchObject({ error: 'invalid_token' });
      }
      expect(h.refreshes).toEqual([401]);
      expect(a.expired).toHaveBeenCalledTimes(1);
      expect(a.auth.accessToken).toBeNull();

      // Signed out: no more refresh attempts, the request goes without a token.
      const after = await a.auth.fetch('/me');
      expect(await json(after)).toMatchObject({ error: 'missing_token' });
      expect(h.refreshes).toEqual([401]);
      expect(a.expired).toHaveBeenCalledTimes(1);
      expect(b.expired).not.toHaveBeenCalled();
    });

    it('keeps the session when the refresh fails for another reason (503), and refreshes once the store is back', async () => {
      const { auth, expired } = client(h);
      await auth.login('alice', PASSWORD);
      expireOnServer(h);
      h.storeDown.value = true;
      expect((await auth.fetch('/me')).status).toBe(401);
      await expect(auth.refresh()).rejects.toMatchObject({ code: 'store_unavailable', status: 503 });
      expect(expired).not.toHaveBeenCalled();
      expect(auth.accessToken).not.toBeNull();

      h.storeDown.value = false;
      expect((await auth.fetch('/me')).status).toBe(200);
      expect(h.refreshes).toEqual([503, 503, 200]);
    });
  });

  describe('body transport with a custom storage', () => {
    function asyncStorage() {
      const values = new Map<string, string>();
      const calls: string[] = [];
      const storage: TokenStorage = {
        get: async () => (calls.push('get'), values.get('rt')),
        set: async (token) => void (calls.push('set'), values.set('rt', token)),
        delete: async () => void (calls.push('delete'), values.delete('rt')),
      };
      return { storage, values, calls };
    }

    it('keeps the rotating refresh token in the storage, restores the session from it, and deletes it on logout', async () => {
      const { storage, values, calls } = asyncStorage();
      const first = client(h, { storage });
      await first.auth.login('alice', PASSWORD);
      const t1 = values.get('rt');
      expect(t1).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(await first.auth.refresh()).toBe(true);
      const t2 = values.get('rt');
      expect(t2).not.toBe(t1);

      // A new process with the same storage: the first call restores the session.
      const second = client(h, { storage });
      expect(second.auth.accessToken).toBeNull();
      expect((await second.auth.fetch('/me')).status).toBe(200);
      const t3 = values.get('rt');
      expect(t3).not.toBe(t2);
      expect(h.refreshes).toEqual([200, 200]);

      await second.auth.logout();
      expect(values.has('rt')).toBe(false);
      expect(calls.at(-1)).toBe('delete');
      const refused = await fetch(`${h.base}/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: t3 }),
      });
      expect(refused.status).toBe(401);
      expect(second.expired).not.toHaveBeenCalled();
    });

    it('refresh() with nothing stored resolves false, without a request and without onSessionExpired', async () => {
      const { storage } = asyncStorage();
      const { auth, expired } = client(h, { storage });
      expect(await auth.refresh()).toBe(false);
      expect(h.refreshes).toEqual([]);
      expect(expired).not.toHaveBeenCalled();
      const res = await auth.fetch('/me');
      expect(await json(res)).toMatchObject({ error: 'missing_token' });
    });
  });

  describe('sessions() and revokeSession()', () => {
    it('lists the sessions, revokes another one, answers not_found for a stranger, and signs out on its own', async () => {
      const a = client(h);
      const b = client(h);
      const mine = await a.auth.login('alice', PASSWORD);
      const other = await b.auth.login('alice', PASSWORD);
      const sessions = await a.auth.sessions();
      // The raw GET /sessions answer has the shape sessions() unwraps, field for field.
      const raw = (await (await a.auth.fetch('/auth/sessions')).json()) as SessionsResponse;
      expect(raw.sessions.map((s) => Object.keys(s).sort())).toEqual(sessions.map((s) => Object.keys(s).sort()));
      expect(Object.keys(sessions[0]!).sort()).toEqual(['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent']);
      expect(sessions.map((s) => [s.id, s.current]).sort()).toEqual(
        [
          [mine.sid, true],
          [other.sid, false],
        ].sort(),
      );

      await a.auth.revokeSession(other.sid);
      expect((await b.auth.fetch('/me')).status).toBe(401);
      expect(b.expired).toHaveBeenCalledTimes(1);

      await expect(a.auth.revokeSession('no-such-session')).rejects.toMatchObject({ code: 'not_found', status: 404 });
      await a.auth.revokeSession(mine.sid);
      expect(a.auth.accessToken).toBeNull();
      expect(a.expired).not.toHaveBeenCalled();
    });
  });

  describe('fetch()', () => {
    it('sends the access token to the origin of baseUrl only', async () => {
      const echo = express().get('/headers', (req, res) => {
        res.json({ authorization: req.get('authorization') ?? null });
      });
      const elsewhere = await listen(echo);
      const { auth } = client(h);
      await auth.login('alice', PASSWORD);
      const res = await auth.fetch(`${elsewhere.base}/headers`);
      expect(await json(res)).toEqual({ authorization: null });
    });

    it('uses the given fetch, with one Request per attempt', async () => {
      const seen: string[] = [];
      const { auth } = client(h, {
        fetch: (request) => {
          seen.push(`${request.method} ${new URL(request.url).pathname} ${request.headers.has('authorization')}`);
          return fetch(request);
        },
      });
      await auth.login('alice', PASSWORD);
      expireOnServer(h);
      expect((await auth.fetch('/me')).status).toBe(200);
      expect(seen).toEqual(['POST /auth/login false', 'GET /me true', 'POST /auth/refresh false', 'GET /me true']);
    });
  });

  it('refuses a baseUrl that is not an http(s) URL outside browsers', () => {
    expect(() => createAuthClient()).toThrow(/baseUrl/);
    expect(() => createAuthClient({ baseUrl: 'api.example.com' })).toThrow(/baseUrl/);
  });

  describe('authPath', () => {
    it.each(['.evil.com/auth', '@evil.com/auth', ':8443/auth', 'auth', '', 42])(
      'refuses %p at creation: the password, the cookie and the Bearer header would go to another host',
      (authPath) => {
        const sent: string[] = [];
        const create = () =>
          createAuthClient({
            baseUrl: 'https://api.example.com',
            authPath: authPath as string,
            fetch: async (request) => (sent.push(request.url), new Response(null, { status: 500 })),
          });
        expect(create).toThrow(TypeError);
        expect(create).toThrow(/authPath/);
        expect(sent).toEqual([]);
      },
    );

    it("is appended to baseUrl's path, and every auth call goes to baseUrl's origin", async () => {
      const sent: string[] = [];
      const api = createAuthClient({
        baseUrl: `${h.base}/`,
        authPath: '/auth/',
        transport: 'body',
        fetch: (request) => (sent.push(`${new URL(request.url).origin} ${new URL(request.url).pathname}`), fetch(request)),
      });
      await api.login('alice', PASSWORD);
      await api.refresh();
      await api.sessions();
      await api.logout();
      expect(sent).toEqual([`${h.base} /auth/login`, `${h.base} /auth/refresh`, `${h.base} /auth/sessions`, `${h.base} /auth/logout`]);
    });
  });

  describe('a refresh cut off (a page reloaded or closed, the network gone)', () => {
    it('is sent with keepalive under cookie transport, so that the browser stores the new cookie even if the page goes away', async () => {
      const sent: string[] = [];
      const record = (request: Request) => (sent.push(`${new URL(request.url).pathname} keepalive=${request.keepalive}`), fetch(request));
      const cookieClient = createAuthClient({ baseUrl: h.base, fetch: record });
      // This server sends the token in the body: the login is refused (transport_mismatch), and the refresh has no cookie.
      await expect(cookieClient.login('alice', PASSWORD)).rejects.toMatchObject({ code: 'transport_mismatch' });
      await cookieClient.refresh();
      const bodyClient = createAuthClient({ baseUrl: h.base, transport: 'body', fetch: record });
      await bodyClient.login('alice', PASSWORD);
      await bodyClient.refresh();
      // Body transport: the token in a lost answer dies with the page anyway.
      expect(sent).toEqual([
        '/auth/login keepalive=false',
        '/auth/refresh keepalive=true',
        '/auth/login keepalive=false',
        '/auth/refresh keepalive=false',
      ]);
    });

    it('is never announced to the other tabs as done: no `idle` after a failed refresh', async () => {
      const heard: string[] = [];
      const channel = new BroadcastChannel(`express-refresh-tokens ${h.base}/auth`);
      channel.onmessage = (event: MessageEvent) => void heard.push((event.data as { t: string }).t);
      const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
      let offline = false;
      const { auth } = client(h, {
        shareAcrossTabs: true,
        fetch: (request) => (offline ? Promise.reject(new TypeError('fetch failed')) : fetch(request)),
      });
      try {
        await auth.login('alice', PASSWORD);
        await settle();
        expect(heard).toEqual(['token', 'idle']);

        h.storeDown.value = true; // 503: nothing rotated, but the tab cannot tell that from a lost answer in general
        await expect(auth.refresh()).rejects.toMatchObject({ code: 'store_unavailable' });
        h.storeDown.value = false;
        offline = true; // the request may or may not have reached the server
        await expect(auth.refresh()).rejects.toThrow('fetch failed');
        offline = false;
        await settle();
        expect(heard).toEqual(['token', 'idle']);

        expect(await auth.refresh()).toBe(true);
        await settle();
        expect(heard).toEqual(['token', 'idle', 'token', 'idle']);
      } finally {
        channel.close();
      }
    });
  });

  describe('types shared with the server', () => {
    it("types AuthClientError.code with the server's codes plus http_error: a misspelt code does not compile", () => {
      const server: AuthErrorCode = 'insufficient_user_authentication';
      const codes: AuthClientErrorCode[] = [server, 'http_error'];
      const error = new AuthClientError(codes[0]!, 401);
      // @ts-expect-error not a code the server sends
      expect(error.code === 'invalid_credential').toBe(false);
      expect(error.code).toBe('insufficient_user_authentication');
    });

    it("types a session as the server's, with current", () => {
      const listed: ServerSessionInfo = { id: 's', createdAt: '', lastUsedAt: '', expiresAt: '', userAgent: null, ip: null };
      const answered: SessionInfo = { ...listed, current: true };
      expect(answered).toMatchObject(listed);
    });
  });
});
