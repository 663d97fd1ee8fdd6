import express from 'express';
import request from 'supertest';
import { MemoryTokenStore, type RefreshTokenStore } from '../../src/index.js';
import { cookieHeader, makeApp, PASSWORD, refreshCookie, type TestApp } from '../helpers/app.js';

async function login(t: TestApp) {
  const res = await request(t.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
  expect(res.status).toBe(200);
  return { accessToken: res.body.accessToken as string, refreshToken: refreshCookie(res)!.value };
}

function expectError(res: request.Response, status: number, error: string) {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: { error, message: expect.any(String) } });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
}

describe('bad input', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });

  describe('POST /login answers 400 invalid_request', () => {
    it.each([
      ['no body', undefined],
      ['an array body', [{ username: 'alice', password: PASSWORD }]],
      ['a numeric username', { username: 42, password: PASSWORD }],
      ['an object username', { username: { $ne: '' }, password: PASSWORD }],
      ['an array password', { username: 'alice', password: [PASSWORD] }],
      ['a null password', { username: 'alice', password: null }],
      ['a missing password', { username: 'alice' }],
      ['an empty username', { username: '', password: PASSWORD }],
      ['a username of 257 characters', { username: 'a'.repeat(257), password: PASSWORD }],
      ['a password of 1,025 bytes', { username: 'alice', password: 'é'.repeat(512) + 'x' }],
    ])('for %s', async (_name, body) => {
      const req = request(t.app).post('/auth/login');
      const res = body === undefined ? await req : await req.send(body as object);
      expectError(res, 400, 'invalid_request');
    });

    it('for a body that is not JSON', async () => {
      const res = await request(t.app).post('/auth/login').set('Content-Type', 'application/json').send('{"username": "alice",');
      expectError(res, 400, 'invalid_request');
    });

    it.each([
      ['text/plain', 'text/plain', JSON.stringify({ username: 'alice', password: PASSWORD })],
      ['a form', 'application/x-www-form-urlencoded', `username=alice&password=${encodeURIComponent(PASSWORD)}`],
    ])('for a %s body (JSON only)', async (_name, type, body) => {
      const res = await request(t.app).post('/auth/login').set('Content-Type', type).send(body);
      expectError(res, 400, 'invalid_request');
    });
  });

  it('accepts a username of 256 characters and a password of 1,024 bytes (and refuses them as credentials)', async () => {
    const res = await request(t.app).post('/auth/login').send({ username: 'a'.repeat(256), password: 'é'.repeat(512) });
    expectError(res, 401, 'invalid_credentials');
  });

  it('fails a 100-byte password whose first 72 bytes are the real one with 401', async () => {
    // The stored password is shorter than 72 bytes; pad a guess to 100 bytes starting with it.
    const guess = (PASSWORD + 'x'.repeat(100)).slice(0, 100);
    const res = await request(t.app).post('/auth/login').send({ username: 'alice', password: guess });
    expectError(res, 401, 'invalid_credentials');
  });

  it('answers 400 invalid_request for a path parameter that is not well %-encoded', async () => {
    const { accessToken } = await login(t);
    for (const id of ['%E0%A4%A', '%', '%ZZ']) {
      const res = await request(t.app).delete(`/auth/sessions/${id}`).set('Authorization', `Bearer ${accessToken}`);
      expectError(res, 400, 'invalid_request');
    }
  });

  it('answers 400 invalid_request for a body that claims a compression it does not have', async () => {
    for (const encoding of ['gzip', 'deflate']) {
      const res = await request(t.app)
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .send(JSON.stringify({ username: 'alice', password: PASSWORD }));
      expectError(res, 400, 'invalid_request');
    }
  });

  it('keeps its 16 KB limit behind an app-level express.json() with a larger one', async () => {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    app.use(t.app);
    const res = await request(app)
      .post('/auth/login')
      .send({ username: 'alice', password: PASSWORD, padding: 'x'.repeat(40 * 1024) });
    expectError(res, 413, 'payload_too_large');
    expect((await request(app).post('/auth/login').send({ username: 'alice', password: PASSWORD })).status).toBe(200);
  });

  it('answers 413 payload_too_large for a 1 MB body', async () => {
    const res = await request(t.app)
      .post('/auth/login')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ username: 'alice', password: PASSWORD, padding: 'x'.repeat(1024 * 1024) }));
    expectError(res, 413, 'payload_too_large');
  });

  it('ignores __proto__ and constructor.prototype keys and pollutes nothing', async () => {
    for (const body of [
      '{"__proto__": {"username": "alice", "password": "x", "polluted": true}}',
      '{"constructor": {"prototype": {"polluted": true}}, "username": "alice", "password": "wrong"}',
      '{"username": "alice", "password": "wrong", "__proto__": {"polluted": true}}',
    ]) {
      const res = await request(t.app).post('/auth/login').set('Content-Type', 'application/json').send(body);
      expect([400, 401]).toContain(res.status);
      expect(res.status === 400 ? 'invalid_request' : 'invalid_credentials').toBe(res.body.error);
    }
    const session = await login(t);
    const refresh = await request(t.app)
      .post('/auth/refresh')
      .set('Content-Type', 'application/json')
      .send(`{"__proto__": {"refreshToken": "${session.refreshToken}"}}`);
    expectError(refresh, 401, 'invalid_grant');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).username).toBeUndefined();
  });

  describe('a refresh token presented twice', () => {
    it('refuses two refresh cookies with 400, and rotates nothing', async () => {
      const victim = await login(t);
      const attacker = await login(t);
      const res = await request(t.app)
        .post('/auth/refresh')
        .set('Cookie', `${cookieHeader(attacker.refreshToken)}; ${cookieHeader(victim.refreshToken)}`);
      expectError(res, 400, 'invalid_request');
      expect((await request(t.app).post('/auth/refresh').set('Cookie', cookieHeader(victim.refreshToken))).status).toBe(200);
    });

    it('refuses a cookie and a body field with 400, whatever the transport', async () => {
      for (const transport of ['cookie', 'body'] as const) {
        const app = await makeApp({ refreshToken: { transport } });
        const res = await request(app.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
        const token = transport === 'body' ? res.body.refreshToken : refreshCookie(res)!.value;
        const twice = await request(app.app).post('/auth/refresh').set('Cookie', cookieHeader(token)).send({ refreshToken: token });
        expectError(twice, 400, 'invalid_request');
      }
    });

    it('refuses a non-string refreshToken with 400', async () => {
      for (const refreshToken of [42, ['a'], { token: 'a' }, null]) {
        expectError(await request(t.app).post('/auth/refresh').send({ refreshToken }), 400, 'invalid_request');
      }
    });

    it('refuses an overlong token with 401 without asking the store', async () => {
      const res = await request(t.app).post('/auth/refresh').send({ refreshToken: 'A'.repeat(10_000) });
      expectError(res, 401, 'invalid_grant');
    });
  });

  describe('CSRF', () => {
    it('refuses /login from an untrusted Origin with 403 csrf_rejected', async () => {
      const res = await request(t.app)
        .post('/auth/login')
        .set('Origin', 'https://evil.example')
        .send({ username: 'alice', password: PASSWORD });
      expectError(res, 403, 'csrf_rejected');
      expect(t.events).toEqual([]);
    });

    it('refuses /login with Sec-Fetch-Site: cross-site', async () => {
      const res = await request(t.app).post('/auth/login').set('Sec-Fetch-Site', 'cross-site').send({ username: 'alice', password: PASSWORD });
      expectError(res, 403, 'csrf_rejected');
    });

    it('refuses Origin: null', async () => {
      const res = await request(t.app).post('/auth/login').set('Origin', 'null').send({ username: 'alice', password: PASSWORD });
      expectError(res, 403, 'csrf_rejected');
    });

    it('accepts the request\'s own origin, a trusted origin, and clients that send neither header', async () => {
      const own = await request(t.app).post('/auth/login').set('Host', 'api.example.com').set('Origin', 'https://api.example.com')
        .set('Sec-Fetch-Site', 'same-origin').send({ username: 'alice', password: PASSWORD });
      expect(own.status).toBe(200);
      const trusting = await makeApp({ trustedOrigins: ['https://app.example.com/'] });
      const trusted = await request(trusting.app).post('/auth/login').set('Origin', 'https://app.example.com')
        .set('Sec-Fetch-Site', 'cross-site').send({ username: 'alice', password: PASSWORD });
      expect(trusted.status).toBe(200);
      expect((await request(t.app).post('/auth/login').send({ username: 'alice', password: PASSWORD })).status).toBe(200);
    });

    it('refuses a cookie-borne /refresh or /logout from another site, and changes nothing', async () => {
      const session = await login(t);
      for (const path of ['/auth/refresh', '/auth/logout']) {
        const res = await request(t.app).post(path).set('Cookie', cookieHeader(session.refreshToken)).set('Origin', 'https://evil.example');
        expectError(res, 403, 'csrf_rejected');
      }
      expect((await request(t.app).post('/auth/refresh').set('Cookie', cookieHeader(session.refreshToken))).status).toBe(200);
    });

    it('does not apply to a refresh token sent in the body (it cannot ride along by itself)', async () => {
      const session = await login(t);
      const res = await request(t.app).post('/auth/refresh').set('Origin', 'https://native.example').send({ refreshToken: session.refreshToken });
      expect(res.status).toBe(200);
    });
  });

  describe('when the store fails', () => {
    const hanging = (): RefreshTokenStore => {
      const store = new MemoryTokenStore();
      const never = () => new Promise<never>(() => undefined);
      return Object.assign(store, {
        createFamily: never,
        rotate: never,
        revokeFamily: never,
        revokeUser: never,
        listFamilies: never,
        isAccessTokenRevoked: never,
        denylistAccessToken: never,
      });
    };
    const failing = (): RefreshTokenStore => {
      const store = new MemoryTokenStore();
      const fail = async () => {
        throw new Error('connection lost');
      };
      return Object.assign(store, { createFamily: fail, rotate: fail, revokeUser: fail, listFamilies: fail, isAccessTokenRevoked: fail });
    };

    it('answers 503 store_unavailable when the store rejects', async () => {
      const broken = await makeApp({ store: failing() });
      const res = await request(broken.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
      expectError(res, 503, 'store_unavailable');
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(broken.events.map((e) => e.name)).toEqual([]);
    });

    it('answers 503 store_unavailable when the store does not answer in time', async () => {
      const healthy = await makeApp();
      const session = await login(healthy);
      const slow = await makeApp({ store: hanging(), storeTimeoutMs: 100 });
      const started = Date.now();
      const res = await request(slow.app).post('/auth/refresh').set('Cookie', cookieHeader(session.refreshToken));
      expectError(res, 503, 'store_unavailable');
      expect(Date.now() - started).toBeLessThan(2000);
      expectError(await request(slow.app).get('/auth/sessions').set('Authorization', `Bearer ${session.accessToken}`), 503, 'store_unavailable');
    });

    it('fails closed in requireAccessToken({ store }) too, and not without a store', async () => {
      const healthy = await makeApp();
      const session = await login(healthy);
      const broken = await makeApp({ store: failing() });
      expectError(await request(broken.app).get('/me').set('Authorization', `Bearer ${session.accessToken}`), 503, 'store_unavailable');
      expect((await request(broken.app).get('/stateless').set('Authorization', `Bearer ${session.accessToken}`)).status).toBe(200);
    });
  });
});
