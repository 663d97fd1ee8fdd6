import express from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createAuthRouter } from '../../src/index.js';
import { cookieHeader, login, makeApp, me, PASSWORD, refresh, refreshCookie, SECRET, type TestApp } from '../helpers/app.js';
import { claimsOf } from '../helpers/jwt.js';
import { sessionIdOf } from '../suites/shared.js';

const DAY_MS = 24 * 3600 * 1000;

describe('createAuthRouter', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });

  describe('POST /login', () => {
    it('answers the token response and sets the refresh cookie with its attributes', async () => {
      const { res } = await login(t);
      expect(res.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
      expect(res.headers['cache-control']).toBe('no-store');
      const cookie = refreshCookie(res)!;
      expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{30}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
      expect(cookie.attributes).toEqual(expect.arrayContaining(['Max-Age=1209600', 'Path=/auth', 'HttpOnly', 'Secure', 'SameSite=Strict']));
    });

    it('signs an at+jwt access token with the claims the README lists', async () => {
      const { accessToken, refreshToken } = await login(t);
      const { header, payload } = jwt.decode(accessToken, { complete: true }) as jwt.Jwt;
      expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt' });
      const claims = payload as jwt.JwtPayload;
      expect(claims).toEqual({
        sub: 'u-alice',
        sid: sessionIdOf(refreshToken),
        jti: expect.any(String),
        iat: t.clock.now / 1000,
        exp: t.clock.now / 1000 + 900,
        roles: ['admin'],
        scope: 'read write',
        auth_time: t.clock.now / 1000,
        amr: ['pwd'],
      });
    });

    it('answers the same 401 for a wrong password and an unknown user, and reports both', async () => {
      const wrong = await request(t.app).post('/auth/login').send({ username: 'alice', password: 'nope' });
      const unknown = await request(t.app).post('/auth/login').send({ username: 'mallory', password: 'nope' });
      for (const res of [wrong, unknown]) {
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('invalid_credentials');
        expect(res.headers['set-cookie']).toBeUndefined();
      }
      expect(wrong.body).toEqual(unknown.body);
      expect(t.events.map((e) => e.name)).toEqual(['onLoginFailed', 'onLoginFailed']);
      expect(t.events[1]!.event).toEqual({ username: 'mallory' });
    });

    describe('with the transport the client keeps the refresh token by', () => {
      it('refuses another transport with 400 transport_mismatch before checking the password: no session, no cookie, no hook', async () => {
        for (const [app, asked] of [
          [t, 'body'],
          [await makeApp({ refreshToken: { transport: 'body' } }), 'cookie'],
        ] as const) {
          // A wrong password: had it been checked, onLoginFailed would have fired.
          const res = await request(app.app).post('/auth/login').send({ username: 'alice', password: 'wrong', transport: asked });
          expect(res.status).toBe(400);
          expect(res.body.error).toBe('transport_mismatch');
          expect(res.headers['set-cookie']).toBeUndefined();
          expect(app.events).toEqual([]);
          expect(await app.auth.listSessions('u-alice')).toEqual([]);
        }
      });

      it('logs in when it matches, and refuses a value that names no transport with 400 invalid_request', async () => {
        const ok = await request(t.app).post('/auth/login').send({ username: 'alice', password: PASSWORD, transport: 'cookie' });
        expect(ok.status).toBe(200);
        expect(refreshCookie(ok)).toBeDefined();
        for (const transport of ['header', 1, null]) {
          const res = await request(t.app).post('/auth/login').send({ username: 'alice', password: PASSWORD, transport });
          expect([res.status, res.body.error]).toEqual([400, 'invalid_request']);
        }
      });
    });

    it('calls onLogin with the user and the new session', async () => {
      const { refreshToken } = await login(t);
      expect(t.events).toEqual([
        {
          name: 'onLogin',
          event: {
            user: { id: 'u-alice', roles: ['admin'], scopes: ['read', 'write'], claims: undefined },
            sessionId: sessionIdOf(refreshToken),
            amr: ['pwd'],
            evictedSessionIds: [],
          },
        },
      ]);
    });

    it('answers 500 internal_error as JSON when verifyCredentials throws, and keeps serving', async () => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const broken = await makeApp({
        verifyCredentials: async () => {
          throw new Error('database is down');
        },
      });
      const res = await request(broken.app).post('/auth/login').send({ username: 'alice', password: 'x' });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: 'internal_error', message: expect.any(String) });
      expect(JSON.stringify(res.body)).not.toContain('database is down');
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('database is down'), expect.anything());
      const again = await request(broken.app).post('/auth/login').send({ username: 'alice', password: 'x' });
      expect(again.status).toBe(500);
      warn.mockRestore();
    });

    it('answers 500 internal_error when verifyCredentials returns a malformed user', async () => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const broken = await makeApp({ verifyCredentials: async () => ({ id: 42 }) as never });
      const res = await request(broken.app).post('/auth/login').send({ username: 'alice', password: 'x' });
      expect(res.status).toBe(500);
      expect(res.body.error).toBe('internal_error');
      expect(await broken.store.listFamilies('42', broken.clock.now)).toEqual([]);
      warn.mockRestore();
    });

    it('answers 500 internal_error for a user id longer than access tokens carry, and stores nothing', async () => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const broken = await makeApp({ verifyCredentials: async () => ({ id: 'x'.repeat(257) }) });
      const res = await request(broken.app).post('/auth/login').send({ username: 'alice', password: 'x' });
      expect(res.status).toBe(500);
      expect(res.body.error).toBe('internal_error');
      expect(await broken.store.listFamilies('x'.repeat(257), broken.clock.now)).toEqual([]);
      warn.mockRestore();
    });

    it('signs custom claims without letting them override registered ones or the prototype', async () => {
      const claims = JSON.parse('{"tenant": "acme", "sub": "someone-else", "exp": 1, "__proto__": {"admin": true}}') as Record<
        string,
        unknown
      >;
      const custom = await makeApp({ verifyCredentials: async () => ({ id: 'u-carol', claims }) });
      const res = await request(custom.app).post('/auth/login').send({ username: 'carol', password: 'x' });
      expect(res.status).toBe(200);
      const payload = claimsOf(res.body.accessToken);
      expect(payload).toMatchObject({ tenant: 'acme', sub: 'u-carol', exp: custom.clock.now / 1000 + 900 });
      expect(Object.hasOwn(payload, 'admin')).toBe(false);
      expect((await me(custom, res.body.accessToken)).body.claims.tenant).toBe('acme');
    });

    it("keeps the user's newest maxSessionsPerUser sessions", async () => {
      const capped = await makeApp({ refreshToken: { maxSessionsPerUser: 2 } });
      const first = await login(capped);
      capped.clock.now += 1000;
      await login(capped);
      capped.clock.now += 1000;
      await login(capped);
      expect((await refresh(capped, first.refreshToken)).status).toBe(401);
      const sessions = await capped.store.listFamilies('u-alice', capped.clock.now);
      expect(sessions).toHaveLength(2);
      expect(capped.events.filter((e) => e.name === 'onLogin')[2]!.event.evictedSessionIds).toEqual([sessionIdOf(first.refreshToken)]);
    });
  });

  describe('POST /refresh', () => {
    it('rotates: a new access token and a new refresh cookie, and the session slides', async () => {
      const first = await login(t);
      t.clock.now += DAY_MS;
      const res = await refresh(t, first.refreshToken);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
      const next = refreshCookie(res)!;
      expect(next.value).not.toBe(first.refreshToken);
      expect(sessionIdOf(next.value)).toBe(sessionIdOf(first.refreshToken));
      expect(next.attributes).toContain('Max-Age=1209600');
      expect((await me(t, res.body.accessToken)).status).toBe(200);
      expect(t.events.at(-1)).toEqual({
        name: 'onRefresh',
        event: { userId: 'u-alice', sessionId: sessionIdOf(first.refreshToken), retried: false },
      });
    });

    it('treats a rotated token presented again as reuse: the whole family dies, newest token included', async () => {
      t = await makeApp({ refreshToken: { reuseGraceSeconds: 0 } });
      const first = await login(t);
      const rotated = await refresh(t, first.refreshToken);
      const newest = refreshCookie(rotated)!.value;

      const replay = await refresh(t, first.refreshToken);
      expect(replay.status).toBe(401);
      expect(replay.body.error).toBe('invalid_grant');
      expect(refreshCookie(replay)!.attributes).toEqual(expect.arrayContaining(['Path=/auth']));
      expect(refreshCookie(replay)!.value).toBe('');

      expect((await refresh(t, newest)).body.error).toBe('invalid_grant');
      expect((await me(t, rotated.body.accessToken)).body.error).toBe('invalid_token');
      expect((await me(t, first.accessToken)).status).toBe(401);
      expect(t.events.find((e) => e.name === 'onReuseDetected')).toEqual({
        name: 'onReuseDetected',
        event: { userId: 'u-alice', sessionId: sessionIdOf(first.refreshToken) },
      });
    });

    it('lets exactly one of 50 parallel refreshes with one token succeed, then the family is revoked (reuseGraceSeconds: 0)', async () => {
      t = await makeApp({ refreshToken: { reuseGraceSeconds: 0 } });
      const { refreshToken } = await login(t);
      const results = await Promise.all(Array.from({ length: 50 }, () => refresh(t, refreshToken)));
      const statuses = results.map((res) => res.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(statuses.filter((status) => status === 401)).toHaveLength(49);
      const winner = results.find((res) => res.status === 200)!;
      expect((await refresh(t, refreshCookie(winner)!.value)).status).toBe(401);
    });

    it('refuses a missing, malformed or unknown token with invalid_grant', async () => {
      const { refreshToken } = await login(t);
      const forged = `${sessionIdOf(refreshToken)}.${'A'.repeat(22)}.${'B'.repeat(43)}`;
      for (const res of [await request(t.app).post('/auth/refresh'), await refresh(t, 'garbage'), await refresh(t, forged)]) {
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('invalid_grant');
      }
      // A guess with the right family id but without its proof is not reuse: the session lives.
      expect((await refresh(t, refreshToken)).status).toBe(200);
    });

    // A tab closed or reloaded mid-refresh loses the answer: README "Several tabs".
    describe('with the default grace window (10 s with cookie transport)', () => {
      it('returns the same successor for the just-rotated token within the window', async () => {
        const { refreshToken } = await login(t);
        const first = await refresh(t, refreshToken);
        t.clock.now += 10_000;
        const retry = await refresh(t, refreshToken);
        expect(retry.status).toBe(200);
        expect(refreshCookie(retry)!.value).toBe(refreshCookie(first)!.value);
        expect(retry.body.accessToken).not.toBe(first.body.accessToken);
        expect(t.events.at(-1)!.event.retried).toBe(true);
        expect((await refresh(t, refreshCookie(first)!.value)).status).toBe(200);
      });

      it('treats it as reuse after the window', async () => {
        const { refreshToken } = await login(t);
        const first = await refresh(t, refreshToken);
        t.clock.now += 10_001;
        expect((await refresh(t, refreshToken)).status).toBe(401);
        expect((await refresh(t, refreshCookie(first)!.value)).status).toBe(401);
      });

      it('treats a grandparent token as reuse even inside the window', async () => {
        const { refreshToken } = await login(t);
        const first = await refresh(t, refreshToken);
        const second = await refresh(t, refreshCookie(first)!.value);
        expect((await refresh(t, refreshToken)).status).toBe(401);
        expect((await refresh(t, refreshCookie(second)!.value)).status).toBe(401);
      });

      it('ends 20 parallel refreshes of one token with one live successor', async () => {
        const { refreshToken } = await login(t);
        const results = await Promise.all(Array.from({ length: 20 }, () => refresh(t, refreshToken)));
        expect(results.every((res) => res.status === 200)).toBe(true);
        const successors = new Set(results.map((res) => refreshCookie(res)!.value));
        expect(successors.size).toBe(1);
        expect((await refresh(t, [...successors][0]!)).status).toBe(200);
      });
    });

    describe('lifetimes', () => {
      it('refuses a token left idle for idleTtl', async () => {
        const { refreshToken } = await login(t);
        t.clock.now += 14 * DAY_MS;
        expect((await refresh(t, refreshToken)).body.error).toBe('invalid_grant');
      });

      it('keeps a session in use alive past its first idle expiry', async () => {
        const { refreshToken } = await login(t);
        t.clock.now += 10 * DAY_MS;
        const first = await refresh(t, refreshToken);
        t.clock.now += 10 * DAY_MS;
        expect((await refresh(t, refreshCookie(first)!.value)).status).toBe(200);
      });

      it('ends a session at absoluteTtl whatever its use, and the cookie never outlives it', async () => {
        const short = await makeApp({ refreshToken: { absoluteTtl: '20d' } });
        const { refreshToken } = await login(short);
        short.clock.now += 10 * DAY_MS;
        const first = await refresh(short, refreshToken);
        expect(refreshCookie(first)!.attributes).toContain(`Max-Age=${10 * 24 * 3600}`);
        short.clock.now += 10 * DAY_MS;
        expect((await refresh(short, refreshCookie(first)!.value)).status).toBe(401);
      });
    });

    describe("with transport: 'body'", () => {
      beforeEach(async () => {
        t = await makeApp({ refreshToken: { transport: 'body' } });
      });

      it('sends the refresh token in the body only, and takes it from the body', async () => {
        const res = await request(t.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
        expect(res.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{30}\./);
        expect(res.headers['set-cookie']).toBeUndefined();
        const rotated = await request(t.app).post('/auth/refresh').send({ refreshToken: res.body.refreshToken });
        expect(rotated.status).toBe(200);
        expect(rotated.body.refreshToken).not.toBe(res.body.refreshToken);
        // No grace window by default with body transport: the rotated token presented again is reuse.
        const replay = await request(t.app).post('/auth/refresh').send({ refreshToken: res.body.refreshToken });
        expect(replay.body.error).toBe('invalid_grant');
      });
    });
  });

  describe('the refresh cookie path', () => {
    const pathOf = (res: request.Response, name?: string) => refreshCookie(res, name)!.attributes.find((a) => a.startsWith('Path='));

    it('is the mount path as the app wrote it, whatever letter case the request used', async () => {
      for (const path of ['/auth/login', '/AUTH/login', '/Auth/login']) {
        const res = await request(t.app).post(path).send({ username: 'alice', password: PASSWORD });
        expect(res.status).toBe(200);
        expect(pathOf(res)).toBe('Path=/auth');
      }
    });

    it("includes the path of the app the router's app is mounted in", async () => {
      const outer = express();
      outer.use('/v1', t.app);
      for (const path of ['/v1/auth/login', '/V1/AUTH/login']) {
        const res = await request(outer).post(path).send({ username: 'alice', password: PASSWORD });
        expect(pathOf(res)).toBe('Path=/v1/auth');
      }
    });

    it('is / when the mount path cannot be learned (inside another Router), or refreshToken.cookie.path', async () => {
      for (const [cookie, expected] of [
        [{}, 'Path=/'],
        [{ path: '/api/auth' }, 'Path=/api/auth'],
      ] as const) {
        const api = express.Router();
        api.use(
          '/auth',
          createAuthRouter({
            accessToken: { secret: SECRET },
            store: t.store,
            verifyCredentials: async () => ({ id: 'u1' }),
            refreshToken: { cookie },
          }),
        );
        const app = express();
        app.use('/api', api);
        const res = await request(app).post('/API/auth/login').send({ username: 'alice', password: PASSWORD });
        expect(pathOf(res)).toBe(expected);
      }
    });

    it('falls back to / with a warning when its app was mounted where it could not tell (inside a Router)', async () => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const api = express.Router();
      api.use(t.app);
      const app = express();
      app.use('/api', api);
      const res = await request(app).post('/api/auth/login').send({ username: 'alice', password: PASSWORD });
      expect(pathOf(res)).toBe('Path=/');
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('refreshToken.cookie.path'), { code: 'ERT_COOKIE_PATH' });
      // With refreshToken.cookie.path set, the same mount uses it and says nothing.
      warn.mockClear();
      const configured = await makeApp({ refreshToken: { cookie: { path: '/api/auth' } } });
      const other = express();
      other.use('/api', express.Router().use(configured.app));
      expect(pathOf(await request(other).post('/api/auth/login').send({ username: 'alice', password: PASSWORD }))).toBe('Path=/api/auth');
      expect(warn).not.toHaveBeenCalled();
      warn.mockRestore();
    });

    it('is / for a __Host- cookie, which a sibling subdomain cannot overwrite, and that cookie works', async () => {
      const host = await makeApp({ refreshToken: { cookie: { name: '__Host-refresh' } } });
      const res = await request(host.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
      const cookie = refreshCookie(res, '__Host-refresh')!;
      expect(cookie.attributes).toEqual(expect.arrayContaining(['Path=/', 'Secure']));
      expect(cookie.attributes.some((a) => a.startsWith('Domain='))).toBe(false);
      const rotated = await request(host.app).post('/auth/refresh').set('Cookie', cookieHeader(cookie.value, '__Host-refresh'));
      expect(rotated.status).toBe(200);
      expect(pathOf(rotated, '__Host-refresh')).toBe('Path=/');
    });
  });

  describe('POST /logout', () => {
    it('revokes the family, denylists the access token and clears the cookie', async () => {
      const other = await login(t);
      const session = await login(t);
      const res = await request(t.app)
        .post('/auth/logout')
        .set('Cookie', cookieHeader(session.refreshToken))
        .set('Authorization', `Bearer ${other.accessToken}`);
      expect(res.status).toBe(204);
      const cleared = refreshCookie(res)!;
      expect(cleared.value).toBe('');
      expect(cleared.attributes).toEqual(expect.arrayContaining(['Path=/auth', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT']));
      expect((await refresh(t, session.refreshToken)).body.error).toBe('invalid_grant');
      expect((await me(t, session.accessToken)).body.error).toBe('invalid_token');
      // The other session's refresh token lives; its denylisted access token does not.
      expect((await me(t, other.accessToken)).body.error).toBe('invalid_token');
      expect((await refresh(t, other.refreshToken)).status).toBe(200);
      expect(t.events.find((e) => e.name === 'onLogout')).toEqual({
        name: 'onLogout',
        event: { userId: 'u-alice', sessionIds: [sessionIdOf(session.refreshToken)], kind: 'logout' },
      });
    });

    it('is idempotent: 204 with no token, a spent token or an expired access token', async () => {
      const session = await login(t);
      expect((await request(t.app).post('/auth/logout')).status).toBe(204);
      await request(t.app).post('/auth/logout').set('Cookie', cookieHeader(session.refreshToken));
      const again = await request(t.app).post('/auth/logout').set('Cookie', cookieHeader(session.refreshToken));
      expect(again.status).toBe(204);
      t.clock.now += 3600_000;
      const expired = await request(t.app).post('/auth/logout').set('Authorization', `Bearer ${session.accessToken}`);
      expect(expired.status).toBe(204);
    });
  });

  describe('POST /logout-all', () => {
    it('revokes every family of the user; their access tokens fail revocation checks', async () => {
      const laptop = await login(t);
      const phone = await login(t);
      const bob = await login(t, 'bob');
      const res = await request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${phone.accessToken}`);
      expect(res.status).toBe(204);
      for (const session of [laptop, phone]) {
        expect((await refresh(t, session.refreshToken)).status).toBe(401);
        expect((await me(t, session.accessToken)).body.error).toBe('invalid_token');
      }
      expect((await me(t, bob.accessToken)).status).toBe(200);
      expect(t.events.at(-1)!.event).toEqual({ userId: 'u-alice', sessionIds: expect.any(Array), kind: 'logout-all' });
      expect((t.events.at(-1)!.event.sessionIds as string[]).sort()).toEqual(
        [sessionIdOf(laptop.refreshToken), sessionIdOf(phone.refreshToken)].sort(),
      );
    });

    it('needs a Bearer token: 401 missing_token with WWW-Authenticate: Bearer', async () => {
      const res = await request(t.app).post('/auth/logout-all');
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('missing_token');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });

    it('refuses an access token of a session already revoked', async () => {
      const session = await login(t);
      await request(t.app).post('/auth/logout').set('Cookie', cookieHeader(session.refreshToken));
      const res = await request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${session.accessToken}`);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_token');
    });
  });

  describe('GET /sessions and DELETE /sessions/:id', () => {
    it("lists the user's live sessions and marks the current one", async () => {
      const laptop = await login(t, 'alice', { 'User-Agent': 'Laptop/1.0' });
      t.clock.now += 1000;
      const phone = await login(t, 'alice', { 'User-Agent': 'Phone/2.0' });
      await login(t, 'bob');
      const res = await request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${phone.accessToken}`);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.sessions).toEqual([
        {
          id: sessionIdOf(laptop.refreshToken),
          createdAt: new Date(t.clock.now - 1000).toISOString(),
          lastUsedAt: new Date(t.clock.now - 1000).toISOString(),
          expiresAt: new Date(t.clock.now - 1000 + 14 * DAY_MS).toISOString(),
          userAgent: 'Laptop/1.0',
          ip: expect.stringMatching(/127\.0\.0\.1|::1/),
          current: false,
        },
        expect.objectContaining({ id: sessionIdOf(phone.refreshToken), userAgent: 'Phone/2.0', current: true }),
      ]);
    });

    it("revokes one of the caller's sessions", async () => {
      const laptop = await login(t);
      const phone = await login(t);
      const id = sessionIdOf(laptop.refreshToken);
      const res = await request(t.app).delete(`/auth/sessions/${id}`).set('Authorization', `Bearer ${phone.accessToken}`);
      expect(res.status).toBe(204);
      expect((await refresh(t, laptop.refreshToken)).status).toBe(401);
      expect((await me(t, laptop.accessToken)).status).toBe(401);
      expect((await refresh(t, phone.refreshToken)).status).toBe(200);
      expect(t.events.find((e) => e.name === 'onLogout')).toEqual({
        name: 'onLogout',
        event: { userId: 'u-alice', sessionIds: [id], kind: 'revoke-session' },
      });
    });

    it("answers 404 not_found for another user's session, and leaves it alone", async () => {
      const alice = await login(t);
      const bob = await login(t, 'bob');
      const res = await request(t.app)
        .delete(`/auth/sessions/${sessionIdOf(alice.refreshToken)}`)
        .set('Authorization', `Bearer ${bob.accessToken}`);
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('not_found');
      expect((await refresh(t, alice.refreshToken)).status).toBe(200);
    });

    it('answers 404 not_found for an unknown or malformed id', async () => {
      const alice = await login(t);
      for (const id of ['x'.repeat(30), 'nope', '%00']) {
        const res = await request(t.app).delete(`/auth/sessions/${id}`).set('Authorization', `Bearer ${alice.accessToken}`);
        expect(res.status).toBe(404);
        expect(res.body.error).toBe('not_found');
      }
    });
  });
});
