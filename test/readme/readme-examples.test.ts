/*
 * Every js and ts block of the README runs in a test, as written: here, or in the test named in
 * RUN_ELSEWHERE. Each test gives a block the names its section introduces, runs it, and checks
 * over real HTTP that it does what the text says.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import * as client from '../../src/client/index.js';
import * as library from '../../src/index.js';
import * as testing from '../../src/testing/index.js';
import {
  authErrorHandler,
  createAuth,
  createAuthRouter,
  createCredentialsVerifier,
  getAuth,
  hashPassword,
  MemoryTokenStore,
  type Auth,
  type AuthOptions,
} from '../../src/index.js';
import { cookieHeader, expectError, PASSWORD, passwordHash, refreshCookie, SECRET } from '../helpers/app.js';
import { readmeBlock, readmeBlocks, runBlock } from '../helpers/readme.js';
import { claimsOf } from '../helpers/jwt.js';

const modules = { express, 'express-refresh-tokens': library, 'express-refresh-tokens/client': client };

/** Blocks that need a server, a package or a process of their own, and the test that runs each. */
const RUN_ELSEWHERE: Record<string, string> = {
  '## Quick start': 'test/package/package.test.ts',
  '### In a Node service': 'test/client/readme-node.test.ts',
  '## Password guessing': 'test/http/login-throttle.test.ts',
  '## Keys and other services': 'test/readme/readme-keys.test.ts',
  '### Verifying in another service': 'test/readme/readme-keys.test.ts',
  '### `RedisTokenStore`': 'test/redis/readme.test.ts',
  '### `PostgresTokenStore`': 'test/postgres/readme.test.ts',
};

const RUN_HERE = [
  '### `createAuth(options)`',
  '#### In TypeScript',
  '### Revocation checks from memory',
  '### Hooks',
  '## Endpoints',
  '## Sign-in methods other than passwords',
  '## Password change and admin actions',
  '## Step-up for sensitive routes',
  '### In a browser app',
  '## Writing a store adapter',
];

it('runs every js and ts block of the README in a test', () => {
  const headings = readmeBlocks()
    .filter((block) => block.lang === 'js' || block.lang === 'ts')
    .map((block) => block.heading);
  expect([...new Set(headings)].sort()).toEqual([...RUN_HERE, ...Object.keys(RUN_ELSEWHERE)].sort());
  for (const file of Object.values(RUN_ELSEWHERE)) expect(existsSync(join(__dirname, '..', '..', file))).toBe(true);
});

/** A clock tests move, and the options every scene's `createAuth` shares. */
function baseOptions(clock = { now: Date.UTC(2026, 0, 1) }) {
  return { accessToken: { secret: SECRET }, store: new MemoryTokenStore(), now: () => clock.now };
}

async function ada() {
  return { id: 'u1', passwordHash: await passwordHash(), roles: ['admin'] };
}

async function verifyingAda() {
  const user = await ada();
  return createCredentialsVerifier({ findUser: (name) => (name === 'ada' ? user : null), cost: 10 });
}

async function loginAda(app: express.Express, headers: Record<string, string> = {}) {
  const res = await request(app).post('/auth/login').set(headers).send({ username: 'ada', password: PASSWORD });
  expect(res.status).toBe(200);
  return { accessToken: res.body.accessToken as string, refreshToken: refreshCookie(res)!.value };
}

describe('### `createAuth(options)`', () => {
  it('mounts the endpoints and guards a route with the same keys', async () => {
    const app = express();
    const { accessToken, store } = baseOptions();
    const handler: express.RequestHandler = (req, res) => res.json({ userId: req.auth!.userId });
    const scene = {
      createAuth,
      app,
      accessToken,
      store,
      verifyCredentials: await verifyingAda(),
      refreshToken: {},
      trustedOrigins: [],
      hooks: {},
      handler,
    };
    await runBlock(readmeBlock('### `createAuth(options)`'), scene);
    const { accessToken: token } = await loginAda(app);
    expect((await request(app).get('/me').set('Authorization', `Bearer ${token}`)).body).toEqual({ userId: 'u1' });
    expect((await request(app).get('/me')).status).toBe(401);
  });
});

describe('#### In TypeScript', () => {
  it('reads req.auth through getAuth behind auth.requireAccessToken()', async () => {
    const app = express();
    const auth = createAuth({ ...baseOptions(), verifyCredentials: await verifyingAda() });
    app.use('/auth', auth.router);
    await runBlock(readmeBlock('#### In TypeScript', 'ts'), { app, auth }, modules);
    const { accessToken } = await loginAda(app);
    expect((await request(app).get('/me').set('Authorization', `Bearer ${accessToken}`)).body).toEqual({ userId: 'u1', roles: ['admin'] });
  });
});

describe('### Hooks', () => {
  it('gives onRevoke the reason, and onError the code and the reason of a refusal', async () => {
    const audit = { entries: [] as unknown[][], log: (...args: unknown[]) => void audit.entries.push(args) };
    const metrics = { counted: [] as unknown[][], increment: (...args: unknown[]) => void metrics.counted.push(args) };
    const { auth } = (await runBlock(readmeBlock('### Hooks'), { createAuth, audit, metrics, ...baseOptions() }, {}, ['auth'])) as {
      auth: Auth;
    };
    const app = express();
    app.use('/auth', auth.router);
    app.get('/me', auth.requireAccessToken(), (_req, res) => res.end());
    app.post('/sign-in', async (req, res) => res.json(await auth.startSession(req, res, { id: 'u1' })));
    const tokens = (await request(app).post('/sign-in')).body;
    await auth.revokeUser('u1', { reason: 'password_changed' });
    expect(audit.entries).toEqual([['sessions revoked', { userId: 'u1', sessionIds: [expect.any(String)], reason: 'password_changed' }]]);
    expect((await request(app).get('/me').set('Authorization', `Bearer ${tokens.accessToken}x`)).status).toBe(401);
    await new Promise((resolve) => setImmediate(resolve));
    expect(metrics.counted).toEqual([['auth.refused.invalid_token.bad_signature', { path: '/me' }]]);
  });
});

describe('## Endpoints', () => {
  it('answers JSON, not an HTML page, when an app-level parser refuses a body under /auth', async () => {
    const app = express();
    const options: AuthOptions = { ...baseOptions(), verifyCredentials: await verifyingAda() };
    await runBlock(readmeBlock('## Endpoints'), { app, express, createAuthRouter, options }, modules);
    const res = await request(app).post('/auth/login').set('Content-Type', 'application/json').send('{"username":');
    expectError(res, 400, 'invalid_request');
    expect((await request(app).post('/auth/login').send({ username: 'ada', password: PASSWORD })).status).toBe(200);
  });
});

describe('## Sign-in methods other than passwords', () => {
  async function scene() {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const app = express();
    const auth = createAuth(baseOptions(clock));
    app.use('/auth', auth.router);
    const users = new Map<string, { id: string; roles: string[] }>();
    const idpAuthTime = new Date(clock.now - 60_000);
    const oauthClient = {
      callback: async (req: express.Request) => {
        if (req.query.state !== 'expected-state') throw new library.AuthError('invalid_request', 'Bad state.');
        return { email: 'ada@example.com', authTime: idpAuthTime };
      },
    };
    const byEmail = { findOrCreateByEmail: async (email: string) => ({ id: `u-${email}`, roles: ['member'] }) };
    await runBlock(readmeBlock('## Sign-in methods other than passwords'), {
      app,
      express,
      auth,
      users: Object.assign(users, byEmail),
      hashPassword: (plain: string) => hashPassword(plain, { cost: 10 }),
      oauthClient,
      authErrorHandler,
    });
    return { app, auth, users, idpAuthTime };
  }

  it('signs a new user up and starts the session in one response', async () => {
    const { app, auth, users } = await scene();
    const res = await request(app)
      .post('/signup')
      .set('Sec-Fetch-Site', 'same-origin')
      .send({ username: 'grace', password: 'a long passphrase' });
    expect(res.status).toBe(201);
    expect(claimsOf(res.body.accessToken)).toMatchObject({ sub: 'u-1', roles: ['member'], amr: ['pwd'] });
    expect(refreshCookie(res)!.attributes).toContain('Path=/auth');
    expect(users.get('grace')).toEqual({ id: 'u-1', passwordHash: expect.stringMatching(/^\$2b\$10\$/), roles: ['member'] });
    expect(await auth.listSessions('u-1')).toHaveLength(1);
    const taken = await request(app).post('/signup').send({ username: 'grace', password: 'another one' });
    expectError(taken, 400, 'invalid_request');
  });

  it('refuses a sign-up posted from another site with JSON 403 csrf_rejected, and starts nothing', async () => {
    const { app, auth } = await scene();
    const res = await request(app)
      .post('/signup')
      .set({ Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' })
      .send({ username: 'mallory', password: 'x' });
    expectError(res, 403, 'csrf_rejected');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await auth.listSessions('u-1')).toEqual([]);
  });

  it("starts a session at the OAuth callback with the provider's auth_time, and refuses a wrong state", async () => {
    const { app, idpAuthTime } = await scene();
    const res = await request(app).get('/oauth/callback?state=expected-state').set('Sec-Fetch-Site', 'cross-site');
    expect(res.status).toBe(302);
    const cookie = refreshCookie(res)!;
    const refreshed = await request(app).post('/auth/refresh').set('Cookie', cookieHeader(cookie.value));
    expect(claimsOf(refreshed.body.accessToken)).toMatchObject({
      sub: 'u-ada@example.com',
      amr: ['fed'],
      auth_time: idpAuthTime.getTime() / 1000,
    });
    const forged = await request(app).get('/oauth/callback?state=attacker');
    expectError(forged, 400, 'invalid_request');
    expect(forged.headers['set-cookie']).toBeUndefined();
  });
});

describe('## Password change and admin actions', () => {
  async function scene() {
    const app = express();
    const auth = createAuth({ ...baseOptions(), verifyCredentials: await verifyingAda() });
    app.use('/auth', auth.router);
    const changed: unknown[] = [];
    const changePassword = async (userId: string, body: unknown) => void changed.push([userId, body]);
    await runBlock(readmeBlock('## Password change and admin actions'), { app, express, auth, getAuth, changePassword });
    return { app, auth, changed };
  }

  it('ends every session on a password change and keeps the device that made it signed in', async () => {
    const { app, auth, changed } = await scene();
    const laptop = await loginAda(app);
    const phone = await loginAda(app);
    const res = await request(app)
      .post('/account/password')
      .set('Authorization', `Bearer ${laptop.accessToken}`)
      .send({ current: PASSWORD, next: 'new one' });
    expect(res.status).toBe(200);
    expect(changed).toEqual([['u1', { current: PASSWORD, next: 'new one' }]]);
    for (const old of [laptop, phone]) {
      expectError(await request(app).post('/auth/refresh').set('Cookie', cookieHeader(old.refreshToken)), 401, 'invalid_grant');
    }
    const sessions = await auth.listSessions('u1');
    expect(sessions.map((session) => session.id)).toEqual([claimsOf(res.body.accessToken).sid]);
    expect(
      (
        await request(app)
          .post('/auth/refresh')
          .set('Cookie', cookieHeader(refreshCookie(res)!.value))
      ).status,
    ).toBe(200);
  });

  it("lets an admin list a user's sessions, end one, and end them all", async () => {
    const { app } = await scene();
    const admin = await loginAda(app);
    const other = await loginAda(app);
    const bearer = { Authorization: `Bearer ${admin.accessToken}` };
    const listed = await request(app).get('/admin/users/u1/sessions').set(bearer);
    expect(listed.body).toHaveLength(2);
    const otherId = claimsOf(other.accessToken).sid;
    expect((await request(app).delete(`/admin/sessions/${otherId}`).set(bearer)).status).toBe(204);
    expect((await request(app).delete(`/admin/sessions/${otherId}`).set(bearer)).status).toBe(404);
    const kicked = await request(app).post('/admin/users/u1/kick').set(bearer);
    expect(kicked.body).toEqual({ ended: [claimsOf(admin.accessToken).sid] });
    // The admin's own session ended too: revocation: true refuses its token at once.
    expectError(await request(app).get('/admin/users/u1/sessions').set(bearer), 401, 'invalid_token');
  });
});

describe('## Step-up for sensitive routes', () => {
  it('passes a sign-in of less than five minutes, and answers an older one with the RFC 9470 challenge', async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const app = express();
    const auth = createAuth({ ...baseOptions(clock), verifyCredentials: await verifyingAda() });
    app.use('/auth', auth.router);
    const deleted: string[] = [];
    await runBlock(readmeBlock('## Step-up for sensitive routes'), {
      app,
      auth,
      getAuth,
      deleteAccount: async (id: string) => void deleted.push(id),
    });
    const fresh = await loginAda(app);
    clock.now += 6 * 60_000;
    const refreshed = await request(app).post('/auth/refresh').set('Cookie', cookieHeader(fresh.refreshToken));
    const stale = await request(app).delete('/account').set('Authorization', `Bearer ${refreshed.body.accessToken}`);
    expectError(stale, 401, 'insufficient_user_authentication');
    expect(stale.headers['www-authenticate']).toBe('Bearer error="insufficient_user_authentication", max_age=300');
    const again = await loginAda(app);
    expect((await request(app).delete('/account').set('Authorization', `Bearer ${again.accessToken}`)).status).toBe(204);
    expect(deleted).toEqual(['u1']);
  });
});

describe('### In a browser app', () => {
  let server: Server;
  let base: string;
  let auth: Auth;
  const orders: unknown[] = [];
  const saved = { location: (globalThis as { location?: unknown }).location, fetch: globalThis.fetch };

  beforeAll(async () => {
    // The server's clock stands still (at the real time, which the client compares expiry with), so
    // that Retry-After is exactly the window however slow the machine.
    const startedAt = Date.now();
    auth = createAuth({
      accessToken: { secret: SECRET },
      store: new MemoryTokenStore(),
      verifyCredentials: await verifyingAda(),
      refreshToken: { cookie: { secure: false } },
      now: () => startedAt,
    });
    const app = express();
    app.use('/auth', auth.router);
    app.post('/api/orders', auth.requireAccessToken(), express.json(), (req, res) => {
      orders.push({ userId: getAuth(req).userId, order: req.body });
      res.status(201).json({ ok: true });
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The page's world: its origin, and a fetch that keeps cookies as a browser does.
    (globalThis as { location?: unknown }).location = new URL(base);
    globalThis.fetch = cookieJarFetch(saved.fetch);
  });

  afterAll(async () => {
    (globalThis as { location?: unknown }).location = saved.location;
    globalThis.fetch = saved.fetch;
    await new Promise((resolve) => server.close(resolve));
  });

  it('starts signed out, tells a wrong password, signs in; then calls the API, manages sessions and logs out', async () => {
    const shown: unknown[][] = [];
    const page = {
      showLogin: (...args: unknown[]) => void shown.push(['login', ...args]),
      showApp: (...args: unknown[]) => void shown.push(['app', ...args]),
    };
    const started = await runBlock(readmeBlock('### In a browser app', 'js', 0), page, modules, ['auth', 'logIn']);
    const { logIn } = started as { logIn: (username: string, password: string) => Promise<void> };
    expect(shown).toEqual([['login']]);
    await logIn('ada', 'wrong password');
    await logIn('ada', PASSWORD);
    expect(shown).toEqual([['login'], ['login', 'Wrong username or password.'], ['app', 'u1']]);

    await request(server).post('/auth/login').send({ username: 'ada', password: PASSWORD }); // another device
    expect(await auth.listSessions('u1')).toHaveLength(2);
    const order = { item: 'tea', quantity: 2 };
    await runBlock(readmeBlock('### In a browser app', 'js', 1), { auth: started.auth, order }, modules);
    expect(orders).toEqual([{ userId: 'u1', order }]);
    expect(await auth.listSessions('u1')).toEqual([]); // the other device revoked, then this one logged out

    // The login throttle (README "Password guessing"): the 6th wrong password in a row is told to wait.
    shown.length = 0;
    for (let i = 0; i < 6; i++) await logIn('grace', 'wrong password');
    expect(shown).toEqual([
      ...Array.from({ length: 5 }, () => ['login', 'Wrong username or password.']),
      ['login', 'Too many attempts: try again in 900 s.'],
    ]);
  });
});

describe('## Writing a store adapter', () => {
  // The block registers the conformance suite, as in the adapter's own test file.
  class MyStore extends MemoryTokenStore {}
  const stores: MyStore[] = [];
  afterAll(() => Promise.all(stores.map((store) => store.close())));
  void runBlock(
    readmeBlock('## Writing a store adapter', 'ts'),
    {},
    {
      'express-refresh-tokens/testing': testing,
      './my-store': {
        MyStore: class extends MyStore {
          constructor() {
            super();
            stores.push(this);
          }
        },
      },
    },
  );
});

/** A global fetch that keeps the cookies its responses set, and sends them back to the same origin. */
function cookieJarFetch(inner: typeof fetch): typeof fetch {
  const jar = new Map<string, string>();
  return async (input, init) => {
    const req = new Request(input as string | URL | Request, init);
    const headers = new Headers(req.headers);
    if (jar.size > 0) headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const res = await inner(new Request(req, { headers }));
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (value === '' || attributes.some((attribute) => /^max-age=0$/i.test(attribute))) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
}

describe('### Revocation checks from memory', () => {
  it('refuses on both routes, from memory, a token revoked after it was accepted', async () => {
    const store = new MemoryTokenStore();
    const accessToken = { secret: SECRET };
    const auth = createAuth({ accessToken, store });
    const app = express();
    const handler: express.RequestHandler = (req, res) => void res.json({ userId: req.auth?.userId });
    await runBlock(
      readmeBlock('### Revocation checks from memory', 'ts'),
      { app, auth, accessToken, store, handler, requireAccessToken: library.requireAccessToken },
      modules,
    );
    app.post('/sign-in', async (req, res) => void res.json(await auth.startSession(req, res, { id: 'u1' })));
    const { accessToken: token } = (await request(app).post('/sign-in')).body as { accessToken: string };
    for (const path of ['/orders', '/invoices'])
      expect((await request(app).get(path).set('Authorization', `Bearer ${token}`)).body).toEqual({ userId: 'u1' });
    await auth.revokeUser('u1');
    for (const path of ['/orders', '/invoices'])
      expectError(await request(app).get(path).set('Authorization', `Bearer ${token}`), 401, 'invalid_token');
  });
});
